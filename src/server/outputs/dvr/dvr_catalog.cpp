// Owns: DvrCatalog and the disk scan (see dvr_catalog.h).
#include "server/outputs/dvr/dvr_catalog.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <utility>

#include "common/control_thread.h"
#include "common/gobject_ptr.h"
#include "common/log.h"

namespace estuary::server {
namespace {

constexpr int kMaxScanDepth = 8;
constexpr size_t kMaxScanEntries = 2000000;  // a root that holds far more than recordings is not walked whole
// Sidecars live apart from the recordings (a dot-directory the scan and the API never enter), so a
// recordings directory holds only media: <root>/.index/live/cam-1.ts.json for <root>/live/cam-1.ts.
constexpr const char* kSidecarDir = "/.index/";
constexpr const char* kSidecarSuffix = ".json";

std::string sidecar_path(const std::string& root, const std::string& rel) {
  return (root == "/" ? "" : root) + kSidecarDir + rel + kSidecarSuffix;
}

std::string format_of(const std::string& name) {
  for (const char* ext : {".flv", ".ts", ".mp4"}) {
    const std::string e = ext;
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) return e.substr(1);
  }
  return "";
}

// A recording without a sidecar (written before the index existed): its stream is guessed from
// the path ("live/cam.1765....flv" -> "live/cam"), its times from the file.
std::string guess_stream(const std::string& rel) {
  const size_t slash = rel.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : rel.substr(0, slash);
  const std::string file = slash == std::string::npos ? rel : rel.substr(slash + 1);
  const std::string app =
      dir.empty() ? "unknown" : dir.substr(dir.rfind('/') == std::string::npos ? 0 : dir.rfind('/') + 1);
  return app + "/" + file.substr(0, file.find_first_of(".-"));
}

bool read_sidecar(const std::string& path, Recording* r) {
  Ref<JsonParser> parser = Ref<JsonParser>::adopt(json_parser_new());
  if (!json_parser_load_from_file(parser.get(), path.c_str(), nullptr)) return false;
  JsonNode* root = json_parser_get_root(parser.get());
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) return false;
  JsonObject* o = json_node_get_object(root);
  r->stream = json_object_get_string_member_with_default(o, "stream", "");
  r->start_ms = json_object_get_int_member_with_default(o, "start_ms", 0);
  r->end_ms = json_object_get_int_member_with_default(o, "end_ms", 0);
  r->codecs = json_object_get_string_member_with_default(o, "codecs", "");
  return !r->stream.empty() && r->start_ms > 0;
}

void walk(const std::string& root, const std::string& rel_dir, int depth, std::vector<Recording>* out,
          size_t* visited) {
  const std::string dir = rel_dir.empty() ? root : root + "/" + rel_dir;
  GDir* d = g_dir_open(dir.c_str(), 0, nullptr);
  if (!d) return;
  while (const char* entry = g_dir_read_name(d)) {
    if (++*visited > kMaxScanEntries) break;
    const std::string name = entry;
    const std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
    if (!safe_relative_path(rel)) continue;
    struct stat sb {};
    if (lstat((root + "/" + rel).c_str(), &sb) != 0) continue;  // lstat: links are not followed
    if (S_ISDIR(sb.st_mode)) {
      if (depth < kMaxScanDepth) walk(root, rel, depth + 1, out, visited);
      continue;
    }
    const std::string format = format_of(name);
    if (!S_ISREG(sb.st_mode) || format.empty()) continue;
    Recording r;
    r.path = rel;
    r.format = format;
    r.size = uint64_t(sb.st_size);
    const int64_t mtime_ms = int64_t(sb.st_mtim.tv_sec) * 1000 + sb.st_mtim.tv_nsec / 1000000;
    if (!read_sidecar(sidecar_path(root, rel), &r)) {
      r.stream = guess_stream(rel);
      r.start_ms = mtime_ms;
    }
    // An open sidecar (the server stopped while writing) ends where the file was last written.
    if (r.end_ms <= 0) r.end_ms = std::max(r.start_ms, mtime_ms);
    out->push_back(std::move(r));
  }
  g_dir_close(d);
}

}  // namespace

