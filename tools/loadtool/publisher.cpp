// Owns: the load tool's RTMP publisher: simple handshake, Set Chunk Size 4096, connect,
// releaseStream / FCPublish / createStream / publish, then the FLV file's tags as RTMP messages
// paced by their timestamps (optionally looped). Records when each video frame has been handed
// to the socket, for the players' latency measurement.
#include <sys/epoll.h>
#include <unistd.h>

#include <cstring>

#include "session.h"

namespace estuary::load {
namespace {
constexpr uint32_t kChunkSize = 4096;
constexpr uint32_t kCsidData = 5, kCsidAudio = 4, kCsidVideo = 6, kCsidStream = 8;
}  // namespace

bool Publisher::start(const Endpoint& ep) {
  std::string err;
  if (!open(shared_, ep, &err)) {
    fail(err);
    return false;
  }
  if (!tags_.empty()) base_ts_ = tags_.front().ts;
  return true;
}

void Publisher::send_command(uint32_t csid, uint32_t sid, std::vector<uint8_t> body) {
  write_chunked(out_, csid, kCommandAmf0, 0, sid, body.data(), body.size(), kChunkSize);
}

void Publisher::on_event(uint32_t events) {
  if (failed || closed) return;
  if (!connected_) {
    if (events & (EPOLLERR | EPOLLHUP)) {
      int so = 0;
      socklen_t len = sizeof so;
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &so, &len);
      fail(std::string("publisher connect: ") + std::strerror(so ? so : ECONNREFUSED));
      return;
    }
    if (!(events & EPOLLOUT)) return;
    connected_ = true;
    on_connected();
  }
  if ((events & EPOLLOUT) && !out_.empty()) {
    if (!flush_out()) return;
    note_written(now_us());
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    read_all(shared_, events, [this](const uint8_t* p, size_t n) {
      if (!hs_done_) {
        const size_t want = 1 + 2 * kHandshakeSize;
        const size_t take = std::min(n, want - hs_.size());
        hs_.insert(hs_.end(), p, p + take);
        p += take;
        n -= take;
        if (hs_.size() < want) return;
        hs_done_ = true;
        out_.insert(out_.end(), hs_.begin() + 1, hs_.begin() + 1 + long(kHandshakeSize));  // C2
        write_control(out_, kSetChunkSize, kChunkSize);
        AmfWriter w;
        w.string("connect").number(1).begin_object();
        w.key("app").string(url_.app);
        w.key("type").string("nonprivate");
        w.key("flashVer").string("FMLE/3.0 (compatible; estuary-load)");
        w.key("tcUrl").string(url_.tc_url);
        w.end_object();
        send_command(3, 0, std::move(w.bytes()));
      }
      rtmp_in_ += n;
      if (n > 0 && !reader_.feed(p, n, [this](const RtmpMessage& m) { on_rtmp_message(m); })) {
        fail("publisher RTMP: " + reader_.error());
        return;
      }
      if (ack_window_ > 0 && rtmp_in_ - last_ack_ >= ack_window_) {
        write_control(out_, kAck, uint32_t(rtmp_in_));
        last_ack_ = rtmp_in_;
      }
    });
    if (closed) {
      if (error.empty() || error == "closed by server") error = "publisher: closed by server";
      failed = true;
      return;
    }
    if (!failed && !out_.empty()) flush_out();
  }
}

void Publisher::on_connected() {
  out_.push_back(3);
  const size_t c1 = out_.size();
  out_.resize(c1 + kHandshakeSize, 0);
  for (size_t i = 8; i < kHandshakeSize; ++i) out_[c1 + i] = uint8_t(i * 5 + 1);
  flush_out();
}

