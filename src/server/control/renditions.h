// Owns: the index source stream → renditions that running transcodes publish (written by the
// transcode output, read by the ABR master playlist), so neither output knows the other.
// Control thread only.
#pragma once

#include <string>
#include <vector>

namespace estuary::server {

struct RenditionInfo {
  std::string key;        // "live/x_720p"
  std::string client_id;  // its internal publisher
  int video_kbps = 0;     // the encoder's configured bitrate, 0 if unknown
};

// Records (replacing) the renditions that pipeline `pipeline` publishes from `source_key`.
void set_renditions(const std::string& source_key, const std::string& pipeline, std::vector<RenditionInfo> list);
void clear_renditions(const std::string& source_key, const std::string& pipeline);
// Renditions that running transcodes publish from `source_key` (pipelines in name order, each in
// launch-line order).
std::vector<RenditionInfo> renditions_of(const std::string& source_key);
// Every stream of the ladder `key` belongs to (as source or rendition): the source first, then its
// renditions. Empty when `key` is in no ladder.
std::vector<std::string> ladder_of(const std::string& key);

}  // namespace estuary::server