std::string dvr_root_of(const std::string& tmpl) {
  const std::string fixed = tmpl.substr(0, tmpl.find('['));
  const size_t slash = fixed.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : fixed.substr(0, slash);
}

std::vector<Recording> scan_recordings(const std::string& root) {
  std::vector<Recording> out;
  size_t visited = 0;
  if (root != "/") walk(root, "", 0, &out, &visited);  // a template rooted at "/" is not indexed
  return out;
}

DvrCatalog& DvrCatalog::instance() {
  static DvrCatalog catalog;
  return catalog;
}

void DvrCatalog::configure(const std::string& root, RetentionLimits limits,
                           std::map<std::string, RetentionLimits> per_app) {
  limits_ = limits;
  per_app_ = std::move(per_app);
  if (root == root_ && generation_ > 0) return;
  root_ = root;
  index_ = RecordingIndex();
  ready_ = false;
  rebuild();
}

void DvrCatalog::rebuild(std::function<void(size_t)> done) {
  const uint64_t generation = ++generation_;
  const std::string root = root_;
  struct Job {
    std::string root;
    uint64_t generation;
    std::function<void(size_t)> done;
  };
  auto* job = new Job{root, generation, std::move(done)};
  GThread* t = g_thread_new(
      "dvr-scan",
      [](gpointer data) -> gpointer {
        std::unique_ptr<Job> j(static_cast<Job*>(data));
        auto found = std::make_shared<std::vector<Recording>>(scan_recordings(j->root));
        post_to_control([found, generation = j->generation, done = std::move(j->done)]() {
          DvrCatalog& c = DvrCatalog::instance();
          if (generation != c.generation_) return;
          size_t added = 0;
          for (auto& r : *found) {
            if (c.index_.find(r.path)) continue;  // a recorder indexed it meanwhile (and knows better)
            c.index_.put(std::move(r));
            ++added;
          }
          c.ready_ = true;
          log_info("", "", "dvr-index", std::to_string(added) + " recordings under " + c.root_);
          for (const std::string& app : c.index_.apps()) c.apply_retention(app, g_get_real_time() / 1000);
          if (done) done(added);
        });
        return nullptr;
      },
      job);
  g_thread_unref(t);
}

std::string DvrCatalog::relative(const std::string& absolute_path) const {
  const std::string prefix = root_ == "/" ? "/" : root_ + "/";
  if (absolute_path.rfind(prefix, 0) != 0) return "";
  std::string rel = absolute_path.substr(prefix.size());
  return safe_relative_path(rel) ? rel : "";
}

std::string DvrCatalog::absolute(const std::string& relative_path) const {
  if (!safe_relative_path(relative_path)) return "";
  return (root_ == "/" ? "" : root_) + "/" + relative_path;
}

bool write_recording_sidecar(const std::string& root_dir, const Recording& r) {
  Ref<JsonBuilder> b = Ref<JsonBuilder>::adopt(json_builder_new());
  json_builder_begin_object(b.get());
  json_builder_set_member_name(b.get(), "stream");
  json_builder_add_string_value(b.get(), r.stream.c_str());
  json_builder_set_member_name(b.get(), "start_ms");
  json_builder_add_int_value(b.get(), r.start_ms);
  json_builder_set_member_name(b.get(), "end_ms");
  json_builder_add_int_value(b.get(), r.open ? 0 : r.end_ms);
  json_builder_set_member_name(b.get(), "format");
  json_builder_add_string_value(b.get(), r.format.c_str());
  json_builder_set_member_name(b.get(), "codecs");
  json_builder_add_string_value(b.get(), r.codecs.c_str());
  json_builder_end_object(b.get());
  JsonNode* root = json_builder_get_root(b.get());
  Ref<JsonGenerator> gen = Ref<JsonGenerator>::adopt(json_generator_new());
  json_generator_set_root(gen.get(), root);
  gchar* text = json_generator_to_data(gen.get(), nullptr);
  json_node_unref(root);
  const std::string path = sidecar_path(root_dir, r.path);
  gchar* dir = g_path_get_dirname(path.c_str());
  g_mkdir_with_parents(dir, 0755);
  g_free(dir);
  GError* err = nullptr;
  const bool ok = g_file_set_contents(path.c_str(), text, -1, &err);
  if (!ok) {
    log_warn(r.stream, "", "dvr-index", "cannot write " + path + ": " + err->message);
    g_error_free(err);
  }
  g_free(text);
  return ok;
}

