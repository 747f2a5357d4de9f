// Owns: the CMAF state of one stream key (window + held requests), kept across publishes for
// hls.dispose_s, and the registry of those states that the "cmaf" output feeds and the HTTP
// handlers (HLS fMP4 / LL-HLS, DASH) read. Control thread only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/gobject_ptr.h"
#include "server/config/config.h"
#include "server/outputs/hls/cmaf_streamers.h"
#include "server/outputs/hls/cmaf_waiters.h"
#include "server/outputs/hls/cmaf_window.h"

namespace estuary::server {

struct CmafStream {
  CmafStream(std::string k, const std::string& stream, CmafWindowSettings settings)
      : key(std::move(k)), window(stream, settings) {}
  std::string key;
  CmafWindow window;
  CmafWaiters waiters;      // declared after the window: given up before the window goes
  CmafStreamers streamers;  // open segments sent as they are made (low-latency DASH)
  bool live = false;
  SourceGuard dispose_timer;
  // on_hls hook sender of the output feeding this stream (empty when none).
  std::function<void(const std::string&, std::map<std::string, std::string>, std::map<std::string, double>)> notify;
};

// The window settings [hls] asks for.
CmafWindowSettings cmaf_settings(const config::HlsSection& hls);

class CmafRegistry {
 public:
  std::shared_ptr<CmafStream> attach(const std::string& app, const std::string& stream, const config::HlsSection& cfg);
  // The publisher left: keep the window for dispose_s so a returning publisher continues it.
  void detach(const std::shared_ptr<CmafStream>& s, int dispose_s);
  CmafStream* find(const std::string& key);

 private:
  void dispose(std::string key);
  std::map<std::string, std::shared_ptr<CmafStream>> streams_;
};

}  // namespace estuary::server
