// Owns: Supervisor (see supervisor.h).
#include "server/control/supervisor.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/control_thread.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/memory_return.h"
#include "common/timer.h"
#include "pipelines/stream_bus.h"
#include "server/control/builtin_pipelines.h"
#include "server/control/codec_vars.h"
#include "server/control/media_info.h"
#include "server/control/pipeline_reload.h"

namespace estuary::server {
namespace {

int64_t wall_ms() { return g_get_real_time() / 1000; }

std::string kind_of(const config::PipelineSpec& spec) { return spec.output.empty() ? "custom" : spec.output; }

// N of "audio=N" in a play URL's query; 0 when absent, -1 when not a number.
int requested_audio_track(const std::string& query) {
  const std::string q = "&" + query;
  const size_t at = q.find("&audio=");
  if (at == std::string::npos) return 0;
  const std::string value = q.substr(at + 7, q.find('&', at + 7) - (at + 7));
  if (value.empty() || value.size() > 2 || value.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoi(value);
}

// The launch variables of a stream (Supervisor::Stream): codecs and the number of audio tracks.
template <typename StreamT>
config::CodecVars launch_vars(const StreamT& s) {
  config::CodecVars v = codec_vars_for(s.video, s.audio);
  v.audio_tracks = s.audio_tracks;
  return v;
}

uint64_t process_rss_kb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  return 0;
}

double process_cpu_seconds() {
  std::ifstream f("/proc/self/stat");
  std::string content((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = content.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(content.substr(close + 2));
  std::string field;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoul(field);
    if (i == 15) stime = std::stoul(field);
  }
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

}  // namespace

Supervisor::Supervisor(config::Config config, fanout::Engine& engine)
    : config_(std::move(config)), engine_(engine), start_us_(g_get_monotonic_time()), start_wall_ms_(wall_ms()) {
  // Owned by sample_timer_, which is cancelled in ~Supervisor.
  sample_timer_ = start_repeating_timer(1000, [this]() {
    sample_rates();
    return true;
  });
  admission_ = std::make_unique<Admission>(*this);
}

Supervisor::~Supervisor() {
  for (auto& [key, stream] : streams_) teardown_stream(*stream, "shutdown");
  streams_.clear();
}

void Supervisor::apply_config(config::Config config) {
  const PipelineChanges changes = diff_pipelines(config_.pipelines, config.pipelines);
  config_ = std::move(config);
  auto list = [](const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
    return out.empty() ? std::string("-") : out;
  };
  log_info("", "", "config-reload",
           "configuration applied (" + std::to_string(config_.pipelines.size()) + " pipelines; changed=" +
               list(changes.changed) + " added=" + list(changes.added) + " removed=" + list(changes.removed) + ")");
  for (const auto& [key, stream] : streams_) {
    if (!stream->ready) continue;
    auto queue = [&](const std::string& name) {
      auto item = std::make_pair(key, name);
      if (std::find(reload_queue_.begin(), reload_queue_.end(), item) == reload_queue_.end())
        reload_queue_.push_back(item);
    };
    for (const auto& name : changes.changed)
      if (stream->outputs.count(name)) queue(name);
    for (const auto& name : changes.removed)
      if (stream->outputs.count(name)) queue(name);
    for (const auto& name : changes.added) queue(name);
  }
  if (reload_current_.first.empty()) run_next_reload();
}

void Supervisor::run_next_reload() {
  reload_timer_.reset();
  reload_current_ = {};
  while (!reload_queue_.empty()) {
    auto [key, name] = reload_queue_.front();
    reload_queue_.erase(reload_queue_.begin());
    Stream* s = find_stream(key);
    if (!s) continue;
    const config::PipelineSpec* spec = nullptr;
    for (const auto& p : config_.pipelines)
      if (p.name == name && p.matches(key)) spec = &p;
    auto it = s->outputs.find(name);
    OutputSlot* slot = it != s->outputs.end() ? it->second.get() : nullptr;
    const bool running = slot && slot->output;
    if (!spec) {  // removed (or no longer matching this stream)
      if (slot) {
        stop_slot(*s, *slot, "removed by a configuration reload");
        s->outputs.erase(it);
      }
      continue;
    }
    const Client* publisher = find_client(s->publisher_id);
    const bool derived_transcode = publisher && publisher->derived && spec->output == "transcode";
    if (!running && (demand_only(*spec, s->app) || derived_transcode)) {
      if (slot) slot->spec = *spec;  // the next start uses it
      continue;
    }
    reload_current_ = {key, name};
    reload_timer_ = start_timer(10000, [this]() { run_next_reload(); });
    if (!running) {
      OutputSlot& fresh = slot_for(*s, *spec);
      fresh.spec = *spec;
      fresh.kind = kind_of(*spec);
      log_info(key, "", "pipeline-reload", "pipeline " + name + ": starting (new in pipelines.d)");
      start_slot(*s, fresh);
      return;
    }
    const bool same_kind = slot->kind == kind_of(*spec);
    slot->spec = *spec;
    const std::string launch =
        spec->expand_for_tracks(s->app, s->name, s->video.has_value(), s->audio.has_value(), launch_vars(*s));
    if (same_kind && slot->output->reload(launch)) {
      log_info(key, "", "pipeline-reload", "pipeline " + name + ": replaced in place, viewers kept");
      return;
    }
    log_info(key, "", "pipeline-reload", "pipeline " + name + ": restarting with its new definition");
    slot->kind = kind_of(*spec);
    stop_slot(*s, *slot, "changed by a configuration reload");
    start_slot(*s, *slot);
    return;
  }
}

// ---- clients ----

void Supervisor::add_client(Client client) {
  std::string id = client.id;
  log_info(client.key(), id, "connect", "type=" + client.type + " ip=" + client.ip);
  clients_[id] = ClientEntry{std::move(client), {}, {}};
}

Client* Supervisor::find_client(const std::string& id) {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : &it->second.client;
}

void Supervisor::remove_client(const std::string& id, const std::string& reason) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return;
  schedule_memory_return();  // what the session held is freed now; give the pages back soon after
  Client& c = it->second.client;
  const std::string key = c.key();
  const uint64_t sent = c.bytes_sent ? c.bytes_sent() : 0;
  const uint64_t received = c.bytes_received ? c.bytes_received() : 0;
  const bool was_publisher = c.publish;
  admission_->client_left(c);  // on_unpublish / on_stop for admitted clients
  log_info(key, id, "disconnect",
           "type=" + c.type + " reason=" + reason + " sent=" + std::to_string(sent) +
               " received=" + std::to_string(received));
  if (was_publisher)
    end_publish(id);
  else
    viewer_left(id, key);
  clients_.erase(id);
}

bool Supervisor::kick_client(const std::string& id) {
  auto it = clients_.find(id);
  if (it == clients_.end()) return false;
  log_info(it->second.client.key(), id, "kick", "disconnect requested through the API");
  if (it->second.client.kick) {
    auto kick = it->second.client.kick;  // may remove the entry
    kick();
  } else {
    remove_client(id, "kicked");
  }
  return true;
}

// ---- publishing ----

Supervisor::Stream* Supervisor::find_stream(const std::string& key) {
  auto it = streams_.find(key);
  return it == streams_.end() ? nullptr : it->second.get();
}

bool Supervisor::stream_is_live(const std::string& key) const {
  auto it = streams_.find(key);
  return it != streams_.end() && it->second->ready;
}

bool Supervisor::stream_is_playable(const std::string& key) const {
  return stream_is_live(key) || (demand_.offers && demand_.offers(key));
}

std::vector<std::string> Supervisor::busy_streams(int64_t margin_ms) const {
  std::vector<std::string> out;
  for (const auto& [key, s] : streams_) {
    const int64_t idle = s->publisher_idle_ms ? s->publisher_idle_ms() : 0;
    if (idle < config_.rtmp.takeover_idle_ms - margin_ms) out.push_back(key);
  }
  return out;
}

Status Supervisor::begin_publish(const std::string& client_id, std::function<int64_t()> idle_ms) {
  Client* c = find_client(client_id);
  if (!c) return Error{"unknown client", ErrorReason::not_found, "control"};
  const std::string key = c->key();
  // Names reach launch lines ({app}, {stream}): only plain names are accepted.
  if (!config::is_valid_name_component(c->app) || !config::is_valid_name_component(c->stream))
    return Error{"invalid app or stream name \"" + key + "\" (allowed: letters, digits, _ . -)", ErrorReason::invalid,
                 "control"};
  if (Stream* existing = find_stream(key)) {
    const int64_t idle = existing->publisher_idle_ms ? existing->publisher_idle_ms() : 0;
    if (idle < config_.rtmp.takeover_idle_ms) {
      log_warn(key, client_id, "publish-rejected",
               "stream busy: publisher " + existing->publisher_id + " is live (idle " + std::to_string(idle) + " ms)");
      return Error{"stream " + key + " is already being published", ErrorReason::conflict, "control"};
    }
    const std::string old = existing->publisher_id;
    log_info(key, client_id, "publish-takeover",
             "replacing publisher " + old + " silent for " + std::to_string(idle) + " ms");
    if (Client* oc = find_client(old); oc && oc->kick) {
      auto kick = oc->kick;
      kick();
    }
    if (Stream* still = find_stream(key)) {  // the kick did not end it synchronously
      teardown_stream(*still, "publisher replaced");
      streams_.erase(key);
    }
  }
  auto s = std::make_unique<Stream>();
  s->key = key;
  s->app = c->app;
  s->name = c->stream;
  s->id = "vid-" + new_client_id();
  s->publisher_id = client_id;
  s->publisher_idle_ms = std::move(idle_ms);
  s->publish_wall_ms = wall_ms();
  streams_[key] = std::move(s);
  log_info(key, client_id, "publish", "publish accepted");
  return ok_status();
}

void Supervisor::publish_ready(const std::string& client_id, GstCaps* video_caps, GstCaps* audio_caps) {
  Client* c = find_client(client_id);
  if (!c) return;
  Stream* s = find_stream(c->key());
  if (!s || s->publisher_id != client_id || s->ready) return;
  s->ready = true;
  if (video_caps) s->video = video_view_from_caps(video_caps);
  if (audio_caps) s->audio = audio_view_from_caps(audio_caps);
  if (const size_t n = pipelines::bus_audio_tracks(s->key).size(); n > 1) s->audio_tracks = int(n);
  std::string desc;
  if (s->video)
    desc +=
        " video=" + s->video->codec + " " + std::to_string(s->video->width) + "x" + std::to_string(s->video->height);
  if (s->audio) desc += " audio=" + s->audio->codec + " " + std::to_string(s->audio->sample_rate) + "Hz";
  if (s->audio_tracks > 1) desc += " audio_tracks=" + std::to_string(s->audio_tracks);
  log_info(s->key, client_id, "stream-ready", "tracks known:" + desc);
  start_publish_triggered(*s);
  waiters_.resume_all(s->key);
}

void Supervisor::end_publish(const std::string& client_id) {
  for (auto it = streams_.begin(); it != streams_.end(); ++it) {
    if (it->second->publisher_id != client_id) continue;
    std::unique_ptr<Stream> s = std::move(it->second);
    streams_.erase(it);
    teardown_stream(*s, "publisher left");
    log_info(s->key, client_id, "unpublish", "stream ended");
    return;
  }
}

void Supervisor::publish_discontinuity(const std::string& client_id) {
  for (auto& [key, s] : streams_) {
    if (s->publisher_id != client_id) continue;
    log_info(key, client_id, "discontinuity", "media resumes after a gap: outputs mark it");
    for (auto& [name, slot] : s->outputs)
      if (slot->output) slot->output->discontinuity();
    return;
  }
}

void Supervisor::teardown_stream(Stream& stream, const std::string& why) {
  for (auto& [name, slot] : stream.outputs) stop_slot(stream, *slot, why);
}

void Supervisor::start_publish_triggered(Stream& stream) {
  // A transcode's renditions are not transcoded again ("live/*" matches "live/x_720p" too).
  const Client* publisher = find_client(stream.publisher_id);
  const bool derived = publisher && publisher->derived;
  for (const auto& spec : config_.pipelines) {
    if (demand_only(spec, stream.app) || !spec.matches(stream.key)) continue;
    if (derived && spec.output == "transcode") continue;
    OutputSlot& slot = slot_for(stream, spec);
    if (slot.state == SlotState::stopped) start_slot(stream, slot);
  }
  // Built-in publish outputs (HLS, DVR) run unless pipelines.d describes that output for the stream.
  for (const config::PipelineSpec* spec : builtin_output_specs()) {
    if (demand_only(*spec, stream.app) || !spec->matches(stream.key) || config_.find_output(spec->output, stream.key))
      continue;
    OutputSlot& slot = slot_for(stream, *spec);
    if (slot.state == SlotState::stopped) start_slot(stream, slot);
  }
}

// ---- outputs ----

const config::PipelineSpec* Supervisor::spec_for(const std::string& kind, const std::string& key) const {
  if (const config::PipelineSpec* spec = config_.find_output(kind, key)) return spec;
  return builtin_output_spec(kind);
}

Supervisor::OutputSlot& Supervisor::slot_for(Stream& stream, const config::PipelineSpec& spec) {
  auto& slot = stream.outputs[spec.name];
  if (!slot) {
    slot = std::make_unique<OutputSlot>();
    slot->spec = spec;
    slot->kind = kind_of(spec);
  }
  return *slot;
}

Status Supervisor::set_requested_output(const std::string& stream_id, const std::string& kind, bool on) {
  Stream* s = nullptr;
  for (auto& [key, st] : streams_)
    if (st->id == stream_id || key == stream_id) s = st.get();
  if (!s || !s->ready) return Error{"stream " + stream_id + " not found", ErrorReason::not_found, "control"};
  const config::PipelineSpec* spec = spec_for(kind, s->key);
  if (!spec || !find_output_kind(kind)) return Error{"no output " + kind, ErrorReason::not_found, "control"};
  OutputSlot& slot = slot_for(*s, *spec);
  log_info(s->key, "", "output-request", kind + (on ? " start" : " stop") + " requested through the API");
  if (!on) {
    stop_slot(*s, slot, "stopped through the API");
    return ok_status();
  }
  if (slot.output) stop_slot(*s, slot, "restarted through the API");  // e.g. after a recorder error
  start_slot(*s, slot, true);
  return ok_status();
}

void Supervisor::start_slot(Stream& stream, OutputSlot& slot, bool requested) {
  const OutputFactory* factory = find_output_kind(slot.kind);
  if (!factory) {
    log_error(stream.key, "", "output-error", "pipeline " + slot.spec.name + ": unknown output kind " + slot.kind);
    return;
  }
  OutputContext ctx;
  ctx.app = stream.app;
  ctx.stream = stream.name;
  config::CodecVars vars = launch_vars(stream);
  vars.audio_track = slot.audio;
  ctx.launch =
      slot.spec.expand_for_tracks(stream.app, stream.name, stream.video.has_value(), stream.audio.has_value(), vars);
  if (std::string note = audio_conversion_note(slot.spec, stream.audio);
      !note.empty() && !flv_writes_enhanced(stream.video))  // {flv_audio} is the parser alone there
    log_info(stream.key, "", "output-audio", "pipeline " + slot.spec.name + ": " + note);
  ctx.pipeline_name = slot.spec.name;
  ctx.audio_track = slot.audio;
  ctx.config = &config_;
  ctx.engine = &engine_;
  ctx.requested = requested;
  const std::string key = stream.key, name = slot.spec.name;
  ctx.events.on_ready = [this, key, name]() { on_slot_ready(key, name); };
  ctx.notify = [this, key](const std::string& action, std::map<std::string, std::string> strings,
                           std::map<std::string, double> numbers) {
    Stream* s = find_stream(key);
    Client* publisher = s ? find_client(s->publisher_id) : nullptr;
    hooks::HookFields fields;
    if (publisher)
      fields = admission_->fields_for(*publisher);
    else {
      fields.app = key.substr(0, key.find('/'));
      fields.stream = key.substr(key.find('/') + 1);
    }
    fields.extra_strings = std::move(strings);
    fields.extra_numbers = std::move(numbers);
    admission_->notify(action, fields);
  };
  ctx.events.on_failed = [this, key, name](const std::string& reason) {
    // Leave the pipeline's bus callback before tearing the pipeline down.
    post_to_control_later(key, name, reason);
  };
  auto created = (*factory)(std::move(ctx));
  if (created && !created.value()) {  // the output kind declined this stream (configuration)
    slot.state = SlotState::stopped;
    return;
  }
  Status st = created ? created.value()->start() : Status(created.error());
  if (!st) {
    slot.output.reset();
    log_error(key, "", "output-error", "pipeline " + name + ": " + st.error().message);
    slot.state = SlotState::backoff;
    on_slot_failed(key, name, st.error().message);
    return;
  }
  slot.output = std::move(created.value());
  slot.state = SlotState::starting;
  slot.started_us = g_get_monotonic_time();
  log_info(key, "", "output-start", "pipeline " + name + " (" + slot.kind + ") starting");
  // An output that is ready as soon as it started (an RTSP mount) serves its waiting viewers now.
  if (slot.output->ready()) on_slot_ready(key, name);
}

void Supervisor::post_to_control_later(const std::string& key, const std::string& name, const std::string& reason) {
  post_to_control([this, key, name, reason]() { on_slot_failed(key, name, reason); });
}

void Supervisor::stop_slot(Stream& stream, OutputSlot& slot, const std::string& why) {
  slot.linger_timer.reset();
  slot.restart_timer.reset();
  if (slot.output) {
    slot.output->stop();
    slot.output.reset();
    log_info(stream.key, "", "output-stop", "pipeline " + slot.spec.name + " stopped: " + why);
  }
  slot.state = SlotState::stopped;
  auto waiting = std::move(slot.waiting);
  slot.waiting.clear();
  for (auto& [id, attach] : waiting) attach(nullptr);
}

void Supervisor::on_slot_ready(const std::string& key, const std::string& name) {
  // The reload in progress is done: the next one goes from the main loop, not from inside this call.
  if (reload_current_ == std::make_pair(key, name)) reload_timer_ = start_timer(0, [this]() { run_next_reload(); });
  Stream* s = find_stream(key);
  if (!s) return;
  auto it = s->outputs.find(name);
  if (it == s->outputs.end() || !it->second->output) return;
  OutputSlot& slot = *it->second;
  slot.state = SlotState::running;
  log_info(key, "", "output-ready",
           "pipeline " + name + " ready, attaching " + std::to_string(slot.waiting.size()) + " waiting viewer(s)");
  auto waiting = std::move(slot.waiting);
  slot.waiting.clear();
  Output* output = slot.output.get();
  for (auto& [id, on_ready] : waiting) {
    if (find_client(id)) on_ready(output);
  }
}

void Supervisor::on_slot_failed(const std::string& key, const std::string& name, const std::string& reason) {
  Stream* s = find_stream(key);
  if (!s) return;
  auto it = s->outputs.find(name);
  if (it == s->outputs.end()) return;
  OutputSlot& slot = *it->second;
  log_error(key, "", "output-failed", "pipeline " + name + ": " + reason);
  // A run that lasted a while resets the backoff; repeated quick failures double it.
  const bool ran_long = slot.started_us && g_get_monotonic_time() - slot.started_us > 10 * G_USEC_PER_SEC;
  slot.backoff_ms = (ran_long || slot.backoff_ms == 0)
                        ? config_.outputs.restart_backoff_ms
                        : std::min(slot.backoff_ms * 2, config_.outputs.restart_backoff_max_ms);
  stop_slot(*s, slot, "failed");
  slot.state = SlotState::backoff;
  ++slot.restarts;
  // The slot owns the timer: it is cancelled with the slot, so the closure may name `this`.
  slot.restart_timer = start_timer(slot.backoff_ms, [this, key, name]() { on_restart_due(key, name); });
  log_info(key, "", "output-backoff", "pipeline " + name + " restarts in " + std::to_string(slot.backoff_ms) + " ms");
}

void Supervisor::on_restart_due(const std::string& key, const std::string& name) {
  Stream* s = find_stream(key);
  if (!s) return;
  auto it = s->outputs.find(name);
  if (it == s->outputs.end()) return;
  OutputSlot& slot = *it->second;
  slot.restart_timer = SourceGuard();  // the source is finishing on its own
  if (slot.state != SlotState::backoff) return;
  slot.state = SlotState::stopped;
  if (demand_only(slot.spec, s->app) && slot.viewers.empty() && slot.demand_until_us <= g_get_monotonic_time()) return;
  start_slot(*s, slot);
}

std::optional<Status> Supervisor::wait_unless_live(const std::string& client_id, const std::string& format,
                                                   std::function<Status()> retry,
                                                   std::function<void(const Error&)> fail) {
  Client* c = find_client(client_id);
  if (!c) return Status(Error{"unknown client", ErrorReason::not_found, "control"});
  const std::string key = c->key();
  if (Stream* s = find_stream(key); s && s->ready) return std::nullopt;
  return wait_for_stream(
      key, client_id, format,
      [this, client_id, retry, fail]() {
        if (!find_client(client_id)) return;
        if (Status st = retry(); !st) fail(st.error());
      },
      [fail, key]() {
        fail(Error{"stream " + key + " is not published", ErrorReason::not_found, "control"});
      });
}

Status Supervisor::begin_play(const std::string& client_id, const std::string& format, AttachFn attach) {
  auto waiting = wait_unless_live(
      client_id, format, [this, client_id, format, attach]() { return begin_play(client_id, format, attach); },
      [attach](const Error&) { attach(nullptr); });
  if (waiting) return *waiting;
  return join_output(client_id, format, [attach = std::move(attach), format](Output* output) {
    attach(output ? output->channel(format) : nullptr);
  });
}

Status Supervisor::begin_feed(const std::string& client_id, const std::string& format, FeedReadyFn ready) {
  auto waiting = wait_unless_live(
      client_id, format, [this, client_id, format, ready]() { return begin_feed(client_id, format, ready); },
      [ready](const Error& e) { ready(e); });
  if (waiting) return *waiting;
  return join_output(client_id, format, [ready = std::move(ready), format, client_id](Output* output) {
    if (!output)
      return ready(Error{"the " + format + " output stopped before " + client_id + " could join it",
                         ErrorReason::unavailable, "control"});
    ready(output->bus_stream(format));
  });
}

Status Supervisor::join_output(const std::string& client_id, const std::string& format,
                               std::function<void(Output*)> on_ready) {
  Client* c = find_client(client_id);
  if (!c) return Error{"unknown client", ErrorReason::not_found, "control"};
  const std::string key = c->key();
  Stream* s = find_stream(key);
  if (!s || !s->ready) return Error{"stream " + key + " is not published", ErrorReason::not_found, "control"};
  const std::string kind = output_kind_for_format(format);
  const config::PipelineSpec* spec = kind.empty() ? nullptr : spec_for(kind, key);
  if (!spec) return Error{"no output serves format " + format, ErrorReason::not_found, "control"};
  // ?audio=N on an FLV/RTMP play URL: an output of its own carrying audio_N ({audio_track}).
  const int audio = kind == "flv" ? requested_audio_track(c->query) : 0;
  if (audio < 0 || audio >= std::max(1, s->audio_tracks))
    return Error{"stream " + key + " has no audio track audio_" + std::to_string(audio) + " (it has " +
                     std::to_string(s->audio_tracks) + ")",
                 ErrorReason::not_found, "control"};
  config::PipelineSpec chosen;
  if (audio > 0) {
    chosen = *spec;
    chosen.name += "@audio_" + std::to_string(audio);
    spec = &chosen;
  }
  OutputSlot& slot = slot_for(*s, *spec);
  slot.audio = audio;
  slot.viewers.insert(client_id);
  slot.linger_timer.reset();
  log_info(key, client_id, "play", "format=" + format + " output=" + spec->name);
  if (slot.state == SlotState::running && slot.output && slot.output->ready()) {
    on_ready(slot.output.get());
    return ok_status();
  }
  slot.waiting.emplace_back(client_id, std::move(on_ready));
  if (slot.state == SlotState::stopped) start_slot(*s, slot);
  return ok_status();
}

Status Supervisor::wait_for_stream(const std::string& key, const std::string& client_id, const std::string& format,
                                   std::function<void()> resume, std::function<void()> expire) {
  const bool demand = demand_.offers && demand_.offers(key);
  const int wait_ms =
      demand ? std::max(1, demand_.wait_ms_for ? demand_.wait_ms_for(key) : demand_.wait_ms) : config_.play.wait_ms;
  if (wait_ms <= 0) return Error{"stream " + key + " is not published", ErrorReason::not_found, "control"};
  if (const Client* c = demand && demand_.check ? find_client(client_id) : nullptr) {
    if (Status st = demand_.check(key, c->query); !st) {
      log_warn(key, client_id, "play-refused", st.error().message);
      return st;
    }
  }
  PlayWaiters::Waiter w;
  w.client_id = client_id;
  w.deadline_us = g_get_monotonic_time() + int64_t(wait_ms) * 1000;
  w.resume = std::move(resume);
  w.expire = [expire = std::move(expire), key, client_id, wait_ms]() {
    log_info(key, client_id, "play-wait-timeout",
             "stream not live after " + std::to_string(wait_ms) + " ms: not found");
    expire();
  };
  Status added =
      waiters_.add(key, std::move(w), size_t(config_.play.max_waiters_per_stream), size_t(config_.play.max_waiters));
  if (!added) {
    log_warn(key, client_id, "play-wait-refused", added.error().message);
    return added;
  }
  log_info(key, client_id, "play-wait",
           "format=" + format + ": waiting up to " + std::to_string(wait_ms) + " ms for the " +
               (demand ? "on-demand source" : "stream"));
  if (demand && demand_.request) demand_.request(key);
  return ok_status();
}

Status Supervisor::await_stream(const std::string& key, std::function<void(bool live)> done) {
  if (stream_is_live(key)) {
    done(true);
    return ok_status();
  }
  auto shared = std::make_shared<std::function<void(bool)>>(std::move(done));
  return wait_for_stream(
      key, "await-" + new_client_id(), "request", [shared]() { (*shared)(true); }, [shared]() { (*shared)(false); });
}

bool Supervisor::stream_in_use(const std::string& key) const {
  auto it = streams_.find(key);
  if (it == streams_.end()) return false;
  for (const auto& [name, slot] : it->second->outputs)
    if (slot->state != SlotState::stopped) return true;
  return false;
}

void Supervisor::viewer_left(const std::string& client_id, const std::string& key) {
  Stream* s = find_stream(key);
  waiters_.remove(key, client_id);
  if (!s) return;
  for (auto& [name, slot_ptr] : s->outputs) {
    OutputSlot& slot = *slot_ptr;
    if (!slot.viewers.erase(client_id)) continue;
    slot.waiting.erase(
        std::remove_if(slot.waiting.begin(), slot.waiting.end(), [&](const auto& w) { return w.first == client_id; }),
        slot.waiting.end());
    if (!slot.viewers.empty() || !demand_only(slot.spec, s->app) || !slot.output) continue;
    // Last viewer gone: keep the output a little while for the next one, then stop it.
    arm_linger(key, slot, config_.outputs.linger_ms);
  }
}

void Supervisor::arm_linger(const std::string& key, OutputSlot& slot, int ms) {
  const std::string name = slot.spec.name;
  slot.linger_due_us = g_get_monotonic_time() + int64_t(ms) * 1000;
  slot.linger_timer = start_timer(ms, [this, key, name]() {
    Supervisor* self = this;
    const std::string k = key, n = name;  // the closure goes with the timer reset below
    Stream* st = self->find_stream(k);
    if (!st) return;
    auto it = st->outputs.find(n);
    if (it == st->outputs.end() || !it->second->viewers.empty()) return;
    OutputSlot& sl = *it->second;
    sl.linger_timer = SourceGuard();  // the source is finishing on its own
    if (!sl.output) return;
    const int64_t left_us = sl.demand_until_us - g_get_monotonic_time();
    if (left_us > 0) {  // requested again meanwhile (HLS): wait for the rest
      self->arm_linger(k, sl, int(left_us / 1000) + 1);
      return;
    }
    self->stop_slot(*st, sl, "no viewers");
  });
}

bool Supervisor::demand_only(const config::PipelineSpec& spec, const std::string& app) const {
  if (spec.trigger != config::Trigger::on_demand) return false;
  // HLS and the CMAF packager run from publish on where [hls] asks for it (always, on_hls, directory).
  if ((spec.output == "hls" || spec.output == "cmaf") && config_.hls_always(app)) return false;
  return true;
}

Status Supervisor::demand_output(const std::string& key, const std::string& kind, int linger_ms) {
  Stream* s = find_stream(key);
  if (!s || !s->ready) return Error{"stream " + key + " is not published", ErrorReason::not_found, "control"};
  const config::PipelineSpec* spec = spec_for(kind, key);
  if (!spec || !find_output_kind(kind)) return Error{"no output " + kind, ErrorReason::not_found, "control"};
  OutputSlot& slot = slot_for(*s, *spec);
  slot.demand_until_us = g_get_monotonic_time() + int64_t(linger_ms) * 1000;  // the latest request's wish
  if (slot.state == SlotState::stopped) {
    log_info(key, "", "output-demand", kind + " requested: starting pipeline " + spec->name);
    start_slot(*s, slot);
    if (slot.state == SlotState::stopped)
      return Error{"output " + kind + " is off for " + key, ErrorReason::not_found, "control"};
  }
  // A running timer re-checks demand_until_us when it fires, so it is re-armed only when this request
  // wants the output stopped earlier than it fires (not once per LL-HLS part request).
  if (slot.viewers.empty() && demand_only(slot.spec, s->app) && slot.output &&
      (!slot.linger_timer || slot.demand_until_us < slot.linger_due_us))
    arm_linger(key, slot, linger_ms);
  return ok_status();
}

// ---- API read model ----

size_t Supervisor::viewer_count(const std::string& key) const {
  size_t n = 0;
  for (const auto& [id, e] : clients_)
    if (!e.client.publish && e.client.key() == key) ++n;
  return n;
}

std::string Supervisor::stream_api_id(const std::string& key) const {
  auto it = streams_.find(key);
  return it == streams_.end() ? "" : it->second->id;
}

std::vector<OutputMetrics> Supervisor::output_metrics() const {
  std::vector<OutputMetrics> out;
  for (const auto& [key, s] : streams_) {
    for (const auto& [name, slot] : s->outputs) {
      OutputMetrics m;
      m.app = s->app;
      m.stream = s->name;
      m.output = name;
      m.kind = slot->kind;
      m.restarts = slot->restarts;
      m.running = slot->state == SlotState::running;
      if (slot->output)
        for (const auto& ch : slot->output->channels())
          if (ch) m.channels.emplace_back(ch->name(), ch->stats());
      out.push_back(std::move(m));
    }
  }
  return out;
}

void Supervisor::sample_rates() {
  const int64_t now = g_get_monotonic_time();
  std::map<std::string, std::pair<uint64_t, uint64_t>> per_stream;  // key -> recv, send
  for (auto& [id, e] : clients_) {
    uint64_t sent = e.client.bytes_sent ? e.client.bytes_sent() : 0;
    uint64_t recv = e.client.bytes_received ? e.client.bytes_received() : 0;
    e.send_rate.sample(sent, now);
    e.recv_rate.sample(recv, now);
    auto& acc = per_stream[e.client.key()];
    acc.first += recv;
    acc.second += sent;
  }
  for (auto& [key, s] : streams_) {
    s->recv_rate.sample(per_stream[key].first, now);
    s->send_rate.sample(per_stream[key].second, now);
  }
}

std::vector<api::StreamView> Supervisor::streams() const {
  std::vector<api::StreamView> out;
  for (const auto& [key, s] : streams_) {
    api::StreamView v;
    v.id = s->id;
    v.name = s->name;
    v.vhost = vhost_id_;
    v.app = s->app;
    v.url = "/" + key;
    v.live_ms = s->publish_wall_ms;
    v.publish_active = s->ready;
    v.publish_cid = s->publisher_id;
    v.video = s->video;
    v.audio = s->audio;
    if (s->ready) {
      const auto tracks = pipelines::bus_audio_tracks(key);
      for (size_t i = 0; i < tracks.size(); ++i)
        v.audio_tracks.push_back(
            {"audio_" + std::to_string(i), tracks[i].language, audio_view_from_caps(tracks[i].caps.get())});
    }
    for (const auto& [id, e] : clients_) {
      if (e.client.key() != key) continue;
      if (!e.client.publish) ++v.clients;
      if (e.client.bytes_received) v.recv_bytes += e.client.bytes_received();
      if (e.client.bytes_sent) v.send_bytes += e.client.bytes_sent();
      if (e.client.publish) v.tc_url = e.client.tc_url;
    }
    pipelines::BusStats stats;
    if (pipelines::bus_stats(key, &stats)) {
      v.frames = stats.video_buffers + stats.audio_buffers;
      v.video_frames = stats.video_buffers;
      v.gop_cache_bytes = stats.gop_cache_bytes;
      v.gop_cache_max_bytes = stats.gop_cache_max_bytes;
      v.queued_bytes = stats.queued_bytes;
    }
    v.kbps_recv_30s = s->recv_rate.kbps();
    v.kbps_send_30s = s->send_rate.kbps();
    for (const auto& [name, slot] : s->outputs)
      if (slot->output) {
        v.outputs.push_back(name);
        slot->output->describe(v);
      }
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<api::ClientView> Supervisor::clients() const {
  std::vector<api::ClientView> out;
  const int64_t now = g_get_monotonic_time();
  for (const auto& [id, e] : clients_) {
    const Client& c = e.client;
    api::ClientView v;
    v.id = c.id;
    v.vhost = vhost_id_;
    auto it = streams_.find(c.key());
    v.stream = it != streams_.end() ? it->second->id : "";
    v.ip = c.ip;
    v.page_url = c.page_url;
    v.swf_url = c.swf_url;
    v.tc_url = c.tc_url;
    v.url = "/" + c.key();
    v.name = c.stream;
    v.type = c.type;
    v.publish = c.publish;
    v.alive_s = double(now - c.start_us) / 1e6;
    v.send_bytes = c.bytes_sent ? c.bytes_sent() : 0;
    v.recv_bytes = c.bytes_received ? c.bytes_received() : 0;
    v.kbps_recv_30s = e.recv_rate.kbps();
    v.kbps_send_30s = e.send_rate.kbps();
    if (c.srt_stats) v.srt = c.srt_stats();
    if (c.rtc_stats) v.rtc = c.rtc_stats();
    out.push_back(std::move(v));
  }
  return out;
}

api::SummaryView Supervisor::summary() const {
  api::SummaryView v;
  v.now_ms = wall_ms();
  v.pid = int(getpid());
  v.uptime_s = double(g_get_monotonic_time() - start_us_) / 1e6;
  v.mem_kbyte = process_rss_kb();
  v.cpu_percent = v.uptime_s > 0 ? 100.0 * process_cpu_seconds() / v.uptime_s : 0;
  v.cpus = int(std::thread::hardware_concurrency());
  v.streams = int(streams_.size());
  v.clients = int(clients_.size());
  for (const auto& [id, e] : clients_) {
    if (e.client.bytes_sent) v.send_bytes += e.client.bytes_sent();
    if (e.client.bytes_received) v.recv_bytes += e.client.bytes_received();
  }
  return v;
}

}  // namespace estuary::server

namespace estuary::server {

std::unique_ptr<ControlPlane> make_control_plane(config::Config config, fanout::Engine& engine) {
  return std::make_unique<Supervisor>(std::move(config), engine);
}

}  // namespace estuary::server
