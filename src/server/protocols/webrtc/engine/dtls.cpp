// Owns: DTLS-SRTP (see dtls.h).
#include "server/protocols/webrtc/engine/dtls.h"

#include "server/protocols/webrtc/engine/srtp_sender.h"

#include <glib.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstring>
#include <mutex>

namespace estuary::webrtc::engine {
namespace {

constexpr int kMtu = 1200;

BIO_METHOD* bio_method(int (*write)(BIO*, const char*, int), long (*ctrl)(BIO*, int, long, void*)) {
  static BIO_METHOD* method = nullptr;
  static std::once_flag once;
  std::call_once(once, [&] {
    method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "estuary-dtls");
    BIO_meth_set_write(method, write);
    BIO_meth_set_ctrl(method, ctrl);
    BIO_meth_set_create(method, [](BIO* b) {
      BIO_set_init(b, 1);
      return 1;
    });
  });
  return method;
}

void srtp_once() {
  static std::once_flag once;
  std::call_once(once, [] { srtp_init(); });
}

std::string last_ssl_error() {
  unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return e ? buf : "unknown";
}

}  // namespace

std::string certificate_fingerprint(X509* cert, const std::string& algo) {
  std::string name = algo;
  for (char& c : name)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  if (name == "sha-256") name = "sha256";
  if (name == "sha-1") name = "sha1";
  if (name == "sha-384") name = "sha384";
  if (name == "sha-512") name = "sha512";
  const EVP_MD* md = EVP_get_digestbyname(name.c_str());
  if (!md) return "";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!X509_digest(cert, md, digest, &n)) return "";
  std::string out;
  static const char* hex = "0123456789ABCDEF";
  for (unsigned i = 0; i < n; ++i) {
    if (i) out += ':';
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

Result<std::shared_ptr<DtlsContext>> DtlsContext::create(bool client) {
  auto out = std::shared_ptr<DtlsContext>(new DtlsContext());
  out->client_ = client;
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  bool ok = key && cert;
  if (ok) {
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), long(g_random_int() & 0x7FFFFFFF));
    X509_gmtime_adj(X509_getm_notBefore(cert), -86400);
    X509_gmtime_adj(X509_getm_notAfter(cert), 30L * 86400);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("estuary"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    ok = X509_sign(cert, key, EVP_sha256()) > 0;
  }
  if (ok) {
    out->ctx_ = SSL_CTX_new(client ? DTLS_client_method() : DTLS_server_method());
    ok = out->ctx_ && SSL_CTX_use_certificate(out->ctx_, cert) == 1 && SSL_CTX_use_PrivateKey(out->ctx_, key) == 1 &&
         SSL_CTX_set_tlsext_use_srtp(out->ctx_, "SRTP_AES128_CM_SHA1_80") == 0;
  }
  if (ok) {
    SSL_CTX_set_min_proto_version(out->ctx_, DTLS1_2_VERSION);
    // The peer's certificate is self-signed: it is checked against the offer's fingerprint instead.
    SSL_CTX_set_verify(out->ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       [](int, X509_STORE_CTX*) { return 1; });
    SSL_CTX_set_read_ahead(out->ctx_, 1);
    out->fingerprint_ = certificate_fingerprint(cert);
  }
  std::string why = ok ? "" : last_ssl_error();
  if (cert) X509_free(cert);
  if (key) EVP_PKEY_free(key);
  if (!ok) return Error{"cannot create the DTLS certificate: " + why, ErrorReason::internal, "webrtc"};
  srtp_once();
  return out;
}

DtlsContext::~DtlsContext() {
  if (ctx_) SSL_CTX_free(ctx_);
}

DtlsPeer::DtlsPeer(std::shared_ptr<DtlsContext> ctx, std::string remote_fingerprint, SendFn send)
    : ctx_(std::move(ctx)), remote_fingerprint_(std::move(remote_fingerprint)), send_(std::move(send)) {
  ssl_ = SSL_new(ctx_->ctx());
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(rbio, -1);
  BIO* wbio = BIO_new(bio_method(&DtlsPeer::bio_write, &DtlsPeer::bio_ctrl));
  BIO_set_data(wbio, this);
  SSL_set_bio(ssl_, rbio, wbio);
  SSL_set_options(ssl_, SSL_OP_NO_QUERY_MTU);
  SSL_set_mtu(ssl_, kMtu);
  DTLS_set_link_mtu(ssl_, kMtu);
  if (ctx_->client())
    SSL_set_connect_state(ssl_);
  else
    SSL_set_accept_state(ssl_);
}

void DtlsPeer::start() {
  if (state_ == State::handshaking) SSL_do_handshake(ssl_);
}

DtlsPeer::~DtlsPeer() {
  if (ssl_) {
    if (state_ == State::connected) SSL_shutdown(ssl_);  // close_notify: the viewer learns at once
    SSL_free(ssl_);
  }
  if (tx_) srtp_dealloc(tx_);
  if (rx_) srtp_dealloc(rx_);
}

int DtlsPeer::bio_write(BIO* bio, const char* data, int len) {
  auto* self = static_cast<DtlsPeer*>(BIO_get_data(bio));
  if (self && self->send_ && len > 0) self->send_(reinterpret_cast<const uint8_t*>(data), size_t(len));
  return len;
}

