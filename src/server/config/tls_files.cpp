// Owns: load_tls_certificate and describe_tls_certificate (see tls_files.h). GnuTLS parses the leaf
// certificate and the key for the checks GIO does not make (key match, key size, signature hash);
// GIO then builds the GTlsCertificate the listeners use.
#include "server/config/tls_files.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <cstring>
#include <memory>

namespace estuary::config {
namespace {

constexpr gsize kMaxPemBytes = 1 << 20;  // a certificate chain or key is a few KiB; refuse anything huge

struct CrtDeleter {
  void operator()(gnutls_x509_crt_int* p) const { gnutls_x509_crt_deinit(p); }
};
struct KeyDeleter {
  void operator()(gnutls_x509_privkey_int* p) const { gnutls_x509_privkey_deinit(p); }
};

Result<std::string> read_pem(const std::string& what, const std::string& path) {
  gchar* data = nullptr;
  gsize size = 0;
  GError* err = nullptr;
  if (!g_file_get_contents(path.c_str(), &data, &size, &err)) {
    std::string msg = err->message;
    g_error_free(err);
    return Error{what + " " + path + ": cannot read: " + msg};
  }
  GString_ owned(data);
  if (size > kMaxPemBytes) return Error{what + " " + path + ": larger than 1 MiB, not a PEM file"};
  return std::string(data, size);
}

gnutls_datum_t datum(const std::string& s) {
  return gnutls_datum_t{reinterpret_cast<unsigned char*>(const_cast<char*>(s.data())), unsigned(s.size())};
}

// The problem with the leaf certificate's key or signature, or "" if it is strong enough.
std::string weakness(gnutls_x509_crt_t crt) {
  unsigned bits = 0;
  const int algo = gnutls_x509_crt_get_pk_algorithm(crt, &bits);
  const char* name = gnutls_pk_algorithm_get_name(gnutls_pk_algorithm_t(algo));
  const std::string algo_name = name ? name : "unknown";
  switch (algo) {
    case GNUTLS_PK_RSA:
    case GNUTLS_PK_RSA_PSS:
    case GNUTLS_PK_DSA:
      if (bits < 2048) return "weak " + algo_name + " key of " + std::to_string(bits) + " bits (at least 2048 needed)";
      break;
    case GNUTLS_PK_ECDSA:
      if (bits < 256) return "weak EC key of " + std::to_string(bits) + " bits (at least 256 needed)";
      break;
    default:
      break;
  }
  const int sign = gnutls_x509_crt_get_signature_algorithm(crt);
  const gnutls_digest_algorithm_t hash = gnutls_sign_get_hash_algorithm(gnutls_sign_algorithm_t(sign));
  if (hash == GNUTLS_DIG_MD5 || hash == GNUTLS_DIG_MD2 || hash == GNUTLS_DIG_SHA1) {
    const char* sname = gnutls_sign_get_name(gnutls_sign_algorithm_t(sign));
    return std::string("weak signature ") + (sname ? sname : "?") + " (SHA-1 and MD5 are refused; use SHA-256)";
  }
  return "";
}

}  // namespace

Result<Ref<GTlsCertificate>> load_tls_certificate(const std::string& cert_file, const std::string& key_file) {
  const std::string key_path = key_file.empty() ? cert_file : key_file;
  if (cert_file.empty()) return Error{"no certificate file given"};
  auto cert_pem = read_pem("certificate", cert_file);
  if (!cert_pem) return cert_pem.error();
  auto key_pem = read_pem("private key", key_path);
  if (!key_pem) return key_pem.error();

  gnutls_x509_crt_t crt_raw = nullptr;
  gnutls_x509_crt_init(&crt_raw);
  std::unique_ptr<gnutls_x509_crt_int, CrtDeleter> crt(crt_raw);
  gnutls_datum_t cd = datum(*cert_pem);
  int r = gnutls_x509_crt_import(crt.get(), &cd, GNUTLS_X509_FMT_PEM);
  if (r < 0) return Error{"certificate " + cert_file + ": no PEM certificate (" + gnutls_strerror(r) + ")"};

  gnutls_x509_privkey_t key_raw = nullptr;
  gnutls_x509_privkey_init(&key_raw);
  std::unique_ptr<gnutls_x509_privkey_int, KeyDeleter> key(key_raw);
  gnutls_datum_t kd = datum(*key_pem);
  r = gnutls_x509_privkey_import2(key.get(), &kd, GNUTLS_X509_FMT_PEM, nullptr, 0);
  if (r < 0)
    return Error{"private key " + key_path + ": no unencrypted PEM private key (" + gnutls_strerror(r) +
                 "); encrypted keys are not supported"};

  unsigned char crt_id[64], key_id[64];
  size_t crt_id_size = sizeof crt_id, key_id_size = sizeof key_id;
  if (gnutls_x509_crt_get_key_id(crt.get(), 0, crt_id, &crt_id_size) < 0 ||
      gnutls_x509_privkey_get_key_id(key.get(), 0, key_id, &key_id_size) < 0 || crt_id_size != key_id_size ||
      memcmp(crt_id, key_id, crt_id_size) != 0)
    return Error{"private key " + key_path + " does not match the certificate in " + cert_file};

  std::string weak = weakness(crt.get());
  if (!weak.empty()) return Error{"certificate " + cert_file + ": " + weak};

  if (!g_tls_backend_supports_tls(g_tls_backend_get_default()))
    return Error{"GLib has no TLS backend (install glib-networking)"};
  GError* err = nullptr;
  GTlsCertificate* certificate = g_tls_certificate_new_from_files(cert_file.c_str(), key_path.c_str(), &err);
  if (!certificate) {
    std::string msg = err ? err->message : "unknown error";
    g_clear_error(&err);
    return Error{"certificate " + cert_file + " / key " + key_path + ": " + msg};
  }
  return Ref<GTlsCertificate>::adopt(certificate);
}

std::string describe_tls_certificate(GTlsCertificate* certificate) {
  if (!certificate) return "none";
  gchar* subject = g_tls_certificate_get_subject_name(certificate);
  GDateTime* until = g_tls_certificate_get_not_valid_after(certificate);
  std::string text = std::string("subject \"") + (subject ? subject : "?") + "\"";
  if (until) {
    gchar* when = g_date_time_format_iso8601(until);
    GDateTime* now = g_date_time_new_now_utc();
    text += std::string(", valid until ") + (when ? when : "?");
    if (g_date_time_compare(until, now) < 0) text += " (EXPIRED)";
    g_date_time_unref(now);
    g_free(when);
    g_date_time_unref(until);
  }
  g_free(subject);
  return text;
}

}  // namespace estuary::config
