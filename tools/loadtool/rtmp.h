// Owns: the RTMP pieces of the load tool: a small AMF0 encoder/decoder (commands only), a
// streaming chunk-stream reader (all four header types, extended timestamps, chunk size changes;
// media bodies are not kept, only what MediaInfo needs), and chunked message serialisation.
// Shared by the player, the publisher and the test stand-in server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "flv.h"

namespace estuary::load {

// ---- AMF0 ----
struct Amf {
  enum class Type { number, boolean, string, object, null, undefined, other };
  Type type = Type::null;
  double num = 0;
  bool b = false;
  std::string str;
  std::vector<std::pair<std::string, Amf>> props;  // object / ECMA array
  const Amf* get(const std::string& key) const;
  std::string get_string(const std::string& key) const;
};

class AmfWriter {
 public:
  AmfWriter& number(double v);
  AmfWriter& boolean(bool v);
  AmfWriter& string(const std::string& v);
  AmfWriter& null();
  AmfWriter& begin_object();
  AmfWriter& key(const std::string& k);  // then a value
  AmfWriter& end_object();
  std::vector<uint8_t>& bytes() { return out_; }

 private:
  std::vector<uint8_t> out_;
};

// Decodes consecutive AMF0 values; stops at the first unsupported or truncated one.
std::vector<Amf> amf_decode_all(const uint8_t* p, size_t n);

// ---- Chunk stream ----
enum MsgType : uint8_t {
  kSetChunkSize = 1,
  kAbort = 2,
  kAck = 3,
  kUserControl = 4,
  kWindowAckSize = 5,
  kSetPeerBandwidth = 6,
  kAudio = 8,
  kVideo = 9,
  kDataAmf0 = 18,
  kCommandAmf0 = 20,
};

struct RtmpMessage {
  MediaInfo info;  // type, ts, size, head, key (media)
  uint32_t stream_id = 0;
  const std::vector<uint8_t>* payload = nullptr;  // whole body for non-media messages
};

class ChunkReader {
 public:
  // keep_media: also keep audio/video bodies (the stand-in server needs them; players do not).
  explicit ChunkReader(bool keep_media = false) : keep_media_(keep_media) {}
  // Calls on_msg(const RtmpMessage&) per complete message. Returns false on a protocol error.
  template <typename F>
  bool feed(const uint8_t* p, size_t n, F&& on_msg);
  uint32_t chunk_size() const { return chunk_size_; }
  const std::string& error() const { return error_; }

 private:
  struct Stream {
    uint32_t ts = 0, delta = 0, len = 0, sid = 0, received = 0;
    uint8_t type = 0;
    bool ext = false;
    bool in_progress = false;
    MediaInfo info;
    FrameTail tail;
    std::vector<uint8_t> payload;
  };
  size_t header_need() const;
  bool start_chunk();
  template <typename F>
  void finish(Stream& s, F&& on_msg);

  bool keep_media_;
  uint32_t chunk_size_ = 128;
  uint8_t hdr_[18];
  size_t hdr_len_ = 0;
  Stream* cur_ = nullptr;
  uint32_t chunk_left_ = 0;
  std::unordered_map<uint32_t, Stream> streams_;
  std::string error_;
  bool in_payload_ = false;
};

// Appends one message as chunks (type 0 header, then type 3 continuations). csid 2..63.
void write_chunked(std::vector<uint8_t>& out, uint32_t csid, uint8_t type, uint32_t ts, uint32_t stream_id,
                   const uint8_t* body, size_t n, uint32_t chunk_size);
// Protocol control messages (csid 2, stream 0).
void write_control(std::vector<uint8_t>& out, uint8_t type, uint32_t value);
// User control event with a 4-byte argument (and an optional second one, e.g. SetBufferLength).
void write_user_control(std::vector<uint8_t>& out, uint16_t event, uint32_t a, int64_t b = -1);

constexpr size_t kHandshakeSize = 1536;

// ---- template implementation ----
template <typename F>
bool ChunkReader::feed(const uint8_t* p, size_t n, F&& on_msg) {
  while (n > 0) {
    if (!in_payload_) {
      hdr_[hdr_len_++] = *p++;
      --n;
      if (hdr_len_ < header_need()) continue;
      if (!start_chunk()) return false;
      hdr_len_ = 0;
      if (cur_->len == 0) {
        finish(*cur_, on_msg);
        continue;
      }
      in_payload_ = true;
      continue;
    }
    Stream& s = *cur_;
    const size_t take = std::min<size_t>(n, chunk_left_);
    const uint32_t offset = s.received;
    const bool media = s.type == kAudio || s.type == kVideo;
    if (media) {
      if (offset < sizeof s.info.head) {
        size_t h = std::min<size_t>(take, sizeof s.info.head - offset);
        std::memcpy(s.info.head + offset, p, h);
        s.info.head_len = offset + h;
      }
      if (s.type == kVideo || s.type == kAudio) s.tail.add(p, take);
    }
    if (!media || keep_media_) s.payload.insert(s.payload.end(), p, p + take);
    s.received += uint32_t(take);
    chunk_left_ -= uint32_t(take);
    p += take;
    n -= take;
    if (chunk_left_ == 0) {
      in_payload_ = false;
      if (s.received >= s.len) {
        finish(s, on_msg);
        if (!error_.empty()) return false;
      }
    }
  }
  return true;
}

template <typename F>
void ChunkReader::finish(Stream& s, F&& on_msg) {
  s.in_progress = false;
  RtmpMessage m;
  m.info = s.info;
  m.info.type = s.type;
  m.info.ts = s.ts;
  m.info.size = s.len;
  if (s.type == kVideo || s.type == kAudio) m.info.key = s.tail.hash();
  m.stream_id = s.sid;
  m.payload = &s.payload;
  if (s.type == kSetChunkSize && s.payload.size() >= 4) {
    uint32_t cs = be32(s.payload.data()) & 0x7fffffff;
    if (cs < 1 || cs > 0xffffff) {
      error_ = "bad chunk size";
      return;
    }
    chunk_size_ = cs;
  }
  on_msg(m);
}

}  // namespace estuary::load
