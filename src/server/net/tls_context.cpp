// Owns: TlsContext (see tls_context.h).
#include "server/net/tls_context.h"

#include "common/log.h"
#include "server/config/tls_files.h"

namespace estuary::server {

Status TlsContext::load(const config::TlsSection& tls) {
  if (tls.cert_file.empty()) return ok_status();
  auto loaded = config::load_tls_certificate(tls.cert_file, tls.key_file);
  if (!loaded) return Error{"[tls] " + loaded.error().message};
  certificate_ = std::move(*loaded);
  const std::string what = config::describe_tls_certificate(certificate_.get());
  if (what.find("EXPIRED") != std::string::npos)
    log_warn("", "", "tls-certificate", "loaded " + tls.cert_file + ": " + what);
  else
    log_info("", "", "tls-certificate", "loaded " + tls.cert_file + ": " + what);
  return ok_status();
}

void TlsContext::attach(SoupServer* server) {
  servers_.push_back(server);
  g_object_set(server, "tls-certificate", certificate_.get(), nullptr);
}

void TlsContext::reload(const config::TlsSection& tls) {
  if (tls.cert_file.empty()) {
    if (enabled())
      log_warn("", "", "tls-reload",
               "[tls] cert_file was removed; TLS listeners keep the old certificate until restart");
    return;
  }
  if (!enabled()) {
    log_warn("", "", "tls-reload", "[tls] cert_file was added; TLS listeners start only at the next restart");
    return;
  }
  auto loaded = config::load_tls_certificate(tls.cert_file, tls.key_file);
  if (!loaded) {
    log_error("", "", "tls-reload", "keeping the running certificate: " + loaded.error().message);
    return;
  }
  certificate_ = std::move(*loaded);
  apply();
  log_info("", "", "tls-reload",
           "new certificate from " + tls.cert_file + ": " + config::describe_tls_certificate(certificate_.get()));
}

void TlsContext::apply() {
  for (SoupServer* s : servers_) g_object_set(s, "tls-certificate", certificate_.get(), nullptr);
}

}  // namespace estuary::server
