// Owns: AMF0 encode/decode and chunk-stream header handling of the load tool (see rtmp.h).
#include "rtmp.h"

#include <cstring>

namespace estuary::load {

// ---- AMF0 ----
const Amf* Amf::get(const std::string& k) const {
  for (const auto& [name, v] : props) {
    if (name == k) return &v;
  }
  return nullptr;
}

std::string Amf::get_string(const std::string& k) const {
  const Amf* v = get(k);
  return v && v->type == Type::string ? v->str : std::string();
}

AmfWriter& AmfWriter::number(double v) {
  out_.push_back(0x00);
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  for (int i = 7; i >= 0; --i) out_.push_back(uint8_t(bits >> (8 * i)));
  return *this;
}
AmfWriter& AmfWriter::boolean(bool v) {
  out_.push_back(0x01);
  out_.push_back(v ? 1 : 0);
  return *this;
}
AmfWriter& AmfWriter::string(const std::string& v) {
  out_.push_back(0x02);
  put_be16(out_, uint32_t(v.size()));
  out_.insert(out_.end(), v.begin(), v.end());
  return *this;
}
AmfWriter& AmfWriter::null() {
  out_.push_back(0x05);
  return *this;
}
AmfWriter& AmfWriter::begin_object() {
  out_.push_back(0x03);
  return *this;
}
AmfWriter& AmfWriter::key(const std::string& k) {
  put_be16(out_, uint32_t(k.size()));
  out_.insert(out_.end(), k.begin(), k.end());
  return *this;
}
AmfWriter& AmfWriter::end_object() {
  out_.insert(out_.end(), {0, 0, 9});
  return *this;
}

namespace {

bool decode_value(const uint8_t*& p, const uint8_t* end, Amf& v, int depth);

bool decode_key(const uint8_t*& p, const uint8_t* end, std::string& k) {
  if (end - p < 2) return false;
  size_t n = (size_t(p[0]) << 8) | p[1];
  p += 2;
  if (size_t(end - p) < n) return false;
  k.assign(reinterpret_cast<const char*>(p), n);
  p += n;
  return true;
}

bool decode_props(const uint8_t*& p, const uint8_t* end, Amf& v, int depth) {
  for (int count = 0; count < 4096; ++count) {
    if (end - p >= 3 && p[0] == 0 && p[1] == 0 && p[2] == 9) {
      p += 3;
      return true;
    }
    std::string k;
    if (!decode_key(p, end, k)) return false;
    Amf child;
    if (!decode_value(p, end, child, depth + 1)) return false;
    v.props.emplace_back(std::move(k), std::move(child));
  }
  return false;
}

bool decode_value(const uint8_t*& p, const uint8_t* end, Amf& v, int depth) {
  if (p >= end || depth > 16) return false;
  const uint8_t marker = *p++;
  switch (marker) {
    case 0x00: {
      if (end - p < 8) return false;
      uint64_t bits = 0;
      for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];
      std::memcpy(&v.num, &bits, 8);
      p += 8;
      v.type = Amf::Type::number;
      return true;
    }
    case 0x01:
      if (p >= end) return false;
      v.type = Amf::Type::boolean;
      v.b = *p++ != 0;
      return true;
    case 0x02:
      v.type = Amf::Type::string;
      return decode_key(p, end, v.str);
    case 0x03:
      v.type = Amf::Type::object;
      return decode_props(p, end, v, depth);
    case 0x05:
      v.type = Amf::Type::null;
      return true;
    case 0x06:
      v.type = Amf::Type::undefined;
      return true;
    case 0x08:
      if (end - p < 4) return false;
      p += 4;
      v.type = Amf::Type::object;
      return decode_props(p, end, v, depth);
    default:
      return false;
  }
}

}  // namespace

std::vector<Amf> amf_decode_all(const uint8_t* p, size_t n) {
  std::vector<Amf> out;
  const uint8_t* end = p + n;
  while (p < end && out.size() < 64) {
    Amf v;
    if (!decode_value(p, end, v, 0)) break;
    out.push_back(std::move(v));
  }
  return out;
}

