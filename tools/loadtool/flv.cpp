// Owns: the FLV file loader and tag serialisation of the load tool (see flv.h).
#include "flv.h"

#include <cstdio>
#include <memory>

namespace estuary::load {

bool FlvTag::is_sequence_header() const {
  if (type == 9) return body.size() >= 2 && body[1] == 0;
  if (type == 8) return body.size() >= 2 && (body[0] >> 4) == 10 && body[1] == 0;
  return false;
}

bool load_flv_file(const std::string& path, std::vector<FlvTag>* tags, std::string* error) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    *error = "cannot open " + path;
    return false;
  }
  std::vector<uint8_t> data;
  uint8_t buf[1 << 16];
  size_t r;
  while ((r = std::fread(buf, 1, sizeof buf, f.get())) > 0) data.insert(data.end(), buf, buf + r);
  if (data.size() < 13 || std::memcmp(data.data(), "FLV", 3) != 0) {
    *error = path + ": not an FLV file";
    return false;
  }
  size_t pos = be32(&data[5]) + 4;
  while (pos + 11 <= data.size()) {
    FlvTag t;
    t.type = data[pos] & 0x1f;
    uint32_t size = be24(&data[pos + 1]);
    t.ts = be24(&data[pos + 4]) | (uint32_t(data[pos + 7]) << 24);
    if (pos + 11 + size > data.size()) break;  // truncated last tag
    t.body.assign(data.begin() + long(pos + 11), data.begin() + long(pos + 11 + size));
    pos += 11 + size + 4;
    if (t.type == 8 || t.type == 9 || t.type == 18) tags->push_back(std::move(t));
  }
  if (tags->empty()) {
    *error = path + ": no tags";
    return false;
  }
  return true;
}

void append_flv_tag(std::vector<uint8_t>& out, uint8_t type, uint32_t ts, const uint8_t* body, size_t n) {
  out.push_back(type);
  put_be24(out, uint32_t(n));
  put_be24(out, ts & 0xffffff);
  out.push_back(uint8_t(ts >> 24));
  put_be24(out, 0);
  out.insert(out.end(), body, body + n);
  put_be32(out, uint32_t(n + 11));
}

std::vector<uint8_t> flv_file_header(bool audio, bool video) {
  std::vector<uint8_t> h = {'F', 'L', 'V', 1, uint8_t((audio ? 4 : 0) | (video ? 1 : 0)), 0, 0, 0, 9, 0, 0, 0, 0};
  return h;
}

}  // namespace estuary::load
