// Owns: StreamHistory (see stream_history.h).
#include "server/api/stream_history.h"

#include <set>

namespace estuary::api {
namespace {

// Counters restart from zero when a stream is published again under the same id: a drop is a
// restart, not a negative rate.
uint64_t delta(uint64_t now, uint64_t before) { return now >= before ? now - before : now; }

}  // namespace

void StreamHistory::sample(int64_t now_ms, const std::vector<StreamView>& streams) {
  std::set<std::string> seen;
  for (const StreamView& s : streams) {
    seen.insert(s.id);
    auto [it, fresh] = tracks_.try_emplace(s.id);
    Track& t = it->second;
    if (!fresh && now_ms > t.last_ms) {
      const double dt_s = double(now_ms - t.last_ms) / 1000.0;
      HistorySample h;
      h.t_ms = now_ms;
      h.kbps_in = int(double(delta(s.recv_bytes, t.recv)) * 8 / 1000 / dt_s + 0.5);
      h.kbps_out = int(double(delta(s.send_bytes, t.send)) * 8 / 1000 / dt_s + 0.5);
      h.fps = double(delta(s.video_frames, t.video_frames)) / dt_s;
      h.viewers = s.clients;  // players only: the read model leaves the publisher out
      t.samples.push_back(h);
      while (t.samples.size() > capacity_) t.samples.pop_front();
    }
    t.last_ms = now_ms;
    t.recv = s.recv_bytes;
    t.send = s.send_bytes;
    t.video_frames = s.video_frames;
  }
  std::erase_if(tracks_, [&](const auto& kv) { return !seen.count(kv.first); });
}

const std::deque<HistorySample>* StreamHistory::find(const std::string& id) const {
  auto it = tracks_.find(id);
  return it == tracks_.end() ? nullptr : &it->second.samples;
}

}  // namespace estuary::api