long DtlsPeer::bio_ctrl(BIO*, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
      return kMtu;
    default:
      return 0;
  }
}

void DtlsPeer::fail(const std::string& why) {
  state_ = State::failed;
  error_ = why;
}

DtlsPeer::State DtlsPeer::feed(const uint8_t* data, size_t len) {
  if (state_ == State::failed || state_ == State::closed) return state_;
  BIO_write(SSL_get_rbio(ssl_), data, int(len));
  if (state_ == State::handshaking) {
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) {
      if (!finish_handshake()) return state_;
      state_ = State::connected;
    } else {
      const int err = SSL_get_error(ssl_, r);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) fail("DTLS handshake failed: " + last_ssl_error());
    }
    return state_;
  }
  // Connected: only alerts (close_notify) are expected; application data is ignored.
  char sink[2048];
  const int r = SSL_read(ssl_, sink, sizeof sink);
  if (r <= 0) {
    const int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_ZERO_RETURN) state_ = State::closed;
    ERR_clear_error();
  }
  return state_;
}

void DtlsPeer::on_timer() {
  if (state_ == State::handshaking) DTLSv1_handle_timeout(ssl_);
}

bool DtlsPeer::finish_handshake() {
  X509* peer = SSL_get1_peer_certificate(ssl_);
  if (!peer) {
    fail("the peer sent no DTLS certificate");
    return false;
  }
  const size_t space = remote_fingerprint_.find(' ');
  const std::string algo = space == std::string::npos ? "sha-256" : remote_fingerprint_.substr(0, space);
  const std::string want = space == std::string::npos ? remote_fingerprint_ : remote_fingerprint_.substr(space + 1);
  const std::string got = certificate_fingerprint(peer, algo);
  X509_free(peer);
  if (got.empty() || g_ascii_strcasecmp(got.c_str(), want.c_str()) != 0) {
    fail("the peer's DTLS certificate does not match the offer's fingerprint");
    return false;
  }
  SRTP_PROTECTION_PROFILE* profile = SSL_get_selected_srtp_profile(ssl_);
  if (!profile || profile->id != SRTP_AES128_CM_SHA1_80) {
    fail("no SRTP profile was negotiated");
    return false;
  }
  uint8_t material[60];
  static const char label[] = "EXTRACTOR-dtls_srtp";
  if (SSL_export_keying_material(ssl_, material, sizeof material, label, sizeof label - 1, nullptr, 0, 0) != 1) {
    fail("cannot export the SRTP keys");
    return false;
  }
  // client key | server key | client salt | server salt.
  uint8_t client_key[30], server_key[30];
  std::memcpy(server_key, material + 16, 16);
  std::memcpy(server_key + 16, material + 46, 14);
  std::memcpy(client_key, material, 16);
  std::memcpy(client_key + 16, material + 32, 14);
  uint8_t* tx_key = ctx_->client() ? client_key : server_key;
  uint8_t* rx_key = ctx_->client() ? server_key : client_key;
  auto make = [](srtp_t* out, uint8_t* key, srtp_ssrc_type_t type) {
    srtp_policy_t policy;
    std::memset(&policy, 0, sizeof policy);
    srtp_crypto_policy_set_rtp_default(&policy.rtp);
    srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
    policy.ssrc.type = type;
    policy.key = key;
    policy.window_size = 1024;
    policy.allow_repeat_tx = 1;  // NACK retransmissions resend the same sequence number
    return srtp_create(out, &policy) == srtp_err_status_ok;
  };
  if (!make(&tx_, tx_key, ssrc_any_outbound) || !make(&rx_, rx_key, ssrc_any_inbound)) {
    fail("cannot create the SRTP sessions");
    return false;
  }
  // RTP goes out through OpenSSL (ESTUARY_SRTP_LIBSRTP=1 keeps libsrtp2 for it: the before/after comparison).
  static const bool libsrtp_only = g_getenv("ESTUARY_SRTP_LIBSRTP") != nullptr;
  if (!libsrtp_only) {
    auto fast = std::make_unique<SrtpSender>();
    if (fast->init(tx_key)) fast_tx_ = std::move(fast);
  }
  return true;
}

bool DtlsPeer::protect_rtp(uint8_t* buf, int* len) {
  if (fast_tx_) return fast_tx_->protect(buf, len);
  return tx_ && srtp_protect(tx_, buf, len) == srtp_err_status_ok;
}
bool DtlsPeer::protect_rtcp(uint8_t* buf, int* len) {
  return tx_ && srtp_protect_rtcp(tx_, buf, len) == srtp_err_status_ok;
}
bool DtlsPeer::unprotect_rtp(uint8_t* buf, int* len) {
  return rx_ && srtp_unprotect(rx_, buf, len) == srtp_err_status_ok;
}
bool DtlsPeer::unprotect_rtcp(uint8_t* buf, int* len) {
  return rx_ && srtp_unprotect_rtcp(rx_, buf, len) == srtp_err_status_ok;
}

}  // namespace estuary::webrtc::engine
