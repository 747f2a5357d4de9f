// Owns: the DVR output (see dvr_output.h).
#include "server/outputs/dvr/dvr_output.h"

#include <fnmatch.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <sstream>
#include <vector>

#include "common/control_thread.h"
#include "common/log.h"
#include "common/timer.h"
#include "pipelines/dvr_file.h"
#include "pipelines/stream_bus.h"
#include "server/control/media_info.h"
#include "server/control/output.h"
#include "server/outputs/dvr/dvr_catalog.h"

namespace estuary::server {
namespace {

bool dvr_matches(const config::DvrSection& dvr, const std::string& key) {
  std::istringstream in(dvr.match);
  std::string pattern;
  while (in >> pattern)
    if (fnmatch(pattern.c_str(), key.c_str(), 0) == 0) return true;
  return false;
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
}

// Files being finished after their recorder moved on or stopped (control thread only).
std::vector<std::unique_ptr<pipelines::DvrFile>>& draining() {
  static std::vector<std::unique_ptr<pipelines::DvrFile>> files;
  return files;
}

void drop_draining(pipelines::DvrFile* file) {
  auto& d = draining();
  for (auto it = d.begin(); it != d.end(); ++it)
    if (it->get() == file) {
      std::unique_ptr<pipelines::DvrFile> gone = std::move(*it);
      d.erase(it);
      return;
    }
}

// "h264,aac" from the stream's tracks on the bus, for the recordings index.
std::string codecs_of(const std::string& key) {
  std::string out;
  Ref<GstCaps> video = pipelines::bus_caps(key, "video");
  Ref<GstCaps> audio = pipelines::bus_caps(key, "audio");
  if (video) out = video_view_from_caps(video.get()).codec;
  if (audio) out += (out.empty() ? "" : ",") + audio_view_from_caps(audio.get()).codec;
  for (char& c : out) c = char(g_ascii_tolower(c));
  return out;
}

uint64_t file_size(const std::string& path) {
  GStatBuf st;
  return g_stat(path.c_str(), &st) == 0 ? uint64_t(st.st_size) : 0;
}

class DvrOutput final : public Output {
 public:
  explicit DvrOutput(OutputContext ctx)
      : ctx_(std::move(ctx)), cfg_(ctx_.config->dvr), alive_(std::make_shared<bool>(true)) {}
  ~DvrOutput() override { stop(); }

  Status start() override {
    open_dvr_catalog(*ctx_.config);
    format_name_ = cfg_.format;
    // FLV (1.22's flvmux) carries H.264 only: HEVC, AV1 and VP9 are recorded to MP4 instead.
    Ref<GstCaps> video = pipelines::bus_caps(key(), "video");
    const std::string codec = video ? video_view_from_caps(video.get()).codec : "";
    if (format_name_ == "flv" && !codec.empty() && codec != "H264") {
      format_name_ = "mp4";
      log_info(key(), "", "dvr-format", codec + " cannot go into FLV: recording to MP4");
    }
    format_ = pipelines::dvr_format_from_name(format_name_);
    open_next();
    if (ctx_.events.on_ready) ctx_.events.on_ready();
    return ok_status();  // a recorder error is reported, never restarted into a loop
  }

  void stop() override {
    rotate_timer_.reset();
    close_current("stopped");
    *alive_ = false;
  }

  bool ready() const override { return true; }
  fanout::ChannelPtr channel(const std::string&) const override { return nullptr; }
  std::vector<fanout::ChannelPtr> channels() const override { return {}; }

  void describe(api::StreamView& v) const override {
    api::DvrView d;
    d.recording = current_ != nullptr;
    d.format = format_name_;
    d.plan = cfg_.plan;
    d.error = error_;
    if (current_) d.current_file = current_->path();
    for (const auto& f : files_) d.files.push_back(f);
    if (current_) d.files.push_back({current_->path(), file_size(current_->path()), current_->duration_s(), true});
    v.dvr = std::move(d);
  }

 private:
  std::string key() const { return ctx_.app + "/" + ctx_.stream; }

  std::string next_path() {
    std::string path = expand_dvr_path(cfg_.path, ctx_.app, ctx_.stream, g_get_real_time() / 1000);
    for (const char* ext : {".flv", ".ts", ".mp4"}) {
      const size_t n = std::string(ext).size();
      if (path.size() > n && path.compare(path.size() - n, n, ext) == 0) path.resize(path.size() - n);
    }
    std::string candidate = path + pipelines::dvr_format_extension(format_);
    for (int i = 1; g_file_test(candidate.c_str(), G_FILE_TEST_EXISTS); ++i)
      candidate = path + "-" + std::to_string(i) + pipelines::dvr_format_extension(format_);
    return candidate;
  }

  void fail(const std::string& message) {
    error_ = message;
    log_error(key(), "", "dvr-error", message + "; recording stopped, the stream goes on");
    rotate_timer_.reset();
    close_current("error");
  }

