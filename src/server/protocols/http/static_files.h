// Owns: the static pages of the HTTP media server ([http] www_dir; the WebRTC players under
// /players/). The directory is read into memory once at startup, bounded in file count and size,
// and served by exact path from that map: a request can only ever name a file that was loaded, so
// no path traversal is possible and no request does disk I/O on the control thread.
#pragma once

#include <glib.h>

#include <map>
#include <memory>
#include <string>

#include "common/gobject_ptr.h"
#include "common/result.h"

namespace estuary::server {

class HttpServer;

struct StaticFile {
  std::string content_type;
  Ref<GBytes> body;
};

class StaticSite {
 public:
  static constexpr int kMaxFiles = 128;
  static constexpr gsize kMaxFileBytes = 1024 * 1024;
  static constexpr int kMaxDepth = 4;

  // Loads every file of a known web type under dir (regular files, names of [A-Za-z0-9._-] not
  // starting with '.', at most kMaxDepth directories deep). Too many or too large files are an error.
  // vendor_dir (the npm libraries, a flat directory) is served at /vendor/ unless dir has a vendor/.
  static Result<std::shared_ptr<const StaticSite>> load(const std::string& dir, const std::string& vendor_dir = "");
  // The file for a request path: "/players/whep.html"; "/players/" means its index.html.
  const StaticFile* find(const std::string& path) const;
  // True if path names a directory that has an index.html ("/players" -> redirect to "/players/").
  bool is_directory_with_index(const std::string& path) const;
  size_t file_count() const { return files_.size(); }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::map<std::string, StaticFile> files_;  // URL path ("/players/whep.html") -> file
};

// The built-in pages: the source tree's www/ when it exists (running from a build), else the
// installed <datadir>/estuary/www. "" if neither exists.
std::string default_www_dir();

// The npm libraries built next to the source tree's www/ ("" when not built); an installed www/
// carries its own vendor/.
std::string default_vendor_dir();

// The content type for a file name's extension; "" for types we do not serve.
std::string static_content_type(const std::string& name);

// Serves site's files for GET/HEAD requests that no stream handler claims.
void register_static_files(HttpServer& http, std::shared_ptr<const StaticSite> site);

// Loads and registers [http] www_dir (an error if it cannot be loaded), or the built-in pages when
// it is empty (a warning only if they are missing).
Status serve_static_pages(HttpServer& http, const std::string& www_dir);

}  // namespace estuary::server
