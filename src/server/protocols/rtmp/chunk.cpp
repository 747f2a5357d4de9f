// Owns: the chunk stream reader state machine and the stateless chunk writer (see chunk.h).
#include "server/protocols/rtmp/chunk.h"

#include <algorithm>
#include <string>

namespace estuary::rtmp {

namespace {

constexpr size_t kMaxHeaderSize = 3 + 11 + 4;  // basic + type-0 message header + extended timestamp
constexpr size_t kMessageHeaderSize[4] = {11, 7, 3, 0};

uint32_t read_u24(const uint8_t* p) { return (uint32_t(p[0]) << 16) | (uint32_t(p[1]) << 8) | p[2]; }
uint32_t read_u32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
uint32_t read_u32_le(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

Error chunk_error(std::string what) { return Error{"rtmp chunk: " + std::move(what), ErrorReason::invalid, "rtmp"}; }

size_t basic_header_size(uint32_t csid) { return csid < 64 ? 1 : (csid < 320 ? 2 : 3); }

void put_basic_header(std::vector<uint8_t>& out, uint8_t fmt, uint32_t csid) {
  uint8_t top = static_cast<uint8_t>(fmt << 6);
  if (csid < 64) {
    out.push_back(static_cast<uint8_t>(top | csid));
  } else if (csid < 320) {
    out.push_back(top);
    out.push_back(static_cast<uint8_t>(csid - 64));
  } else {
    uint32_t v = csid - 64;
    out.push_back(static_cast<uint8_t>(top | 1));
    out.push_back(static_cast<uint8_t>(v & 0xFF));
    out.push_back(static_cast<uint8_t>(v >> 8));
  }
}

void put_u24(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v >> 16));
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

}  // namespace

ChunkReader::ChunkReader(ChunkReaderLimits limits) : limits_(limits) {}

Status ChunkReader::fail(Error e) {
  failed_ = true;
  error_ = e;
  return e;
}

ChunkReader::ParseResult ChunkReader::parse_header(const uint8_t* p, size_t n, Header& h, Error& err) const {
  if (n < 1) return ParseResult::need_more;
  h.fmt = p[0] >> 6;
  uint32_t low = p[0] & 0x3F;
  size_t i = 1;
  if (low == 0) {
    if (n < 2) return ParseResult::need_more;
    h.csid = 64 + p[1];
    i = 2;
  } else if (low == 1) {
    if (n < 3) return ParseResult::need_more;
    h.csid = 64 + p[1] + (uint32_t(p[2]) << 8);
    i = 3;
  } else {
    h.csid = low;
  }

  auto it = streams_.find(h.csid);
  const Stream* s = it == streams_.end() ? nullptr : &it->second;
  // A fresh chunk stream must start with a full header; type 1 is tolerated (stream id 0 assumed)
  // because some librtmp-derived encoders open chunk streams that way.
  if ((s == nullptr || !s->has_header) && h.fmt >= 2) {
    err = chunk_error("chunk stream " + std::to_string(h.csid) + " starts with a type " + std::to_string(h.fmt) +
                      " header");
    return ParseResult::error;
  }

  size_t mh = kMessageHeaderSize[h.fmt];
  if (n < i + mh) return ParseResult::need_more;
  const uint8_t* m = p + i;
  if (h.fmt <= 2) h.ts_field = read_u24(m);
  if (h.fmt <= 1) {
    h.length = read_u24(m + 3);
    h.type = m[6];
  }
  if (h.fmt == 0) h.stream_id = read_u32_le(m + 7);
  i += mh;

  if (h.fmt <= 2) {
    if (h.ts_field == kTimestampExtended) {
      if (n < i + 4) return ParseResult::need_more;
      h.has_ext = true;
      h.ext = read_u32(p + i);
      i += 4;
    }
  } else if (s->extended) {
    if (s->ext_repeat == ExtRepeat::repeated) {
      if (n < i + 4) return ParseResult::need_more;
      h.has_ext = true;
      h.ext = read_u32(p + i);
      i += 4;
    } else if (s->ext_repeat == ExtRepeat::unknown) {
      if (n < i + 4) return ParseResult::need_more;
      uint32_t v = read_u32(p + i);
      if (v == s->extended_value) {
        h.has_ext = true;
        h.ext = v;
        h.ext_decided_repeat = true;
        i += 4;
      } else {
        h.ext_decided_omit = true;
      }
    }
  }
  h.consumed = i;
  return ParseResult::ok;
}

void ChunkReader::discard_partial(Stream& s) {
  if (!s.in_progress) return;
  buffered_ -= s.payload.size();
  partial_streams_--;
  s.in_progress = false;
  s.payload = std::vector<uint8_t>();
}

Status ChunkReader::apply_header(const Header& h, std::vector<Message>& out) {
  auto it = streams_.find(h.csid);
  if (it == streams_.end()) {
    if (streams_.size() >= limits_.max_chunk_streams) return fail(chunk_error("too many chunk streams"));
    it = streams_.emplace(h.csid, Stream{}).first;
  }
  Stream& s = it->second;
  if (h.ext_decided_repeat) s.ext_repeat = ExtRepeat::repeated;
  if (h.ext_decided_omit) s.ext_repeat = ExtRepeat::omitted;

  // A full header in the middle of a message is a protocol error; tolerated by dropping the
  // unfinished message, which is what a peer that restarted the message expects.
  if (h.fmt != 3 && s.in_progress) discard_partial(s);

  bool new_message = h.fmt != 3 || !s.in_progress;
  if (h.fmt <= 2) {
    uint32_t value = h.has_ext ? h.ext : h.ts_field;
    s.extended = h.has_ext;
    s.extended_value = h.ext;
    s.delta = value;
    if (h.fmt == 0) {
      s.timestamp = value;
      s.stream_id = h.stream_id;
    } else {
      s.timestamp += value;
    }
    if (h.fmt <= 1) {
      s.length = h.length;
      s.type = h.type;
    }
  } else if (new_message) {
    // A type-3 chunk that starts a message repeats the previous delta (the extended value when the
    // peer repeated it, which is how FFmpeg reads it).
    s.timestamp += h.has_ext ? h.ext : s.delta;
  }
  s.has_header = true;

  if (new_message) {
    if (Status st = start_message(s, h.csid, out); !st.ok()) return st;
  }
  if (s.in_progress) {
    payload_csid_ = h.csid;
    payload_left_ = std::min<size_t>(chunk_size_, s.length - s.payload.size());
  }
  return ok_status();
}

Status ChunkReader::start_message(Stream& s, uint32_t csid_value, std::vector<Message>& out) {
  if (s.length > limits_.max_message_size) {
    return fail(chunk_error("message length " + std::to_string(s.length) + " exceeds limit " +
                            std::to_string(limits_.max_message_size)));
  }
  if (s.length == 0) return complete_message(csid_value, s, out);
  if (partial_streams_ >= limits_.max_partial_streams) return fail(chunk_error("too many partial messages"));
  s.in_progress = true;
  partial_streams_++;
  // Memory follows the bytes that actually arrive, never the declared length alone.
  s.payload.reserve(std::min<size_t>(s.length, chunk_size_));
  return ok_status();
}

Status ChunkReader::take_payload(const uint8_t* p, size_t n, std::vector<Message>& out) {
  Stream& s = streams_[payload_csid_];
  if (buffered_ + n > limits_.max_buffered_bytes) return fail(chunk_error("too many buffered bytes"));
  size_t need = s.payload.size() + n;
  if (s.payload.capacity() < need) {
    s.payload.reserve(std::max(need, std::min<size_t>(s.length, s.payload.capacity() * 2)));
  }
  s.payload.insert(s.payload.end(), p, p + n);
  buffered_ += n;
  payload_left_ -= n;
  if (payload_left_ == 0 && s.payload.size() == s.length) return complete_message(payload_csid_, s, out);
  return ok_status();
}

Status ChunkReader::complete_message(uint32_t csid_value, Stream& s, std::vector<Message>& out) {
  Message m;
  m.csid = csid_value;
  m.type = s.type;
  m.timestamp = s.timestamp;
  m.stream_id = s.stream_id;
  if (s.in_progress) {
    buffered_ -= s.payload.size();
    partial_streams_--;
    s.in_progress = false;
    m.payload = std::move(s.payload);
    s.payload = std::vector<uint8_t>();
  }
  if (m.type == msg::set_chunk_size || m.type == msg::abort) {
    if (Status st = apply_control(m); !st.ok()) return fail(st.error());
  }
  out.push_back(std::move(m));
  return ok_status();
}

Status ChunkReader::apply_control(const Message& m) {
  if (m.payload.size() < 4) return chunk_error("short protocol control message");
  uint32_t v = read_u32(m.payload.data());
  if (m.type == msg::set_chunk_size) {
    // The top bit must be zero; as a signed value it would be negative.
    if (v == 0 || v > 0x7FFFFFFF) return chunk_error("invalid chunk size " + std::to_string(v));
    if (v > limits_.max_chunk_size) return chunk_error("chunk size " + std::to_string(v) + " above limit");
    chunk_size_ = v;
  } else {
    auto it = streams_.find(v);
    if (it != streams_.end()) discard_partial(it->second);
  }
  return ok_status();
}

Status ChunkReader::feed(const uint8_t* data, size_t size, std::vector<Message>& out) {
  if (failed_) return error_;
  size_t pos = 0;
  while (pos < size) {
    if (payload_left_ > 0) {
      size_t n = std::min(payload_left_, size - pos);
      if (Status st = take_payload(data + pos, n, out); !st.ok()) return st;
      pos += n;
      continue;
    }
    Header h;
    Error err;
    if (header_buf_.empty()) {
      ParseResult r = parse_header(data + pos, size - pos, h, err);
      if (r == ParseResult::error) return fail(err);
      if (r == ParseResult::need_more) {
        header_buf_.assign(data + pos, data + size);
        return ok_status();
      }
      pos += h.consumed;
      if (Status st = apply_header(h, out); !st.ok()) return st;
      continue;
    }
    // Complete a header split across feeds.
    size_t old = header_buf_.size();
    size_t take = std::min(kMaxHeaderSize - std::min(old, kMaxHeaderSize), size - pos);
    header_buf_.insert(header_buf_.end(), data + pos, data + pos + take);
    ParseResult r = parse_header(header_buf_.data(), header_buf_.size(), h, err);
    if (r == ParseResult::error) return fail(err);
    if (r == ParseResult::need_more) {
      if (header_buf_.size() >= kMaxHeaderSize) return fail(chunk_error("header parse stalled"));
      pos += take;
      continue;
    }
    std::vector<uint8_t> buffered;
    buffered.swap(header_buf_);
    if (Status st = apply_header(h, out); !st.ok()) return st;
    if (h.consumed >= old) {
      pos += h.consumed - old;
    } else {
      // The header ended inside bytes an earlier feed delivered (a peeked extended timestamp
      // turned out to be payload); run those bytes first, then continue with this feed's input.
      if (Status st = feed(buffered.data() + h.consumed, old - h.consumed, out); !st.ok()) return st;
    }
  }
  return ok_status();
}

size_t encoded_message_size(uint32_t csid, uint32_t timestamp, size_t size, uint32_t chunk_size) {
  if (chunk_size == 0) chunk_size = 1;
  size_t ext = timestamp >= kTimestampExtended ? 4 : 0;
  size_t chunks = size == 0 ? 1 : (size + chunk_size - 1) / chunk_size;
  size_t bh = basic_header_size(csid);
  return bh + 11 + ext + (chunks - 1) * (bh + ext) + size;
}

bool append_message(std::vector<uint8_t>& out, uint32_t csid, uint8_t type, uint32_t timestamp, uint32_t stream_id,
                    const uint8_t* payload, size_t size, uint32_t chunk_size) {
  if (csid < kMinCsid || csid > kMaxCsid || size > kMaxMessageLength) return false;
  if (payload == nullptr && size != 0) return false;
  if (chunk_size == 0) chunk_size = 1;
  bool ext = timestamp >= kTimestampExtended;
  out.reserve(out.size() + encoded_message_size(csid, timestamp, size, chunk_size));

  put_basic_header(out, 0, csid);
  put_u24(out, ext ? kTimestampExtended : timestamp);
  put_u24(out, static_cast<uint32_t>(size));
  out.push_back(type);
  for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<uint8_t>(stream_id >> shift));
  if (ext) put_u32(out, timestamp);

  size_t pos = 0;
  for (;;) {
    size_t n = std::min<size_t>(chunk_size, size - pos);
    out.insert(out.end(), payload + pos, payload + pos + n);
    pos += n;
    if (pos >= size) break;
    put_basic_header(out, 3, csid);
    if (ext) put_u32(out, timestamp);
  }
  return true;
}

std::vector<uint8_t> encode_message(uint32_t csid, uint8_t type, uint32_t timestamp, uint32_t stream_id,
                                    const uint8_t* payload, size_t size, uint32_t chunk_size) {
  std::vector<uint8_t> out;
  append_message(out, csid, type, timestamp, stream_id, payload, size, chunk_size);
  return out;
}

}  // namespace estuary::rtmp
