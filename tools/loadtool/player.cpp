// Owns: the load tool's player: HTTP-FLV / HTTP-TS (GET, optional chunked transfer) and RTMP play
// (simple handshake, connect, createStream, play, SetBufferLength, acks, pings), and the checks and
// measurements per received frame (start-up, latency, framing, keyframe start).
#include <sys/epoll.h>
#include <unistd.h>

#include <cstring>

#include "session.h"

namespace estuary::load {

bool Player::start(const Endpoint& ep) {
  connect_start_us = now_us();
  std::string err;
  if (!open(shared_, ep, &err)) {
    fail(err);
    return false;
  }
  return true;
}

void Player::on_event(uint32_t events) {
  if (failed || closed) return;
  if (!connected_) {
    if (events & (EPOLLERR | EPOLLHUP)) {
      int so = 0;
      socklen_t len = sizeof so;
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &so, &len);
      fail(std::string("connect: ") + std::strerror(so ? so : ECONNREFUSED));
      return;
    }
    if (!(events & EPOLLOUT)) return;
    connected_ = true;
    on_connected();
    if (failed) return;
  }
  if (events & EPOLLOUT) {
    if (!flush_out()) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    read_all(shared_, events, [this](const uint8_t* p, size_t n) {
      const int64_t now = now_us();
      if (first_byte_us == 0) first_byte_us = now;
      bytes += n;
      on_data(p, n, now);
    });
    if (closed && fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
}

void Player::on_connected() {
  if (url_.scheme == "http") {
    std::string req = "GET " + url_.path + " HTTP/1.1\r\nHost: " + url_.host + ":" + std::to_string(url_.port) +
                      "\r\nUser-Agent: estuary-load\r\nAccept: */*\r\nConnection: close\r\n\r\n";
    out_.insert(out_.end(), req.begin(), req.end());
  } else {
    out_.push_back(3);  // C0
    const size_t c1 = out_.size();
    out_.resize(c1 + kHandshakeSize, 0);
    for (size_t i = 8; i < kHandshakeSize; ++i) out_[c1 + i] = uint8_t(i * 7 + 13);
  }
  flush_out();
}

void Player::send_command(uint32_t csid, uint32_t sid, std::vector<uint8_t> body) {
  write_chunked(out_, csid, kCommandAmf0, 0, sid, body.data(), body.size(), 128);
}

void Player::on_data(const uint8_t* p, size_t n, int64_t now) {
  if (url_.scheme == "rtmp") return on_rtmp(p, n, now);
  if (!head_done_) {
    // The response head is short; collect it byte-wise up to the blank line.
    size_t i = 0;
    for (; i < n && !head_done_; ++i) {
      head_.push_back(char(p[i]));
      if (head_.size() >= 4 && head_.compare(head_.size() - 4, 4, "\r\n\r\n") == 0) head_done_ = true;
      if (head_.size() > 16384) return fail("HTTP response head too long");
    }
    if (!head_done_) return;
    if (head_.compare(0, 9, "HTTP/1.1 ") != 0 && head_.compare(0, 9, "HTTP/1.0 ") != 0) {
      return fail("not an HTTP response");
    }
    if (head_.compare(9, 3, "200") != 0) return fail("HTTP " + head_.substr(9, head_.find('\r') - 9));
    std::string lower = head_;
    for (char& c : lower) c = char(std::tolower(static_cast<unsigned char>(c)));
    chunked_ = lower.find("transfer-encoding: chunked") != std::string::npos;
    play_confirmed = true;
    p += i;
    n -= i;
  }
  if (n == 0) return;
  if (chunked_) return on_chunked(p, n, now);
  on_http_body(p, n, now);
}

void Player::on_chunked(const uint8_t* p, size_t n, int64_t now) {
  while (n > 0) {
    if (chunk_state_ == 0) {
      char c = char(*p++);
      --n;
      if (c != '\n') {
        if (chunk_line_.size() > 64) return fail("bad chunked encoding");
        chunk_line_.push_back(c);
        continue;
      }
      chunk_left_ = std::strtoull(chunk_line_.c_str(), nullptr, 16);
      chunk_line_.clear();
      if (chunk_left_ == 0) {
        closed = true;
        error = "stream ended";
        return;
      }
      chunk_state_ = 1;
    } else if (chunk_state_ == 1) {
      size_t take = size_t(std::min<uint64_t>(n, chunk_left_));
      on_http_body(p, take, now);
      p += take;
      n -= take;
      chunk_left_ -= take;
      if (chunk_left_ == 0) {
        chunk_state_ = 2;
        chunk_left_ = 2;
      }
    } else {
      size_t take = size_t(std::min<uint64_t>(n, chunk_left_));
      p += take;
      n -= take;
      chunk_left_ -= take;
      if (chunk_left_ == 0) chunk_state_ = 0;
    }
  }
}

void Player::on_http_body(const uint8_t* p, size_t n, int64_t now) {
  if (url_.format == "ts") {
    ts_.feed(p, n, [&](const TsStreamParser::Event& ev) {
      last_media_us = now;
      if (ev.video_frame) {
        ++video_frames;
        if (!seen_frame_ && first_kf_us == 0 && !ts_.idr_seen()) seen_frame_ = true;
      }
      if (ev.idr && first_kf_us == 0) first_kf_us = now;
    });
    if (ts_.broken()) framing_error = true;
    return;
  }
  flv_.feed(p, n, [&](const MediaInfo& m) { on_media(m, now); });
  if (flv_.broken() && !framing_error) framing_error = true;
}

void Player::on_media(const MediaInfo& m, int64_t now) {
  last_media_us = now;
  if (m.type == 8 && !m.is_sequence_header()) {
    if (shared_.measuring) {
      const int64_t sent = shared_.sent_time(media_key(8, m.key));
      if (sent >= 0) shared_.audio_latency.add(now - sent);
    }
    return;
  }
  if (m.type != 9) return;
  if (m.is_sequence_header()) {
    seen_seq_header_ = true;
    return;
  }
  if (!m.is_video_frame()) return;
  ++video_frames;
  const bool kf = m.is_video_keyframe();
  if (!seen_frame_) {
    seen_frame_ = true;
    if (!kf || !seen_seq_header_) bad_start = true;
  }
  if (kf && first_kf_us == 0) first_kf_us = now;
  if (shared_.measuring) {
    const int64_t sent = shared_.sent_time(media_key(9, m.key));
    if (sent >= 0) shared_.latency.add(now - sent);
  }
}

void Player::on_rtmp(const uint8_t* p, size_t n, int64_t now) {
  if (!hs_done_) {
    const size_t want = 1 + 2 * kHandshakeSize;
    const size_t take = std::min(n, want - hs_.size());
    hs_.insert(hs_.end(), p, p + take);
    p += take;
    n -= take;
    if (hs_.size() < want) return;
    hs_done_ = true;
    // C2 echoes S1; then connect.
    out_.insert(out_.end(), hs_.begin() + 1, hs_.begin() + 1 + long(kHandshakeSize));
    hs_.clear();
    hs_.shrink_to_fit();
    AmfWriter w;
    w.string("connect").number(1).begin_object();
    w.key("app").string(url_.app);
    w.key("flashVer").string("LNX 9,0,124,2");
    w.key("tcUrl").string(url_.tc_url);
    w.key("fpad").boolean(false);
    w.key("capabilities").number(15);
    w.key("audioCodecs").number(4071);
    w.key("videoCodecs").number(252);
    w.key("videoFunction").number(1);
    w.key("objectEncoding").number(0);
    w.end_object();
    send_command(3, 0, std::move(w.bytes()));
    flush_out();
    if (n == 0) return;
  }
  rtmp_in_ += n;
  const bool ok = reader_.feed(p, n, [&](const RtmpMessage& m) { on_rtmp_message(m, now); });
  if (!ok) {
    framing_error = true;
    return fail("RTMP: " + reader_.error());
  }
  if (ack_window_ > 0 && rtmp_in_ - last_ack_ >= ack_window_) {
    write_control(out_, kAck, uint32_t(rtmp_in_));
    last_ack_ = rtmp_in_;
  }
  if (!out_.empty()) flush_out();
}

void Player::on_rtmp_message(const RtmpMessage& m, int64_t now) {
  const uint8_t type = m.info.type;
  if (type == kAudio || type == kVideo) return on_media(m.info, now);
  const std::vector<uint8_t>& body = *m.payload;
  if (type == kWindowAckSize && body.size() >= 4) {
    ack_window_ = be32(body.data());
    return;
  }
  if (type == kUserControl && body.size() >= 6) {
    const uint16_t event = uint16_t((body[0] << 8) | body[1]);
    if (event == 6) write_user_control(out_, 7, be32(body.data() + 2));  // ping -> pong
    return;
  }
  if (type != kCommandAmf0) return;
  auto v = amf_decode_all(body.data(), body.size());
  if (v.empty() || v[0].type != Amf::Type::string) return;
  const std::string& name = v[0].str;
  const double txn = v.size() > 1 ? v[1].num : 0;
  if (name == "_result" && txn == 1) {
    AmfWriter w;
    w.string("createStream").number(2).null();
    send_command(3, 0, std::move(w.bytes()));
  } else if (name == "_result" && txn == 2) {
    stream_id_ = v.size() > 3 ? uint32_t(v[3].num) : 1;
    AmfWriter w;
    w.string("play").number(0).null().string(url_.stream).number(-2000);
    send_command(8, stream_id_, std::move(w.bytes()));
    write_user_control(out_, 3, stream_id_, options_.buffer_ms);
  } else if (name == "_error") {
    std::string desc = v.size() > 3 ? v[3].get_string("description") : std::string();
    return fail("RTMP _error: " + desc);
  } else if (name == "onStatus" && v.size() > 3) {
    const std::string level = v[3].get_string("level");
    const std::string code = v[3].get_string("code");
    if (level == "error") return fail("RTMP " + code);
    if (code == "NetStream.Play.Start" || code == "NetStream.Play.Reset") play_confirmed = true;
  }
}

}  // namespace estuary::load