  void open_next(bool schedule = true) {
    const std::string path = next_path();
    gchar* dir = g_path_get_dirname(path.c_str());
    const int rc = g_mkdir_with_parents(dir, 0755);
    const int err = errno;
    const std::string dir_s = dir;
    g_free(dir);
    if (rc != 0) return fail("cannot create directory " + dir_s + ": " + g_strerror(err));
    auto built = pipelines::DvrFile::create(key(), ctx_.launch, format_, path);
    if (!built) return fail(built.error().message);
    std::unique_ptr<pipelines::DvrFile> file = std::move(built.value());
    std::weak_ptr<bool> alive = alive_;
    pipelines::DvrFile* raw = file.get();
    pipelines::PipelineEvents ev;
    ev.on_error = [this, alive, raw](const std::string& element, const std::string& message) {
      // Leave the pipeline's bus callback before tearing it down.
      post_to_control([this, alive, raw, element, message]() {
        auto flag = alive.lock();
        if (!flag || !*flag || current_.get() != raw) return;
        fail(raw->path() + ": " + element + ": " + message);
      });
    };
    file->pipeline().set_events(std::move(ev));
    Status st = file->pipeline().start();
    if (!st) return fail(st.error().message);
    current_ = std::move(file);
    error_.clear();
    DvrCatalog::instance().opened(path, key(), format_name_, codecs_of(key()), g_get_real_time() / 1000);
    log_info(key(), "", "dvr-file-open", "path=" + path + " format=" + format_name_ + " plan=" + cfg_.plan);
    if (schedule && cfg_.plan == "segment") schedule_rotation();
  }

  void schedule_rotation() {
    // Owned by rotate_timer_, which is cancelled before `this` goes.
    rotate_timer_ = start_repeating_timer(cfg_.segment_s * 1000, [this]() {
      rotate();
      return true;
    });
  }

  // plan=segment: the old file ends now and the new one starts at the bus's latest keyframe (its
  // GOP cache), so nothing is lost between files.
  void rotate() {
    if (!current_) return;
    retire(std::move(current_), "segment");
    open_next(false);
  }

  void close_current(const std::string& why) {
    if (current_) retire(std::move(current_), why);
  }

  // Logs the closed file and lets its pipeline drain (EOS completes the MP4 index) off to the side.
  void retire(std::unique_ptr<pipelines::DvrFile> file, const std::string& why) {
    const std::string path = file->path();
    const double duration = file->duration_s();
    pipelines::DvrFile* raw = file.get();
    pipelines::PipelineEvents ev;
    // Drained: the index learns the file's final size (the muxer wrote its tail after retire).
    ev.on_eos = [raw, path]() {
      post_to_control([raw, path]() {
        DvrCatalog::instance().resized(path, file_size(path));
        drop_draining(raw);
      });
    };
    ev.on_error = [raw](const std::string&, const std::string&) { post_to_control([raw]() { drop_draining(raw); }); };
    file->pipeline().set_events(std::move(ev));
    file->finish();
    draining().push_back(std::move(file));
    // Bound the drain: a pipeline that does not reach EOS is dropped after 3 s.
    g_timeout_add(
        3000,
        [](gpointer p) -> gboolean {
          drop_draining(static_cast<pipelines::DvrFile*>(p));
          return G_SOURCE_REMOVE;
        },
        raw);
    const uint64_t size = file_size(path);
    files_.push_back({path, size, duration, false});
    DvrCatalog::instance().closed(path, g_get_real_time() / 1000, duration, size);
    char dur[32];
    std::snprintf(dur, sizeof dur, "%.3f", duration);
    // Structured event for the on_dvr hook.
    log_info(key(), "", "dvr-file-closed",
             "path=" + path + " duration=" + dur + " size=" + std::to_string(size) + " reason=" + why);
    if (ctx_.notify) ctx_.notify("on_dvr", {{"file", path}, {"cwd", current_directory()}}, {{"duration", duration}});
  }

  OutputContext ctx_;
  config::DvrSection cfg_;
  pipelines::DvrFormat format_ = pipelines::DvrFormat::flv;
  std::string format_name_;  // cfg_.format, or mp4 where FLV cannot carry the video codec
  std::shared_ptr<bool> alive_;
  std::unique_ptr<pipelines::DvrFile> current_;
  std::vector<api::DvrFileView> files_;
  std::string error_;
  SourceGuard rotate_timer_;
};

}  // namespace

std::string expand_dvr_path(const std::string& tmpl, const std::string& app, const std::string& stream,
                            int64_t wall_ms) {
  std::string s = tmpl;
  replace_all(s, "[app]", app);
  replace_all(s, "[stream]", stream);
  replace_all(s, "[timestamp]", std::to_string(wall_ms));
  const time_t secs = time_t(wall_ms / 1000);
  struct tm tm {};
  localtime_r(&secs, &tm);
  char buf[16];
  auto field = [&](const char* name, const char* fmt, int value) {
    std::snprintf(buf, sizeof buf, fmt, value);
    replace_all(s, name, buf);
  };
  field("[2006]", "%04d", tm.tm_year + 1900);
  field("[01]", "%02d", tm.tm_mon + 1);
  field("[02]", "%02d", tm.tm_mday);
  field("[15]", "%02d", tm.tm_hour);
  field("[04]", "%02d", tm.tm_min);
  field("[05]", "%02d", tm.tm_sec);
  return s;
}

void open_dvr_catalog(const config::Config& cfg) {
  auto limits_of = [](const config::DvrSection& d) {
    return RetentionLimits{int64_t(d.max_age_s) * 1000, uint64_t(d.max_mb) * 1024 * 1024};
  };
  std::map<std::string, RetentionLimits> per_app;
  for (const auto& [app, dvr] : cfg.app_dvr) per_app[app] = limits_of(dvr);
  DvrCatalog::instance().configure(dvr_root_of(cfg.dvr.path), limits_of(cfg.dvr), std::move(per_app));
}

void register_dvr_output() {
  register_output_kind("dvr",
                       [](OutputContext ctx) -> Result<std::unique_ptr<Output>> {
                         const bool wanted =
                             ctx.requested ||
                             (ctx.config->dvr.enabled && dvr_matches(ctx.config->dvr, ctx.app + "/" + ctx.stream));
                         if (!wanted) return std::unique_ptr<Output>();
                         return std::unique_ptr<Output>(new DvrOutput(std::move(ctx)));
                       },
                       {});
}

}  // namespace estuary::server
