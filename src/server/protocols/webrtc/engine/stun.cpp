// Owns: STUN parsing and writing for ICE-lite (see stun.h).
#include "server/protocols/webrtc/engine/stun.h"

#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

namespace estuary::webrtc::engine {
namespace {

constexpr uint32_t kCookie = 0x2112A442;
constexpr uint16_t kBindingRequest = 0x0001;
constexpr uint16_t kBindingSuccess = 0x0101;
constexpr uint16_t kUsername = 0x0006;
constexpr uint16_t kIntegrity = 0x0008;
constexpr uint16_t kXorMapped = 0x0020;
constexpr uint16_t kUseCandidate = 0x0025;
constexpr uint16_t kFingerprint = 0x8028;
constexpr uint32_t kFingerprintXor = 0x5354554e;

uint16_t rd16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t rd32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
void put16(std::vector<uint8_t>& v, uint16_t x) {
  v.push_back(uint8_t(x >> 8));
  v.push_back(uint8_t(x));
}
void put32(std::vector<uint8_t>& v, uint32_t x) {
  put16(v, uint16_t(x >> 16));
  put16(v, uint16_t(x));
}
void set16(std::vector<uint8_t>& v, size_t at, uint16_t x) {
  v[at] = uint8_t(x >> 8);
  v[at + 1] = uint8_t(x);
}

void hmac_sha1(std::string_view key, const uint8_t* data, size_t len, uint8_t out[20]) {
  unsigned int n = 20;
  HMAC(EVP_sha1(), key.data(), int(key.size()), data, len, out, &n);
}

// MESSAGE-INTEGRITY (HMAC over the message with its length already counting the attribute), then
// FINGERPRINT (CRC-32 over everything before it, length counting it).
void append_integrity_and_fingerprint(std::vector<uint8_t>& m, std::string_view password) {
  set16(m, 2, uint16_t(m.size() - 20 + 24));
  uint8_t mac[20];
  hmac_sha1(password, m.data(), m.size(), mac);
  put16(m, kIntegrity);
  put16(m, 20);
  m.insert(m.end(), mac, mac + 20);
  set16(m, 2, uint16_t(m.size() - 20 + 8));
  const uint32_t fp = crc32(m.data(), m.size()) ^ kFingerprintXor;
  put16(m, kFingerprint);
  put16(m, 4);
  put32(m, fp);
}

}  // namespace

uint32_t crc32(const uint8_t* data, size_t len) {
  static uint32_t table[256];
  static bool ready = [] {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    return true;
  }();
  (void)ready;
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; ++i) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

PacketKind classify_datagram(const uint8_t* data, size_t len) {
  if (len == 0) return PacketKind::unknown;
  const uint8_t b = data[0];
  if (b <= 3) return PacketKind::stun;
  if (b >= 20 && b <= 63) return PacketKind::dtls;
  if (b >= 128 && b <= 191) return PacketKind::rtp_rtcp;
  return PacketKind::unknown;
}

bool parse_binding_request(const uint8_t* data, size_t len, StunRequest* out) {
  if (len < 20 || len > 1500 || (data[0] & 0xC0) != 0) return false;
  if (rd16(data) != kBindingRequest || rd32(data + 4) != kCookie) return false;
  const size_t body = rd16(data + 2);
  if (body % 4 != 0 || 20 + body != len) return false;
  StunRequest req;
  std::memcpy(req.transaction, data + 8, 12);
  size_t pos = 20;
  while (pos + 4 <= len) {
    const uint16_t type = rd16(data + pos);
    const size_t alen = rd16(data + pos + 2);
    const size_t padded = (alen + 3) & ~size_t(3);
    if (pos + 4 + padded > len) return false;
    const uint8_t* v = data + pos + 4;
    if (req.has_fingerprint) return false;  // nothing may follow FINGERPRINT
    if (req.has_integrity && type != kFingerprint) {
      pos += 4 + padded;  // attributes after MESSAGE-INTEGRITY are ignored (RFC 8489 §14.5)
      continue;
    }
    switch (type) {
      case kUsername:
        if (alen == 0 || alen > 513) return false;
        req.username.assign(reinterpret_cast<const char*>(v), alen);
        break;
      case kUseCandidate:
        req.use_candidate = true;
        break;
      case kIntegrity:
        if (alen != 20) return false;
        req.has_integrity = true;
        req.integrity_offset = pos;
        break;
      case kFingerprint: {
        if (alen != 4) return false;
        // CRC over the message up to this attribute, with the length as it stands (it is the last).
        if ((crc32(data, pos) ^ kFingerprintXor) != rd32(v)) return false;
        req.has_fingerprint = true;
        break;
      }
      default:
        break;
    }
    pos += 4 + padded;
  }
  if (pos != len) return false;
  *out = std::move(req);
  return true;
}

bool check_integrity(const uint8_t* data, size_t len, const StunRequest& req, std::string_view password) {
  if (!req.has_integrity || req.integrity_offset + 24 > len) return false;
  std::vector<uint8_t> copy(data, data + req.integrity_offset);
  // The length field covers the message up to and including MESSAGE-INTEGRITY.
  const uint16_t covered = uint16_t(req.integrity_offset + 24 - 20);
  copy[2] = uint8_t(covered >> 8);
  copy[3] = uint8_t(covered);
  uint8_t mac[20];
  hmac_sha1(password, copy.data(), copy.size(), mac);
  return CRYPTO_memcmp(mac, data + req.integrity_offset + 4, 20) == 0;
}

std::vector<uint8_t> binding_success(const StunRequest& req, const sockaddr_storage& from, std::string_view password) {
  std::vector<uint8_t> m;
  m.reserve(96);
  put16(m, kBindingSuccess);
  put16(m, 0);
  put32(m, kCookie);
  m.insert(m.end(), req.transaction, req.transaction + 12);
  put16(m, kXorMapped);
  const auto* a6 = reinterpret_cast<const sockaddr_in6*>(&from);
  if (from.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
    // An IPv4 peer on a dual-stack socket (::ffff:a.b.c.d): its address is IPv4.
    uint32_t v4;
    std::memcpy(&v4, a6->sin6_addr.s6_addr + 12, 4);
    put16(m, 8);
    put16(m, 0x01);
    put16(m, uint16_t(ntohs(a6->sin6_port) ^ (kCookie >> 16)));
    put32(m, ntohl(v4) ^ kCookie);
  } else if (from.ss_family == AF_INET6) {
    const auto* a = a6;
    put16(m, 20);
    put16(m, 0x02);
    put16(m, uint16_t(ntohs(a->sin6_port) ^ (kCookie >> 16)));
    uint8_t key[16];
    for (int i = 0; i < 4; ++i) key[i] = uint8_t(kCookie >> (24 - 8 * i));
    std::memcpy(key + 4, req.transaction, 12);
    for (int i = 0; i < 16; ++i) m.push_back(a->sin6_addr.s6_addr[i] ^ key[i]);
  } else {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&from);
    put16(m, 8);
    put16(m, 0x01);
    put16(m, uint16_t(ntohs(a->sin_port) ^ (kCookie >> 16)));
    put32(m, ntohl(a->sin_addr.s_addr) ^ kCookie);
  }
  append_integrity_and_fingerprint(m, password);
  return m;
}

