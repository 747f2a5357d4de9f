// Owns: the Session's byte flow (handshake -> chunk reader -> messages), protocol control handling,
// media delivery (including aggregate splitting and @setDataFrame unwrapping) and output helpers.
// NetConnection / NetStream commands live in session_commands.cpp.
#include "server/protocols/rtmp/session.h"

#include <algorithm>

#include "common/log.h"

namespace estuary::rtmp {

namespace {

ChunkReaderLimits reader_limits(const SessionLimits& l) {
  ChunkReaderLimits r;
  r.max_message_size = l.max_message_size;
  r.max_partial_streams = l.max_partial_streams;
  // Interleaved audio and video can each hold a large partial message at once.
  r.max_buffered_bytes = std::max<size_t>(2 * l.max_message_size, 1u << 20);
  return r;
}

Amf0Limits data_limits() {
  Amf0Limits l;
  l.max_depth = 16;
  l.max_elements = 4096;
  l.max_string_length = 64u << 10;
  return l;
}

uint32_t read_u24(const uint8_t* p) { return (uint32_t(p[0]) << 16) | (uint32_t(p[1]) << 8) | p[2]; }

}  // namespace

Session::Session(SessionDelegate& delegate, SessionLimits limits)
    : delegate_(delegate), limits_(limits), reader_(reader_limits(limits)) {
  if (limits_.out_chunk_size == 0) limits_.out_chunk_size = kDefaultChunkSize;
  limits_.out_chunk_size = std::min<uint32_t>(limits_.out_chunk_size, 0x7FFFFFFF);
}

Status Session::feed(const uint8_t* data, size_t size) {
  if (failed_) return error_;
  ack_.add(size);
  size_t pos = 0;
  if (!handshake_.done()) {
    Result<size_t> used = handshake_.feed(data, size);
    std::vector<uint8_t> hs = handshake_.take_output();
    out_.insert(out_.end(), hs.begin(), hs.end());
    if (!used.ok()) {
      failed_ = true;
      error_ = used.error();
      log_debug("", log_id_, "rtmp-handshake", used.error().message);
      return error_;
    }
    pos = *used;
    if (handshake_.done()) {
      log_debug("", log_id_, "rtmp-handshake",
                handshake_.kind() == HandshakeKind::complex ? "complex handshake done" : "simple handshake done");
    }
  }
  if (pos < size && handshake_.done()) {
    std::vector<Message> messages;
    Status parsed = reader_.feed(data + pos, size - pos, messages);
    // Messages completed before a parse error are still acted on; then the error wins.
    for (const Message& m : messages) {
      if (Status st = handle_message(m); !st.ok()) {
        failed_ = true;
        error_ = st.error();
        log_debug(stream_label(), log_id_, "rtmp-error", error_.message);
        return error_;
      }
    }
    if (!parsed.ok()) {
      failed_ = true;
      error_ = parsed.error();
      log_debug(stream_label(), log_id_, "rtmp-error", error_.message);
      return error_;
    }
  }
  if (ack_.due()) append_acknowledgement(out_, ack_.take_sequence(), out_chunk_size_);
  return ok_status();
}

std::vector<uint8_t> Session::take_output() {
  std::vector<uint8_t> out;
  out.swap(out_);
  return out;
}

Status Session::handle_message(const Message& m) {
  switch (m.type) {
    case msg::set_chunk_size:
    case msg::abort:
      return ok_status();  // applied by the chunk reader
    case msg::acknowledgement:
    case msg::user_control:
    case msg::window_ack_size:
    case msg::set_peer_bandwidth:
      return handle_control(m);
    case msg::audio:
    case msg::video:
      if (state_ != StreamState::publishing) {
        dropped_media_++;
        return ok_status();
      }
      deliver_media(m.type == msg::audio ? MediaType::audio : MediaType::video, m.timestamp, m.payload.data(),
                    m.payload.size());
      return ok_status();
    case msg::amf0_data:
    case msg::amf3_data: {
      const uint8_t* p = m.payload.data();
      size_t n = m.payload.size();
      // AMF3 data messages start with a format byte and then carry AMF0 values.
      if (m.type == msg::amf3_data && n > 0 && p[0] == 0) {
        p++;
        n--;
      }
      return handle_data(p, n, m.timestamp);
    }
    case msg::amf0_command:
    case msg::amf3_command:
      return handle_command(m);
    case msg::aggregate:
      return handle_aggregate(m);
    default:
      // Shared objects and unknown types carry nothing a live server needs.
      return ok_status();
  }
}

Status Session::handle_control(const Message& m) {
  const uint8_t* p = m.payload.data();
  size_t n = m.payload.size();
  switch (m.type) {
    case msg::acknowledgement:
      return ok_status();
    case msg::window_ack_size: {
      Result<uint32_t> v = parse_u32_payload(p, n);
      if (!v.ok()) return v.error();
      ack_.set_window(*v);
      return ok_status();
    }
    case msg::set_peer_bandwidth:
      return ok_status();
    case msg::user_control: {
      Result<UserControlEvent> ev = parse_user_control(p, n);
      if (!ev.ok()) return ev.error();
      switch (static_cast<UserControlType>(ev->type)) {
        case UserControlType::ping_request:
          append_user_control(out_, UserControlType::ping_response, ev->value, out_chunk_size_);
          break;
        case UserControlType::ping_response:
          last_ping_response_ = ev->value;
          break;
        default:
          break;
      }
      return ok_status();
    }
    default:
      return ok_status();
  }
}

void Session::deliver_media(MediaType type, uint32_t timestamp, const uint8_t* payload, size_t size) {
  if (size == 0) return;
  delegate_.on_media(type, timestamp, payload, size);
}

Status Session::handle_data(const uint8_t* payload, size_t size, uint32_t timestamp) {
  if (state_ != StreamState::publishing) {
    // Players send nothing we need as data; a pending publisher's metadata comes again later.
    dropped_media_++;
    return ok_status();
  }
  Amf0Decoder dec(payload, size, data_limits());
  Result<Amf0Value> name = dec.next();
  if (!name.ok() || !name->is_string()) {
    log_debug(stream_label(), log_id_, "rtmp-data", "ignored data message without a name");
    return ok_status();
  }
  const std::string& n = name->as_string();
  if (n == "@setDataFrame") {
    size_t rest = dec.offset();
    Result<Amf0Value> inner = dec.next();
    if (!inner.ok() || !inner->is_string()) {
      log_debug(stream_label(), log_id_, "rtmp-data", "ignored malformed @setDataFrame");
      return ok_status();
    }
    deliver_media(MediaType::data, timestamp, payload + rest, size - rest);
    return ok_status();
  }
  if (n == "@clearDataFrame") return ok_status();
  deliver_media(MediaType::data, timestamp, payload, size);
  return ok_status();
}

Status Session::handle_aggregate(const Message& m) {
  if (state_ != StreamState::publishing) {
    dropped_media_++;
    return ok_status();
  }
  const uint8_t* p = m.payload.data();
  size_t size = m.payload.size();
  size_t pos = 0;
  size_t count = 0;
  uint32_t first_ts = 0;
  while (pos < size) {
    // Sub-message: type(1) size(3) timestamp(3) timestamp-high(1) stream id(3) body back-pointer(4).
    if (size - pos < 11) return Error{"rtmp: truncated aggregate sub-message header", ErrorReason::invalid, "rtmp"};
    if (++count > limits_.max_aggregate_messages)
      return Error{"rtmp: too many aggregate sub-messages", ErrorReason::invalid, "rtmp"};
    uint8_t type = p[pos];
    uint32_t len = read_u24(p + pos + 1);
    uint32_t ts = read_u24(p + pos + 4) | (uint32_t(p[pos + 7]) << 24);
    pos += 11;
    if (len > size - pos)
      return Error{"rtmp: aggregate sub-message exceeds its container", ErrorReason::invalid, "rtmp"};
    const uint8_t* body = p + pos;
    pos += len;
    // The trailing back-pointer is sometimes left off the last sub-message.
    pos += std::min<size_t>(4, size - pos);
    if (count == 1) first_ts = ts;
    // Sub-message timestamps are relative to the first one; the aggregate's own timestamp anchors them.
    uint32_t out_ts = m.timestamp + (ts - first_ts);
    if (type == msg::audio) {
      deliver_media(MediaType::audio, out_ts, body, len);
    } else if (type == msg::video) {
      deliver_media(MediaType::video, out_ts, body, len);
    } else if (type == msg::amf0_data) {
      if (Status st = handle_data(body, len, out_ts); !st.ok()) return st;
    }
    if (state_ != StreamState::publishing) break;  // the delegate may have stopped the publish
  }
  return ok_status();
}

void Session::send_command(uint32_t chunk_stream, uint32_t stream_id, const std::vector<Amf0Value>& values) {
  std::vector<uint8_t> body = amf0_encode_all(values);
  append_message(out_, chunk_stream, msg::amf0_command, 0, stream_id, body.data(), body.size(), out_chunk_size_);
}

void Session::send_data(uint32_t stream_id, const std::vector<Amf0Value>& values) {
  std::vector<uint8_t> body = amf0_encode_all(values);
  append_message(out_, csid::stream_command, msg::amf0_data, 0, stream_id, body.data(), body.size(), out_chunk_size_);
}

void Session::send_result(double txn, Amf0Value value) {
  send_command(csid::command, 0,
               {Amf0Value::string("_result"), Amf0Value::number(txn), Amf0Value::null(), std::move(value)});
}

void Session::send_status(const char* level, const std::string& code, const std::string& description) {
  Amf0Value info = Amf0Value::object();
  info.set("level", Amf0Value::string(level));
  info.set("code", Amf0Value::string(code));
  info.set("description", Amf0Value::string(description));
  if (!log_id_.empty()) info.set("clientid", Amf0Value::string(log_id_));
  send_command(csid::stream_command, stream_msg_id_,
               {Amf0Value::string("onStatus"), Amf0Value::number(0), Amf0Value::null(), std::move(info)});
}

void Session::send_ping(uint32_t timestamp) {
  append_user_control(out_, UserControlType::ping_request, timestamp, out_chunk_size_);
}

uint32_t play_media_csid(MediaType type) {
  switch (type) {
    case MediaType::audio:
      return csid::audio;
    case MediaType::video:
      return csid::video;
    case MediaType::data:
      return csid::data;
  }
  return csid::data;
}

bool append_play_media(std::vector<uint8_t>& out, MediaType type, uint32_t timestamp, const uint8_t* payload,
                       size_t size, uint32_t chunk_size) {
  return append_message(out, play_media_csid(type), static_cast<uint8_t>(type), timestamp, kPlayStreamId, payload, size,
                        chunk_size);
}

}  // namespace estuary::rtmp