void Publisher::on_rtmp_message(const RtmpMessage& m) {
  const std::vector<uint8_t>& body = *m.payload;
  if (m.info.type == kWindowAckSize && body.size() >= 4) {
    ack_window_ = be32(body.data());
    return;
  }
  if (m.info.type == kUserControl && body.size() >= 6) {
    if (((body[0] << 8) | body[1]) == 6) write_user_control(out_, 7, be32(body.data() + 2));
    return;
  }
  if (m.info.type != kCommandAmf0) return;
  auto v = amf_decode_all(body.data(), body.size());
  if (v.empty() || v[0].type != Amf::Type::string) return;
  const std::string& name = v[0].str;
  const double txn = v.size() > 1 ? v[1].num : 0;
  if (name == "_result" && txn == 1) {
    AmfWriter a, b, c;
    a.string("releaseStream").number(2).null().string(url_.stream);
    b.string("FCPublish").number(3).null().string(url_.stream);
    c.string("createStream").number(4).null();
    send_command(3, 0, std::move(a.bytes()));
    send_command(3, 0, std::move(b.bytes()));
    send_command(3, 0, std::move(c.bytes()));
  } else if (name == "_result" && txn == 4) {
    stream_id_ = v.size() > 3 ? uint32_t(v[3].num) : 1;
    AmfWriter w;
    w.string("publish").number(5).null().string(url_.stream).string("live");
    send_command(kCsidStream, stream_id_, std::move(w.bytes()));
  } else if (name == "_error" && (txn == 1 || txn == 4 || txn == 5)) {
    fail("publisher: _error for transaction " + std::to_string(int(txn)));
  } else if (name == "onStatus" && v.size() > 3) {
    const std::string code = v[3].get_string("code");
    if (v[3].get_string("level") == "error") {
      fail("publisher: " + code);
    } else if (code == "NetStream.Publish.Start" && !publishing) {
      publishing = true;
      publish_start_us = now_us();
    }
  }
}

int64_t Publisher::tick(int64_t now) {
  if (!publishing || failed || closed || finished || tags_.empty()) return 0;
  const size_t before = out_.size();
  int64_t next_due = 0;
  while (true) {
    if (next_tag_ >= tags_.size()) {
      if (!loop_) {
        finished = true;
        break;
      }
      ++loops_;
      next_tag_ = 0;
      loop_offset_ms_ += int64_t(tags_.back().ts - base_ts_) + 33;
    }
    const FlvTag& t = tags_[next_tag_];
    const int64_t ts = int64_t(t.ts - base_ts_) + loop_offset_ms_;
    const int64_t due = publish_start_us + ts * 1000;
    if (due > now) {
      next_due = due;
      break;
    }
    ++next_tag_;
    // Metadata and codec headers go out once; repeating them on each loop would restart decoders.
    if (loops_ > 0 && (t.type == 18 || t.is_sequence_header())) continue;
    if (t.type == 18) {
      AmfWriter w;
      w.string("@setDataFrame");
      std::vector<uint8_t> body = std::move(w.bytes());
      body.insert(body.end(), t.body.begin(), t.body.end());
      write_chunked(out_, kCsidData, kDataAmf0, uint32_t(ts), stream_id_, body.data(), body.size(), kChunkSize);
      continue;
    }
    const uint32_t csid = t.type == 8 ? kCsidAudio : kCsidVideo;
    write_chunked(out_, csid, t.type, uint32_t(ts), stream_id_, t.body.data(), t.body.size(), kChunkSize);
    media_bytes += t.body.size();
    const bool video_frame = t.type == 9 && t.body.size() >= 2 && t.body[1] == 1;
    const bool audio_frame = t.type == 8 && !t.is_sequence_header();
    if (video_frame) ++video_frames;
    if (video_frame || audio_frame) {
      pending_keys_.emplace_back(out_total_ + (out_.size() - out_off_),
                                 media_key(t.type, frame_key(t.body.data(), t.body.size())));
    }
  }
  if (out_.size() != before) {
    if (!flush_out()) return 0;
    note_written(now);
  }
  return next_due;
}

void Publisher::note_written(int64_t now) {
  while (!pending_keys_.empty() && pending_keys_.front().first <= out_total_) {
    shared_.note_sent(pending_keys_.front().second, now);
    pending_keys_.pop_front();
  }
}

}  // namespace estuary::load
