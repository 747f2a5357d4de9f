// Owns: PullSources (see pull_sources.h).
#include "server/sources/pull_sources.h"

#include <algorithm>

#include "common/ids.h"
#include "common/log.h"
#include "common/timer.h"
#include "server/control/ingest_events.h"
#include "server/control/ports.h"

namespace estuary::server {
namespace {

constexpr int kTickMs = 250;
constexpr int64_t kStableRunUs = 10 * G_USEC_PER_SEC;  // a run live this long resets the backoff

std::string describe_url(const config::SourceSpec& spec) {
  return spec.launch.empty() ? pipelines::redact_url(spec.url) : "launch";
}

std::string kind_of(const config::SourceSpec& spec) {
  if (!spec.launch.empty()) return "launch";
  auto plan = pipelines::plan_reader(spec.url, {});
  return plan ? pipelines::pull_kind_name(plan->kind) : "?";
}

}  // namespace

PullSources::PullSources(ControlPorts ports, DemandPort& demand)
    : ports_(std::make_unique<ControlPorts>(ports)), demand_port_(demand) {
  // Owned by tick_, which is cancelled before `this` goes.
  tick_ = start_repeating_timer(int(kTickMs), [this]() {
    tick();
    return true;
  });
  install_demand_producer();
}

void PullSources::install_demand_producer() {
  DemandProducer demand;
  demand.offers = [this](const std::string& key) { return find_by_stream(key) != nullptr; };
  demand.request = [this](const std::string& key) {
    Source* src = find_by_stream(key);
    if (src && src->state == State::idle) {
      log_info(key, "", "pull-demand", "viewer arrived: starting source " + src->spec.name);
      start(*src);
    }
  };
  // A waiting viewer gets at least as long as a source may take to deliver its first media.
  for (const auto& [name, src] : sources_) demand.wait_ms = std::max(demand.wait_ms, src->spec.timeout_ms);
  demand_port_.set_demand_producer(std::move(demand));
}

PullSources::~PullSources() {
  demand_port_.set_demand_producer({});
  for (auto& [name, src] : sources_) end_run(*src, "shutdown");
}

const char* PullSources::state_name(State s) {
  switch (s) {
    case State::idle:
      return "idle";
    case State::connecting:
      return "connecting";
    case State::live:
      return "live";
    case State::backoff:
      return "backoff";
  }
  return "?";
}

PullSources::Source* PullSources::find(const std::string& name) {
  auto it = sources_.find(name);
  return it == sources_.end() ? nullptr : it->second.get();
}

PullSources::Source* PullSources::find_by_stream(const std::string& key) {
  for (auto& [name, src] : sources_)
    if (src->spec.stream == key) return src.get();
  return nullptr;
}

void PullSources::apply(const std::vector<config::SourceSpec>& specs) {
  for (auto it = sources_.begin(); it != sources_.end();) {
    auto wanted = std::find_if(specs.begin(), specs.end(), [&](const auto& s) { return s.name == it->first; });
    if (wanted != specs.end() && *wanted == it->second->spec) {
      ++it;
      continue;
    }
    log_info(it->second->spec.stream, it->second->client_id, "pull-remove",
             "source " + it->first + (wanted == specs.end() ? " removed" : " changed") + " by the configuration");
    end_run(*it->second, "source reconfigured");
    it = sources_.erase(it);
  }
  for (const auto& spec : specs) {
    if (sources_.count(spec.name)) continue;
    auto src = std::make_unique<Source>();
    src->spec = spec;
    src->state_since_ms = g_get_real_time() / 1000;
    Source& ref = *src;
    sources_[spec.name] = std::move(src);
    log_info(spec.stream, "", "pull-add",
             "source " + spec.name + " " + describe_url(spec) + " mode=" + config::source_mode_name(spec.mode));
    if (spec.mode == config::SourceMode::always) start(ref);
  }
  install_demand_producer();
}

void PullSources::set_state(Source& src, State state) {
  if (src.state == state) return;
  src.state = state;
  src.state_since_ms = g_get_real_time() / 1000;
}

void PullSources::start(Source& src) {
  src.retry_timer.reset();
  src.run = std::make_shared<bool>(true);
  src.client_id = new_client_id();
  src.no_viewers_since_us = 0;
  set_state(src, State::connecting);
  Client c;
  c.id = src.client_id;
  c.type = "pull-publish";
  c.publish = true;
  c.ip = "127.0.0.1";  // an internal publisher, as SRS's ingesters are
  c.app = src.spec.app();
  c.stream = src.spec.stream_name();
  c.tc_url = describe_url(src.spec);
  c.start_us = g_get_monotonic_time();
  const std::string name = src.spec.name;
  c.kick = [this, name]() {
    if (Source* s = find(name)) fail(*s, "kicked");
  };
  c.bytes_received = [this, name]() -> uint64_t {
    Source* s = find(name);
    return s && s->ingest ? s->ingest->bytes() : 0;
  };
  log_info(src.spec.stream, src.client_id, "pull-start", "connecting to " + describe_url(src.spec));
  ports_->clients.add_client(std::move(c));
  std::weak_ptr<bool> run = src.run;
  ports_->admission.admit(src.client_id, Admission::Action::publish, [this, name, run](const Verdict& v) {
    Source* s = run.expired() ? nullptr : find(name);
    if (!s) return;
    if (!v.allowed) {
      fail(*s, "publish refused: " + v.reason);
      return;
    }
    begin_ingest(*s);
  });
}

void PullSources::begin_ingest(Source& src) {
  const std::string name = src.spec.name;
  Status st = ports_->publish.begin_publish(src.client_id, [this, name]() -> int64_t {
    Source* s = find(name);
    return s && s->ingest ? s->ingest->idle_ms() : 0;
  });
  if (!st) {
    fail(src, "publish rejected: " + st.error().message);
    return;
  }
  pipelines::PullIngestSettings settings;
  settings.stream = src.spec.stream;
  settings.url = src.spec.url;
  settings.launch = config::expand_stream_variables(src.spec.launch, src.spec.app(), src.spec.stream_name());
  settings.options.rtsp_transport = src.spec.rtsp_transport;
  settings.loop = src.spec.loop;
  settings.gop_cache_max_bytes = uint64_t(ports_->slice(&config::Config::bus)->gop_cache_max_kb) * 1024;
  src.ingest = std::make_unique<pipelines::PullIngest>(std::move(settings));
  std::weak_ptr<bool> run = src.run;
  auto events = ingest_events(ports_->publish, src.client_id, run, [this, name, run](const std::string& reason) {
    Source* s = run.expired() ? nullptr : find(name);
    if (s) fail(*s, reason);
  });
  // The stream went live: note it for the state and the backoff.
  auto ready = std::move(events.on_element_message);
  events.on_element_message = [this, name, run, ready](const GstStructure* s) {
    ready(s);
    Source* src = run.expired() ? nullptr : find(name);
    if (src && gst_structure_has_name(s, "estuary-stream-ready") && src->state == State::connecting) {
      set_state(*src, State::live);
      src->live_since_us = g_get_monotonic_time();
      log_info(src->spec.stream, src->client_id, "pull-live", "source " + name + " is live");
    }
  };
  src.ingest->set_events(std::move(events));
  st = src.ingest->start();
  if (!st) fail(src, st.error().message);
}

void PullSources::end_run(Source& src, const std::string& reason) {
  src.run.reset();
  src.retry_timer.reset();
  if (src.ingest) {
    src.bytes_before += src.ingest->bytes();
    src.ingest->stop();
    src.ingest.reset();
  }
  if (!src.client_id.empty()) {
    const std::string id = std::move(src.client_id);
    src.client_id.clear();
    ports_->clients.remove_client(id, reason);
  }
}

void PullSources::fail(Source& src, const std::string& reason) {
  log_warn(src.spec.stream, src.client_id, "pull-failed", "source " + src.spec.name + ": " + reason);
  src.last_error = reason;
  const bool ran_long = src.live_since_us && g_get_monotonic_time() - src.live_since_us > kStableRunUs;
  src.live_since_us = 0;
  end_run(src, reason);
  if (src.spec.mode == config::SourceMode::demand && ports_->clients.viewer_count(src.spec.stream) == 0) {
    set_state(src, State::idle);  // nobody is waiting: the next viewer starts it again
    src.backoff_ms = 0;
    return;
  }
  src.backoff_ms =
      (ran_long || src.backoff_ms == 0) ? src.spec.retry_min_ms : std::min(src.backoff_ms * 2, src.spec.retry_max_ms);
  schedule_retry(src);
}

void PullSources::schedule_retry(Source& src) {
  set_state(src, State::backoff);
  ++src.restarts;
  src.retry_at_us = g_get_monotonic_time() + int64_t(src.backoff_ms) * 1000;
  const std::string name = src.spec.name;  // the source owns the timer; this owns the source
  src.retry_timer = start_timer(src.backoff_ms, [this, name]() {
    Source* s = find(name);
    if (!s) return;
    s->retry_timer = SourceGuard();  // finishing on its own
    if (s->state == State::backoff) start(*s);
  });
  log_info(src.spec.stream, "", "pull-backoff",
           "source " + src.spec.name + " retries in " + std::to_string(src.backoff_ms) + " ms");
}

void PullSources::stop_idle(Source& src, const std::string& reason) {
  log_info(src.spec.stream, src.client_id, "pull-stop", "source " + src.spec.name + ": " + reason);
  src.live_since_us = 0;
  src.backoff_ms = 0;
  end_run(src, reason);
  set_state(src, State::idle);
}

void PullSources::tick() {
  const int64_t now = g_get_monotonic_time();
  for (auto& [name, ptr] : sources_) {
    Source& src = *ptr;
    if (src.ingest && (src.state == State::connecting || src.state == State::live)) {
      const int64_t idle = src.ingest->idle_ms();
      if (idle > src.spec.timeout_ms) {
        fail(src, (src.state == State::live ? "no media for " : "no media within ") + std::to_string(idle) + " ms");
        continue;
      }
    }
    if (src.spec.mode != config::SourceMode::demand || src.state == State::idle) continue;
    if (ports_->clients.viewer_count(src.spec.stream) > 0) {
      src.no_viewers_since_us = 0;
    } else if (!src.no_viewers_since_us) {
      src.no_viewers_since_us = now;
    } else if (now - src.no_viewers_since_us >= int64_t(src.spec.linger_ms) * 1000) {
      stop_idle(src, "no viewers for " + std::to_string(src.spec.linger_ms) + " ms");
    }
  }
}

std::vector<PullSources::SourceStatus> PullSources::status() const {
  std::vector<SourceStatus> out;
  const int64_t now = g_get_monotonic_time();
  for (const auto& [name, src] : sources_) {
    SourceStatus s;
    s.name = name;
    s.stream = src->spec.stream;
    s.url = describe_url(src->spec);
    s.kind = kind_of(src->spec);
    s.mode = config::source_mode_name(src->spec.mode);
    s.state = state_name(src->state);
    s.last_error = src->last_error;
    s.client_id = src->client_id;
    s.restarts = src->restarts;
    s.retry_in_ms = src->state == State::backoff ? int(std::max<int64_t>(0, (src->retry_at_us - now) / 1000)) : 0;
    s.bytes = src->bytes_before + (src->ingest ? src->ingest->bytes() : 0);
    s.state_since_ms = src->state_since_ms;
    s.viewers = int(ports_->clients.viewer_count(src->spec.stream));
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace estuary::server
