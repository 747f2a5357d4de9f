// Owns: the server's current TLS certificate ([tls] cert_file/key_file) and the SoupServers that
// serve it. A SIGHUP reload reads the files again (renewed in place or renamed) and hands the new
// certificate to every user; if it does not load, the old one stays and an error is logged.
// Control thread only.
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include <string>
#include <vector>

#include "common/gobject_ptr.h"
#include "common/result.h"
#include "server/config/config.h"

namespace estuary::server {

class TlsContext {
 public:
  // Loads the certificate named by tls; with no cert_file TLS stays off (enabled() false).
  Status load(const config::TlsSection& tls);
  bool enabled() const { return bool(certificate_); }
  // The certificate new TLS connections get (nullptr when off). Borrowed.
  GTlsCertificate* certificate() const { return certificate_.get(); }
  // Sets server's tls-certificate now and after each reload. The server must outlive this object
  // or be detached by its owner's destruction order (servers are declared after the context).
  void attach(SoupServer* server);
  // SIGHUP: loads tls again. Listeners cannot be opened or closed at run time, so a reload that
  // turns TLS on or off only logs that a restart is needed.
  void reload(const config::TlsSection& tls);

 private:
  void apply();

  Ref<GTlsCertificate> certificate_;
  std::vector<SoupServer*> servers_;
};

}  // namespace estuary::server
