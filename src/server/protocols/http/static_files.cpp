// Owns: StaticSite and its HTTP handler (see static_files.h).
#include "server/protocols/http/static_files.h"

#include <libsoup/soup.h>
#include <sys/stat.h>

#include <utility>

#include "common/log.h"
#include "server/protocols/http/http_server.h"
#include "server/protocols/http/www_paths.h"

namespace estuary::server {
namespace {

struct TypeByExtension {
  const char* extension;
  const char* content_type;
};

// Only what a player page needs; anything else in the directory is left out (and never served).
constexpr TypeByExtension kTypes[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".txt", "text/plain; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".ico", "image/x-icon"},
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Names that map one-to-one onto URL path segments without any escaping.
bool plain_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  for (unsigned char c : name)
    if (!g_ascii_isalnum(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

struct Loader {
  std::map<std::string, StaticFile>* files;
  int max_depth = StaticSite::kMaxDepth;

  Status walk(const std::string& dir, const std::string& url_prefix, int depth) {
    GError* err = nullptr;
    GDir* d = g_dir_open(dir.c_str(), 0, &err);
    if (!d) {
      std::string msg = err->message;
      g_error_free(err);
      return Error{msg};
    }
    Status st = ok_status();
    while (const char* entry = g_dir_read_name(d)) {
      std::string name = entry;
      if (!plain_name(name)) continue;
      std::string full = dir + "/" + name;
      struct stat sb {};
      // lstat: a symlink could point anywhere on the machine; the site is what the directory holds.
      if (lstat(full.c_str(), &sb) != 0) continue;
      if (S_ISDIR(sb.st_mode)) {
        if (depth < max_depth) st = walk(full, url_prefix + name + "/", depth + 1);
      } else if (S_ISREG(sb.st_mode)) {
        st = add(full, url_prefix + name, sb);
      }
      if (!st) break;
    }
    g_dir_close(d);
    return st;
  }

  Status add(const std::string& full, const std::string& url_path, const struct stat& sb) {
    std::string type = static_content_type(url_path);
    if (type.empty()) return ok_status();
    if (files->size() >= size_t(StaticSite::kMaxFiles))
      return Error{"more than " + std::to_string(StaticSite::kMaxFiles) + " files"};
    if (gsize(sb.st_size) > StaticSite::kMaxFileBytes)
      return Error{full + " is larger than " + std::to_string(StaticSite::kMaxFileBytes) + " bytes"};
    gchar* data = nullptr;
    gsize length = 0;
    GError* err = nullptr;
    if (!g_file_get_contents(full.c_str(), &data, &length, &err)) {
      std::string msg = err->message;
      g_error_free(err);
      return Error{msg};
    }
    if (length > StaticSite::kMaxFileBytes) {  // grew since lstat
      g_free(data);
      return Error{full + " is larger than " + std::to_string(StaticSite::kMaxFileBytes) + " bytes"};
    }
    (*files)[url_path] = StaticFile{type, Ref<GBytes>::adopt(g_bytes_new_take(data, length))};
    return ok_status();
  }
};

bool handle_static(const StaticSite& site, bool cors, SoupServerMessage* msg, const std::string& path) {
  const std::string method = soup_server_message_get_method(msg);
  const StaticFile* file = site.find(path);
  if (!file && site.is_directory_with_index(path)) {
    // Relative links inside an index page only resolve against the path with its trailing slash.
    soup_server_message_set_redirect(msg, 301, (path + "/").c_str());
    return true;
  }
  if (!file) return false;
  if (method != "GET" && method != "HEAD") {
    respond_text(msg, 405, "method not allowed\n", cors);
    return true;
  }
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(h, "Content-Type", file->content_type.c_str());
  // Pages change with the server version; a stale cached player talking to a newer API is worse
  // than one more small request.
  soup_message_headers_replace(h, "Cache-Control", "no-cache");
  soup_message_headers_replace(h, "X-Content-Type-Options", "nosniff");
  if (cors) soup_message_headers_replace(h, "Access-Control-Allow-Origin", "*");
  soup_message_body_append_bytes(soup_server_message_get_response_body(msg), file->body.get());
  soup_server_message_set_status(msg, 200, nullptr);
  return true;
}

}  // namespace

std::string static_content_type(const std::string& name) {
  for (const auto& t : kTypes)
    if (ends_with(name, t.extension)) return t.content_type;
  return "";
}

Result<std::shared_ptr<const StaticSite>> StaticSite::load(const std::string& dir, const std::string& vendor_dir) {
  auto site = std::make_shared<StaticSite>();
  site->dir_ = dir;
  Loader loader{&site->files_};
  Status st = loader.walk(dir, "/", 0);
  if (!st) return Error{"www_dir " + dir + ": " + st.error().message};
  auto first = site->files_.lower_bound("/vendor/");
  const bool has_vendor = first != site->files_.end() && first->first.rfind("/vendor/", 0) == 0;
  if (!vendor_dir.empty() && !has_vendor) {
    Loader flat{&site->files_, 0};  // the build directory also holds npm's work tree: files only
    st = flat.walk(vendor_dir, "/vendor/", 0);
    if (!st) return Error{"vendor " + vendor_dir + ": " + st.error().message};
  }
  return std::shared_ptr<const StaticSite>(std::move(site));
}

const StaticFile* StaticSite::find(const std::string& path) const {
  std::string key = ends_with(path, "/") ? path + "index.html" : path;
  auto it = files_.find(key);
  return it == files_.end() ? nullptr : &it->second;
}

bool StaticSite::is_directory_with_index(const std::string& path) const {
  return !ends_with(path, "/") && files_.count(path + "/index.html") > 0;
}

std::string default_www_dir() {
  for (const char* dir : {kSourceWwwDir, kInstalledWwwDir})
    if (g_file_test(dir, G_FILE_TEST_IS_DIR)) return dir;
  return "";
}

std::string default_vendor_dir() { return g_file_test(kBuildVendorDir, G_FILE_TEST_IS_DIR) ? kBuildVendorDir : ""; }

void register_static_files(HttpServer& http, std::shared_ptr<const StaticSite> site) {
  log_info("", "", "static-pages", std::to_string(site->file_count()) + " files from " + site->dir());
  http.set_fallback_handler([site, &http](SoupServerMessage* msg, const std::string& path) {
    return handle_static(*site, http.cors(), msg, path);
  });
}

Status serve_static_pages(HttpServer& http, const std::string& www_dir) {
  std::string dir = www_dir.empty() ? default_www_dir() : www_dir;
  if (dir.empty()) {
    log_warn("", "", "static-pages", "no built-in pages found (www/); /players/ is not served");
    return ok_status();
  }
  auto site = StaticSite::load(dir, default_vendor_dir());
  if (!site) return Error{"http: " + site.error().message};
  register_static_files(http, site.value());
  return ok_status();
}

}  // namespace estuary::server
