// Owns: chunked delivery of open CMAF segments (see cmaf_streamers.h).
#include "server/outputs/hls/cmaf_streamers.h"

#include "common/timer.h"
#include "server/outputs/hls/cmaf_waiters.h"

namespace estuary::server {

bool CmafStreamers::add(SoupServerMessage* msg, uint64_t msn, int hold_ms, const CmafWindow& window, bool cors,
                        uint32_t track, const char* content_type) {
  if (streamers_.size() >= kMaxWaitersPerStream || CmafWaiters::total() + streamers_.size() >= kMaxWaitersTotal)
    return false;
  Streamer s;
  s.msg = Ref<SoupServerMessage>::add_ref(msg);
  s.msn = msn;
  s.track = track;
  s.deadline_us = g_get_monotonic_time() + gint64(hold_ms) * 1000;
  s.finished = std::make_shared<bool>(false);
  g_signal_connect_data(
      msg, "finished",
      G_CALLBACK(+[](SoupServerMessage*, gpointer flag) { **static_cast<std::shared_ptr<bool>*>(flag) = true; }),
      new std::shared_ptr<bool>(s.finished),
      [](gpointer flag, GClosure*) { delete static_cast<std::shared_ptr<bool>*>(flag); }, GConnectFlags(0));
  soup_server_message_set_status(msg, 200, nullptr);
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_set_encoding(h, SOUP_ENCODING_CHUNKED);
  soup_message_headers_replace(h, "Content-Type", content_type);
  soup_message_headers_replace(h, "Cache-Control", "no-cache");
  if (cors) soup_message_headers_replace(h, "Access-Control-Allow-Origin", "*");
  // Written chunks are dropped, not kept for the whole response.
  soup_message_body_set_accumulate(soup_server_message_get_response_body(msg), FALSE);
  streamers_.push_back(std::move(s));
  if (pump(streamers_.back(), window)) streamers_.pop_back();
  window_ = &window;
  if (!streamers_.empty() && !timer_running_) {
    timer_running_ = true;
    timer_ = start_repeating_timer(250, [this] {
      feed(*window_);
      timer_running_ = !streamers_.empty();
      return timer_running_;
    });
  }
  return true;
}

bool CmafStreamers::pump(Streamer& s, const CmafWindow& window) {
  SoupMessageBody* body = soup_server_message_get_response_body(s.msg.get());
  const CmafSegmentEntry* seg = nullptr;
  for (const auto& e : window.segments())
    if (e.msn == s.msn) seg = &e;
  const auto next = window.next_part();
  // Gone from the window, or a publish ended before it was whole: end what was sent.
  const bool lost = !seg && s.msn < next.first;
  const bool late = g_get_monotonic_time() >= s.deadline_us;
  bool wrote = false;
  if (seg) {
    for (; s.sent < seg->parts.size(); ++s.sent) {
      GBytes* data = seg->parts[s.sent].data.get();
      if (!data) continue;
      if (s.track) {
        Ref<GBytes> one = cmaf_track_bytes(data, s.track);
        if (!one || g_bytes_get_size(one.get()) == 0) continue;
        soup_message_body_append_bytes(body, one.get());
      } else {
        soup_message_body_append_bytes(body, data);
      }
      wrote = true;
    }
  }
  const bool done = *s.finished || lost || late || (seg && seg->complete);
  if (done && !*s.finished) soup_message_body_complete(body);
  if ((wrote || done) && !*s.finished) soup_server_message_unpause(s.msg.get());
  return done;
}

void CmafStreamers::feed(const CmafWindow& window) {
  for (auto it = streamers_.begin(); it != streamers_.end();) {
    if (pump(*it, window))
      it = streamers_.erase(it);
    else
      ++it;
  }
}

void CmafStreamers::end_all() {
  for (auto& s : streamers_) {
    if (*s.finished) continue;
    soup_message_body_complete(soup_server_message_get_response_body(s.msg.get()));
    soup_server_message_unpause(s.msg.get());
  }
  streamers_.clear();
  timer_ = SourceGuard();
  timer_running_ = false;
}

}  // namespace estuary::server