std::vector<uint8_t> binding_request(const uint8_t transaction[12], std::string_view username,
                                     std::string_view password, bool use_candidate) {
  std::vector<uint8_t> m;
  put16(m, kBindingRequest);
  put16(m, 0);
  put32(m, kCookie);
  m.insert(m.end(), transaction, transaction + 12);
  put16(m, kUsername);
  put16(m, uint16_t(username.size()));
  m.insert(m.end(), username.begin(), username.end());
  while (m.size() % 4) m.push_back(0);
  if (use_candidate) {
    put16(m, kUseCandidate);
    put16(m, 0);
  }
  append_integrity_and_fingerprint(m, password);
  return m;
}

bool parse_binding_success(const uint8_t* data, size_t len, uint8_t transaction[12], std::string* mapped) {
  if (len < 20 || rd16(data) != kBindingSuccess || rd32(data + 4) != kCookie || 20 + size_t(rd16(data + 2)) != len)
    return false;
  std::memcpy(transaction, data + 8, 12);
  size_t pos = 20;
  while (pos + 4 <= len) {
    const uint16_t type = rd16(data + pos);
    const size_t alen = rd16(data + pos + 2);
    if (pos + 4 + alen > len) return false;
    if (type == kXorMapped && alen == 8 && data[pos + 5] == 0x01) {
      const uint16_t port = uint16_t(rd16(data + pos + 6) ^ (kCookie >> 16));
      const uint32_t ip = rd32(data + pos + 8) ^ kCookie;
      *mapped = std::to_string(ip >> 24) + "." + std::to_string((ip >> 16) & 255) + "." +
                std::to_string((ip >> 8) & 255) + "." + std::to_string(ip & 255) + ":" + std::to_string(port);
    }
    pos += 4 + ((alen + 3) & ~size_t(3));
  }
  return true;
}

std::string_view local_ufrag(std::string_view username) {
  const size_t colon = username.find(':');
  return colon == std::string_view::npos ? username : username.substr(0, colon);
}

}  // namespace estuary::webrtc::engine
