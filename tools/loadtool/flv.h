// Owns: FLV for the load tool: byte helpers, the frame fingerprint used to match a video frame
// sent by the publisher with the same frame received by a player, a streaming FLV tag parser
// that keeps no tag bodies (players receive gigabytes), and an FLV file loader for the publisher.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace estuary::load {

inline uint32_t be24(const uint8_t* p) { return (uint32_t(p[0]) << 16) | (uint32_t(p[1]) << 8) | p[2]; }
inline uint32_t be32(const uint8_t* p) { return (uint32_t(p[0]) << 24) | be24(p + 1); }
inline void put_be16(std::vector<uint8_t>& o, uint32_t v) {
  o.push_back(uint8_t(v >> 8));
  o.push_back(uint8_t(v));
}
inline void put_be24(std::vector<uint8_t>& o, uint32_t v) {
  o.push_back(uint8_t(v >> 16));
  put_be16(o, v);
}
inline void put_be32(std::vector<uint8_t>& o, uint32_t v) {
  o.push_back(uint8_t(v >> 24));
  put_be24(o, v);
}

// Fingerprint of a media frame: a hash of the last (up to) 64 bytes of the tag body after its
// first 5 bytes (the AVC header of a video tag). Servers that remux rewrite timestamps and may insert NAL units at the
// front of an access unit, but the end of the last slice travels unchanged.
class FrameTail {
 public:
  static constexpr size_t kSkip = 5;
  static constexpr size_t kLen = 64;
  void reset() {
    len_ = 0;
    seen_ = 0;
  }
  void add(const uint8_t* p, size_t n) {
    if (seen_ < kSkip) {
      size_t skip = std::min(n, kSkip - seen_);
      seen_ += skip;
      p += skip;
      n -= skip;
    }
    if (n == 0) return;
    seen_ += n;
    if (n >= kLen) {
      std::memcpy(buf_, p + n - kLen, kLen);
      len_ = kLen;
      return;
    }
    size_t keep = std::min(len_, kLen - n);
    std::memmove(buf_, buf_ + len_ - keep, keep);
    std::memcpy(buf_ + keep, p, n);
    len_ = keep + n;
  }
  uint64_t hash() const {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len_; ++i) h = (h ^ buf_[i]) * 1099511628211ull;
    return h ^ len_;
  }

 private:
  uint8_t buf_[kLen];
  size_t len_ = 0;
  size_t seen_ = 0;
};

inline uint64_t frame_key(const uint8_t* body, size_t n) {
  FrameTail t;
  t.add(body, n);
  return t.hash();
}

// What a player learns of one tag (or RTMP media message) without keeping its body.
struct MediaInfo {
  uint8_t type = 0;  // 8 audio, 9 video, 18 script
  uint32_t ts = 0;
  uint32_t size = 0;
  uint8_t head[8] = {};  // first bytes of the body
  size_t head_len = 0;
  uint64_t key = 0;  // FrameTail hash (audio and video)
  bool is_video_keyframe() const { return type == 9 && head_len >= 2 && (head[0] >> 4) == 1 && head[1] == 1; }
  bool is_video_frame() const { return type == 9 && head_len >= 2 && head[1] == 1; }  // AVC NALU, not a header
  bool is_sequence_header() const {
    if (type == 9) return head_len >= 2 && head[1] == 0;
    if (type == 8) return head_len >= 2 && (head[0] >> 4) == 10 && head[1] == 0;
    return false;
  }
};

// Incremental FLV parser: feed() any slicing of the byte stream; calls on_tag(const MediaInfo&)
// for each complete tag. On a framing error (bad signature, unknown tag type, PreviousTagSize
// mismatch) it counts one error and ignores the rest of the stream.
class FlvStreamParser {
 public:
  template <typename F>
  void feed(const uint8_t* p, size_t n, F&& on_tag);
  bool broken() const { return broken_; }
  uint64_t tags() const { return tags_; }

