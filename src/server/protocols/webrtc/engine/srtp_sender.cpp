// Owns: SrtpSender (see srtp_sender.h).
#include "server/protocols/webrtc/engine/srtp_sender.h"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include <cstring>

#include "server/protocols/webrtc/engine/rtp_wire.h"

namespace estuary::webrtc::engine {
namespace {

constexpr int kTag = 10;

// RFC 3711 §4.3.1 with kdr = 0: AES-CM keystream of the master key at IV = (salt XOR label << 48) * 2^16.
bool derive(const uint8_t key[16], const uint8_t salt[14], uint8_t label, uint8_t* out, int n) {
  uint8_t iv[16] = {};
  std::memcpy(iv, salt, 14);
  iv[7] ^= label;
  uint8_t zeros[32] = {};
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  int outl = 0;
  const bool ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), nullptr, key, iv) == 1 &&
                  EVP_EncryptUpdate(c, out, &outl, zeros, n) == 1 && outl == n;
  EVP_CIPHER_CTX_free(c);
  return ok;
}

}  // namespace

SrtpSender::~SrtpSender() {
  EVP_CIPHER_CTX_free(aes_);
  EVP_MAC_CTX_free(mac_);
}

bool SrtpSender::init(const uint8_t master[30]) {
  uint8_t ke[16], ka[20];
  if (!derive(master, master + 16, 0, ke, 16) || !derive(master, master + 16, 1, ka, 20) ||
      !derive(master, master + 16, 2, salt_, 14))
    return false;
  aes_ = EVP_CIPHER_CTX_new();
  if (!aes_ || EVP_EncryptInit_ex(aes_, EVP_aes_128_ctr(), nullptr, ke, nullptr) != 1) return false;
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!hmac) return false;
  mac_ = EVP_MAC_CTX_new(hmac);
  EVP_MAC_free(hmac);
  char sha1[] = "SHA1";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha1, 0), OSSL_PARAM_construct_end()};
  return mac_ && EVP_MAC_init(mac_, ka, sizeof ka, params) == 1;
}

SrtpSender::Stream* SrtpSender::stream(uint32_t ssrc) {
  for (Stream& s : streams_)
    if (s.used && s.ssrc == ssrc) return &s;
  for (Stream& s : streams_)
    if (!s.used) {
      s.used = true;
      s.ssrc = ssrc;
      return &s;
    }
  return nullptr;  // more SSRCs than a session sends
}

bool SrtpSender::protect(uint8_t* buf, int* len) {
  if (!aes_ || !mac_ || *len < 12) return false;
  const size_t off = rtp_payload_offset(buf, size_t(*len));
  if (off == 0 || off > size_t(*len)) return false;
  const uint32_t ssrc = uint32_t(buf[8]) << 24 | uint32_t(buf[9]) << 16 | uint32_t(buf[10]) << 8 | buf[11];
  const uint16_t seq = uint16_t(buf[2] << 8 | buf[3]);
  Stream* st = stream(ssrc);
  if (!st) return false;
  if (!st->started) {
    st->started = true;
    st->last_seq = seq;
  }
  // RFC 3711 Appendix A: the ROC this sequence number belongs to, relative to the highest one sent (a NACK
  // retransmission of an older number keeps the ROC it was first sent with).
  uint32_t roc = st->roc;
  if (st->last_seq < 32768) {
    if (seq > st->last_seq && seq - st->last_seq > 32768 && st->roc > 0) roc = st->roc - 1;
  } else if (st->last_seq - 32768 > seq) {
    roc = st->roc + 1;
  }
  if ((uint64_t(roc) << 16 | seq) > (uint64_t(st->roc) << 16 | st->last_seq)) {
    st->roc = roc;
    st->last_seq = seq;
  }
  // IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16).
  uint8_t iv[16] = {};
  std::memcpy(iv, salt_, 14);
  for (int i = 0; i < 4; ++i) {
    iv[4 + i] ^= uint8_t(ssrc >> (24 - 8 * i));
    iv[8 + i] ^= uint8_t(roc >> (24 - 8 * i));
  }
  iv[12] ^= uint8_t(seq >> 8);
  iv[13] ^= uint8_t(seq);
  int outl = 0;
  const int n = *len - int(off);
  if (EVP_EncryptInit_ex(aes_, nullptr, nullptr, nullptr, iv) != 1 ||
      (n > 0 && EVP_EncryptUpdate(aes_, buf + off, &outl, buf + off, n) != 1))
    return false;
  // Tag: HMAC-SHA1 over the packet and the ROC, first 80 bits.
  const uint8_t r[4] = {uint8_t(roc >> 24), uint8_t(roc >> 16), uint8_t(roc >> 8), uint8_t(roc)};
  uint8_t full[EVP_MAX_MD_SIZE];
  size_t full_len = 0;
  if (EVP_MAC_init(mac_, nullptr, 0, nullptr) != 1 || EVP_MAC_update(mac_, buf, size_t(*len)) != 1 ||
      EVP_MAC_update(mac_, r, 4) != 1 || EVP_MAC_final(mac_, full, &full_len, sizeof full) != 1 || full_len < kTag)
    return false;
  std::memcpy(buf + *len, full, kTag);
  *len += kTag;
  return true;
}

}  // namespace estuary::webrtc::engine
