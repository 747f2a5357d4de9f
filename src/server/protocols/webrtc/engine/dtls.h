// Owns: DTLS-SRTP with OpenSSL (RFC 5764): the engine's one self-signed ECDSA certificate and its
// SHA-256 fingerprint (put in answers), and per viewer a DTLS server endpoint fed datagram by
// datagram, that checks the peer's certificate against the fingerprint of its offer and exports the
// SRTP keys (SRTP_AES128_CM_SHA1_80), then libsrtp2 sessions to protect RTP/RTCP and unprotect RTCP.
// The client role exists for the load client (tools/rtcclient) and tests.
// Must not know: sockets (datagrams go out through a callback), ICE, sessions. Not thread-safe: one
// thread drives a peer.
#pragma once

#include <openssl/ssl.h>
#include <srtp2/srtp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"

namespace estuary::webrtc::engine {

class DtlsContext {
 public:
  // client: the DTLS client side (load tools, tests); the server is always the DTLS server.
  static Result<std::shared_ptr<DtlsContext>> create(bool client = false);
  bool client() const { return client_; }
  ~DtlsContext();
  SSL_CTX* ctx() const { return ctx_; }
  const std::string& fingerprint() const { return fingerprint_; }  // "AB:CD:..." (sha-256)

 private:
  SSL_CTX* ctx_ = nullptr;
  std::string fingerprint_;
  bool client_ = false;
};

// The SHA-256 (or `algo`) fingerprint of a certificate, "AB:CD:...".
std::string certificate_fingerprint(X509* cert, const std::string& algo = "sha-256");

class SrtpSender;

class DtlsPeer {
 public:
  using SendFn = std::function<void(const uint8_t* data, size_t len)>;
  enum class State { handshaking, connected, failed, closed };

  // remote_fingerprint: "sha-256 AB:CD:..." from the offer.
  DtlsPeer(std::shared_ptr<DtlsContext> ctx, std::string remote_fingerprint, SendFn send);
  ~DtlsPeer();
  DtlsPeer(const DtlsPeer&) = delete;
  DtlsPeer& operator=(const DtlsPeer&) = delete;

  // Client side: sends the first flight.
  void start();
  // One DTLS datagram from the peer; returns the state after it.
  State feed(const uint8_t* data, size_t len);
  void on_timer();                           // retransmits a lost flight when due
  void forget() { state_ = State::closed; }  // ends without close_notify (a peer that vanishes)
  State state() const { return state_; }
  const std::string& error() const { return error_; }

  // After connected: protect RTP / RTCP in place (buf must have SRTP_MAX_TRAILER_LEN spare bytes);
  // unprotect RTCP in place. False on failure.
  bool protect_rtp(uint8_t* buf, int* len);
  bool protect_rtcp(uint8_t* buf, int* len);
  bool unprotect_rtcp(uint8_t* buf, int* len);
  bool unprotect_rtp(uint8_t* buf, int* len);  // client side: media from the server

 private:
  static int bio_write(BIO* bio, const char* data, int len);
  static long bio_ctrl(BIO* bio, int cmd, long num, void* ptr);
  void fail(const std::string& why);
  bool finish_handshake();

  std::shared_ptr<DtlsContext> ctx_;
  std::string remote_fingerprint_;
  SendFn send_;
  SSL* ssl_ = nullptr;
  State state_ = State::handshaking;
  std::string error_;
  srtp_t tx_ = nullptr;
  std::unique_ptr<SrtpSender> fast_tx_;  // RTP protect with OpenSSL (srtp_sender.h); tx_ does RTCP
  srtp_t rx_ = nullptr;
};

}  // namespace estuary::webrtc::engine