 private:
  enum class State { file_header, tag_header, body, prev_size };
  State state_ = State::file_header;
  uint8_t hdr_[16];
  size_t hdr_len_ = 0;
  uint32_t body_left_ = 0;
  MediaInfo cur_;
  FrameTail tail_;
  bool broken_ = false;
  uint64_t tags_ = 0;
};

template <typename F>
void FlvStreamParser::feed(const uint8_t* p, size_t n, F&& on_tag) {
  while (n > 0 && !broken_) {
    switch (state_) {
      case State::file_header: {  // 9-byte header + PreviousTagSize0
        size_t take = std::min(n, size_t(13) - hdr_len_);
        std::memcpy(hdr_ + hdr_len_, p, take);
        hdr_len_ += take;
        p += take;
        n -= take;
        if (hdr_len_ < 13) break;
        if (std::memcmp(hdr_, "FLV", 3) != 0 || be32(hdr_ + 5) < 9) {
          broken_ = true;
          break;
        }
        // A header longer than 9 bytes is legal but unseen in practice; treat as error.
        if (be32(hdr_ + 5) != 9) broken_ = true;
        hdr_len_ = 0;
        state_ = State::tag_header;
        break;
      }
      case State::tag_header: {
        size_t take = std::min(n, size_t(11) - hdr_len_);
        std::memcpy(hdr_ + hdr_len_, p, take);
        hdr_len_ += take;
        p += take;
        n -= take;
        if (hdr_len_ < 11) break;
        cur_ = MediaInfo{};
        cur_.type = hdr_[0] & 0x1f;
        cur_.size = be24(hdr_ + 1);
        cur_.ts = be24(hdr_ + 4) | (uint32_t(hdr_[7]) << 24);
        if (cur_.type != 8 && cur_.type != 9 && cur_.type != 18) {
          broken_ = true;
          break;
        }
        tail_.reset();
        body_left_ = cur_.size;
        hdr_len_ = 0;
        state_ = body_left_ > 0 ? State::body : State::prev_size;
        break;
      }
      case State::body: {
        size_t take = std::min<size_t>(n, body_left_);
        size_t offset = cur_.size - body_left_;
        if (offset < sizeof cur_.head) {
          size_t h = std::min(take, sizeof cur_.head - offset);
          std::memcpy(cur_.head + offset, p, h);
          cur_.head_len = offset + h;
        }
        if (cur_.type == 9 || cur_.type == 8) tail_.add(p, take);
        body_left_ -= uint32_t(take);
        p += take;
        n -= take;
        if (body_left_ == 0) state_ = State::prev_size;
        break;
      }
      case State::prev_size: {
        size_t take = std::min(n, size_t(4) - hdr_len_);
        std::memcpy(hdr_ + hdr_len_, p, take);
        hdr_len_ += take;
        p += take;
        n -= take;
        if (hdr_len_ < 4) break;
        hdr_len_ = 0;
        if (be32(hdr_) != cur_.size + 11) {
          broken_ = true;
          break;
        }
        if (cur_.type == 9 || cur_.type == 8) cur_.key = tail_.hash();
        ++tags_;
        on_tag(cur_);
        state_ = State::tag_header;
        break;
      }
    }
  }
}

struct FlvTag {
  uint8_t type = 0;
  uint32_t ts = 0;
  std::vector<uint8_t> body;
  bool is_sequence_header() const;
  bool is_video_keyframe() const { return type == 9 && body.size() >= 2 && (body[0] >> 4) == 1 && body[1] == 1; }
};

// Reads a whole FLV file. Error text in *error on failure.
bool load_flv_file(const std::string& path, std::vector<FlvTag>* tags, std::string* error);

// Serialises one tag (header + body + PreviousTagSize).
void append_flv_tag(std::vector<uint8_t>& out, uint8_t type, uint32_t ts, const uint8_t* body, size_t n);
// The 13-byte FLV file header (audio+video flags) with PreviousTagSize0.
std::vector<uint8_t> flv_file_header(bool audio = true, bool video = true);

}  // namespace estuary::load
