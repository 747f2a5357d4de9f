// Owns: Link (see link.h).
#include "server/protocols/srt/link.h"

namespace estuary::srt {

Link::Link(SRTSOCKET socket, std::string stream_id, std::string peer_ip)
    : socket_(socket), stream_id_(std::move(stream_id)), peer_ip_(std::move(peer_ip)) {}

Link::~Link() { close(); }

void Link::close() {
  if (closed_.exchange(true)) return;
  srt_close(socket_);
}

void Link::set_handlers(Handlers handlers) {
  std::function<void(const std::string&)> late_broken;
  std::string reason;
  {
    std::lock_guard lock(mu_);
    handlers_ = std::move(handlers);
    if (broken_.load()) {
      late_broken = handlers_.on_broken;
      reason = broken_reason_;
      handlers_ = {};
    }
  }
  if (late_broken) late_broken(reason);
}

void Link::clear_handlers() {
  std::lock_guard lock(mu_);
  handlers_ = {};
}

void Link::deliver(std::vector<uint8_t> data, int64_t now_us) {
  bytes_received_.fetch_add(data.size(), std::memory_order_relaxed);
  last_receive_us_.store(now_us, std::memory_order_relaxed);
  std::function<void(std::vector<uint8_t>)> on_data;
  {
    std::lock_guard lock(mu_);
    on_data = handlers_.on_data;
  }
  // Called outside the lock: the handler may take a while (it copies into a post) and must be
  // free to clear the handlers.
  if (on_data)
    on_data(std::move(data));
  else
    bytes_dropped_.fetch_add(data.size(), std::memory_order_relaxed);
}

void Link::mark_broken(const std::string& reason) {
  std::function<void(const std::string&)> on_broken;
  {
    std::lock_guard lock(mu_);
    if (broken_.exchange(true)) return;
    broken_reason_ = reason;
    on_broken = handlers_.on_broken;
    if (on_broken) handlers_ = {};
  }
  if (on_broken) on_broken(reason);
}

LinkStats Link::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void Link::sample_stats() {
  if (closed_.load()) return;
  SRT_TRACEBSTATS perf{};
  if (srt_bstats(socket_, &perf, 1) != 0) return;
  LinkStats s;
  s.rtt_ms = perf.msRTT;
  s.send_mbps = perf.mbpsSendRate;
  s.recv_mbps = perf.mbpsRecvRate;
  s.bandwidth_mbps = perf.mbpsBandwidth;
  s.pkt_sent = perf.pktSentTotal;
  s.pkt_recv = perf.pktRecvTotal;
  s.pkt_lost = int64_t(perf.pktSndLossTotal) + perf.pktRcvLossTotal;
  // libsrt keeps no total of retransmissions received: add up the interval counts (cleared above).
  rcv_retrans_total_ += perf.pktRcvRetrans;
  s.pkt_retrans = int64_t(perf.pktRetransTotal) + rcv_retrans_total_;
  s.pkt_dropped = int64_t(perf.pktSndDropTotal) + perf.pktRcvDropTotal;
  s.latency_ms = perf.msRcvTsbPdDelay > perf.msSndTsbPdDelay ? perf.msRcvTsbPdDelay : perf.msSndTsbPdDelay;
  std::lock_guard lock(mu_);
  stats_ = s;
}

}  // namespace estuary::srt