// ---- chunk stream ----
size_t ChunkReader::header_need() const {
  if (hdr_len_ < 1) return 1;
  const uint8_t low = hdr_[0] & 0x3f;
  const size_t basic = low == 0 ? 2 : low == 1 ? 3 : 1;
  if (hdr_len_ < basic) return basic;
  static constexpr size_t kMsgHeader[4] = {11, 7, 3, 0};
  const unsigned fmt = hdr_[0] >> 6;
  const size_t need = basic + kMsgHeader[fmt];
  if (hdr_len_ < need) return need;
  bool ext;
  if (fmt < 3) {
    ext = be24(hdr_ + basic) == 0xffffff;
  } else {
    uint32_t csid = low == 0 ? 64 + hdr_[1] : low == 1 ? 64 + hdr_[1] + 256u * hdr_[2] : low;
    auto it = streams_.find(csid);
    ext = it != streams_.end() && it->second.ext;
  }
  return need + (ext ? 4 : 0);
}

bool ChunkReader::start_chunk() {
  const uint8_t low = hdr_[0] & 0x3f;
  const size_t basic = low == 0 ? 2 : low == 1 ? 3 : 1;
  const uint32_t csid = low == 0 ? 64 + hdr_[1] : low == 1 ? 64 + hdr_[1] + 256u * hdr_[2] : low;
  const unsigned fmt = hdr_[0] >> 6;
  Stream& s = streams_[csid];
  const uint8_t* h = hdr_ + basic;
  bool new_message = true;
  if (fmt < 3) {
    uint32_t field = be24(h);
    s.ext = field == 0xffffff;
    const uint8_t* ext = h + (fmt == 0 ? 11 : fmt == 1 ? 7 : 3);
    if (s.ext) field = be32(ext);
    if (fmt <= 1) {
      s.len = be24(h + 3);
      s.type = h[6];
    }
    if (fmt == 0) {
      s.sid = uint32_t(h[7]) | (uint32_t(h[8]) << 8) | (uint32_t(h[9]) << 16) | (uint32_t(h[10]) << 24);
      s.ts = field;
      s.delta = field;
    } else {
      s.delta = field;
      s.ts += field;
    }
    if (s.in_progress) {
      error_ = "new message header inside an unfinished message";
      return false;
    }
  } else if (s.in_progress) {
    new_message = false;
  } else {
    if (s.type == 0) {
      error_ = "type 3 chunk on a fresh chunk stream";
      return false;
    }
    s.ts += s.delta;
  }
  if (new_message) {
    s.in_progress = true;
    s.received = 0;
    s.info = MediaInfo{};
    s.tail.reset();
    s.payload.clear();
  }
  cur_ = &s;
  chunk_left_ = std::min(chunk_size_, s.len - s.received);
  return true;
}

void write_chunked(std::vector<uint8_t>& out, uint32_t csid, uint8_t type, uint32_t ts, uint32_t stream_id,
                   const uint8_t* body, size_t n, uint32_t chunk_size) {
  const bool ext = ts >= 0xffffff;
  out.push_back(uint8_t(csid & 0x3f));
  put_be24(out, ext ? 0xffffff : ts);
  put_be24(out, uint32_t(n));
  out.push_back(type);
  for (int i = 0; i < 4; ++i) out.push_back(uint8_t(stream_id >> (8 * i)));
  if (ext) put_be32(out, ts);
  size_t pos = 0;
  for (;;) {
    size_t take = std::min<size_t>(chunk_size, n - pos);
    out.insert(out.end(), body + pos, body + pos + take);
    pos += take;
    if (pos >= n) break;
    out.push_back(uint8_t(0xc0 | (csid & 0x3f)));
    if (ext) put_be32(out, ts);
  }
}

void write_control(std::vector<uint8_t>& out, uint8_t type, uint32_t value) {
  std::vector<uint8_t> b;
  put_be32(b, value);
  if (type == kSetPeerBandwidth) b.push_back(2);  // dynamic
  write_chunked(out, 2, type, 0, 0, b.data(), b.size(), 128);
}

void write_user_control(std::vector<uint8_t>& out, uint16_t event, uint32_t a, int64_t b) {
  std::vector<uint8_t> body;
  put_be16(body, event);
  put_be32(body, a);
  if (b >= 0) put_be32(body, uint32_t(b));
  write_chunked(out, 2, kUserControl, 0, 0, body.data(), body.size(), 128);
}

}  // namespace estuary::load
