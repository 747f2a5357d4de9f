// Owns: RecordingIndex (see recording_index.h).
#include "server/outputs/dvr/recording_index.h"

#include <algorithm>
#include <cctype>

namespace estuary::server {

void RecordingIndex::put(Recording r) {
  erase(r.path);
  Stream& s = streams_[r.stream];
  s.longest_ms = std::max(s.longest_ms, r.duration_ms());
  by_path_[r.path] = {r.stream, r.start_ms};
  Key key{r.start_ms, r.path};
  s.by_start.emplace(std::move(key), std::move(r));
}

bool RecordingIndex::erase(const std::string& path) {
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return false;
  auto s = streams_.find(it->second.first);
  if (s != streams_.end()) {
    s->second.by_start.erase(Key{it->second.second, path});
    if (s->second.by_start.empty()) streams_.erase(s);
  }
  by_path_.erase(it);
  return true;
}

const Recording* RecordingIndex::find(const std::string& path) const {
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return nullptr;
  auto s = streams_.find(it->second.first);
  if (s == streams_.end()) return nullptr;
  auto r = s->second.by_start.find(Key{it->second.second, path});
  return r == s->second.by_start.end() ? nullptr : &r->second;
}

RecordingPage RecordingIndex::query(const RecordingQuery& q) const {
  // Per stream, the recordings overlapping [from, to] are a run in start order (those that start
  // before from - longest end before from; a few in between may too, and are skipped).
  struct Run {
    std::map<Key, Recording>::const_iterator it, end;
    int64_t from_ms;
    void skip_ended() {
      while (it != end && std::max(it->second.end_ms, it->second.start_ms) < from_ms) ++it;
    }
  };
  std::vector<Run> runs;
  auto add_run = [&](const Stream& s) {
    const int64_t lo = q.from_ms == std::numeric_limits<int64_t>::min() || q.from_ms - s.longest_ms > q.from_ms
                           ? std::numeric_limits<int64_t>::min()
                           : q.from_ms - s.longest_ms;
    Run r{s.by_start.lower_bound(Key{lo, {}}), s.by_start.upper_bound(Key{q.to_ms, std::string(1, '\xff')}), q.from_ms};
    r.skip_ended();
    if (r.it != r.end) runs.push_back(r);
  };
  if (!q.stream.empty()) {
    if (auto s = streams_.find(q.stream); s != streams_.end()) add_run(s->second);
  } else {
    for (const auto& [name, s] : streams_) add_run(s);
  }
  RecordingPage page;
  const bool unbounded =
      q.from_ms == std::numeric_limits<int64_t>::min() && q.to_ms == std::numeric_limits<int64_t>::max();
  if (unbounded) {  // every recording of the streams matches: their sizes are the count
    if (!q.stream.empty()) {
      if (auto s = streams_.find(q.stream); s != streams_.end()) page.total = s->second.by_start.size();
    } else {
      page.total = by_path_.size();
    }
  } else {
    for (Run r : runs) {  // counting is a walk of each run; only the page is merged
      for (; r.it != r.end; ++r.it, r.skip_ended()) ++page.total;
    }
  }
  auto after = [](const Run& a, const Run& b) { return a.it->first > b.it->first; };  // min-heap on (start, path)
  std::make_heap(runs.begin(), runs.end(), after);
  for (size_t n = 0; !runs.empty() && page.items.size() < q.count; ++n) {
    std::pop_heap(runs.begin(), runs.end(), after);
    Run& r = runs.back();
    if (n >= q.start) page.items.push_back(r.it->second);
    ++r.it;
    r.skip_ended();
    if (r.it == r.end) {
      runs.pop_back();
    } else {
      std::push_heap(runs.begin(), runs.end(), after);
    }
  }
  return page;
}

std::vector<Recording> RecordingIndex::of_app(const std::string& app) const {
  std::vector<Recording> out;
  const std::string prefix = app + "/";
  for (auto it = streams_.lower_bound(prefix); it != streams_.end() && it->first.rfind(prefix, 0) == 0; ++it)
    for (const auto& [key, r] : it->second.by_start) out.push_back(r);
  std::sort(out.begin(), out.end(), [](const Recording& a, const Recording& b) {
    return a.start_ms != b.start_ms ? a.start_ms < b.start_ms : a.path < b.path;
  });
  return out;
}

std::vector<std::string> RecordingIndex::apps() const {
  std::vector<std::string> out;
  for (const auto& [name, s] : streams_) {
    std::string app = name.substr(0, name.find('/'));
    if (out.empty() || out.back() != app) out.push_back(app);
  }
  return out;
}

std::vector<std::string> retention_victims(const RecordingIndex& index, const std::string& app, int64_t now_ms,
                                           int64_t max_age_ms, uint64_t max_bytes, uint64_t open_bytes) {
  std::vector<Recording> closed = index.of_app(app);
  std::erase_if(closed, [](const Recording& r) { return r.open; });
  uint64_t total = open_bytes;
  for (const auto& r : closed) total += r.size;
  std::vector<std::string> out;
  for (const auto& r : closed) {
    const bool too_old = max_age_ms > 0 && now_ms - std::max(r.end_ms, r.start_ms) > max_age_ms;
    const bool too_big = max_bytes > 0 && total > max_bytes;
    if (!too_old && !too_big) break;  // oldest first: nothing later is older
    out.push_back(r.path);
    total -= std::min(total, r.size);
  }
  return out;
}

bool safe_relative_path(const std::string& path) {
  if (path.empty() || path.size() > 1024) return false;
  int depth = 0;
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t end = path.find('/', begin);
    if (end == std::string::npos) end = path.size();
    const std::string seg = path.substr(begin, end - begin);
    if (seg.empty() || seg[0] == '.' || ++depth > 8) return false;
    for (unsigned char c : seg)
      if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-')) return false;
    begin = end + 1;
  }
  return true;
}

}  // namespace estuary::server