void DvrCatalog::opened(const std::string& absolute_path, const std::string& stream, const std::string& format,
                        const std::string& codecs, int64_t start_ms) {
  Recording r;
  r.path = relative(absolute_path);
  if (r.path.empty()) return;
  r.stream = stream;
  r.format = format;
  r.codecs = codecs;
  r.start_ms = r.end_ms = start_ms;
  r.open = true;
  write_recording_sidecar(root_, r);
  index_.put(std::move(r));
}

void DvrCatalog::closed(const std::string& absolute_path, int64_t end_ms, double duration_s, uint64_t size) {
  const std::string rel = relative(absolute_path);
  const Recording* known = rel.empty() ? nullptr : index_.find(rel);
  if (!known) return;
  Recording r = *known;
  r.end_ms = end_ms;
  // The file begins at the bus's cached keyframe, before the recorder opened: measure back from the end.
  if (duration_s > 0) r.start_ms = end_ms - int64_t(duration_s * 1000);
  r.size = size;
  r.open = false;
  write_recording_sidecar(root_, r);
  const std::string app = r.stream.substr(0, r.stream.find('/'));
  index_.put(std::move(r));
  apply_retention(app, end_ms);
}

void DvrCatalog::resized(const std::string& absolute_path, uint64_t size) {
  const std::string rel = relative(absolute_path);
  const Recording* known = rel.empty() ? nullptr : index_.find(rel);
  if (!known || known->open || known->size == size) return;
  Recording r = *known;
  r.size = size;
  index_.put(std::move(r));
}

Status DvrCatalog::remove(const std::string& relative_path) {
  if (!safe_relative_path(relative_path)) return Error{"invalid recording path", ErrorReason::invalid, "dvr"};
  const Recording* r = index_.find(relative_path);
  if (!r) return Error{"no recording " + relative_path, ErrorReason::not_found, "dvr"};
  if (r->open) return Error{relative_path + " is being recorded", ErrorReason::conflict, "dvr"};
  const std::string path = absolute(relative_path);
  if (g_unlink(path.c_str()) != 0 && errno != ENOENT)
    return Error{"cannot delete " + relative_path + ": " + g_strerror(errno), ErrorReason::internal, "dvr"};
  g_unlink(sidecar_path(root_, relative_path).c_str());
  log_info(r->stream, "", "dvr-file-deleted", "path=" + path);
  index_.erase(relative_path);
  return ok_status();
}

size_t DvrCatalog::apply_retention(const std::string& app, int64_t now_ms) {
  const auto own = per_app_.find(app);
  const RetentionLimits& limits = own != per_app_.end() ? own->second : limits_;
  if (limits.max_age_ms <= 0 && limits.max_bytes == 0) return 0;
  uint64_t open_bytes = 0;  // the index learns an open file's size when it closes
  for (const auto& r : index_.of_app(app)) {
    if (!r.open) continue;
    GStatBuf st;
    if (g_stat(absolute(r.path).c_str(), &st) == 0) open_bytes += uint64_t(st.st_size);
  }
  size_t removed = 0;
  for (const std::string& rel :
       retention_victims(index_, app, now_ms, limits.max_age_ms, limits.max_bytes, open_bytes)) {
    const std::string stream = index_.find(rel) ? index_.find(rel)->stream : app;
    if (Status st = remove(rel); !st) {
      log_warn(stream, "", "dvr-retention", st.error().message);
      continue;
    }
    log_info(stream, "", "dvr-retention", "removed " + rel);
    ++removed;
  }
  return removed;
}

}  // namespace estuary::server
