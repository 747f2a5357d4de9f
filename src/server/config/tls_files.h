// Owns: loading and vetting the TLS certificate and private key named by [tls]: both files readable,
// PEM, the key matching the certificate, and no weak crypto (RSA/DSA under 2048 bits, EC under 256
// bits, MD5/SHA-1 signatures). Used by the config loader (so a bad file is a startup error with its
// file:line, and a SIGHUP reload keeps the old configuration) and by the TLS listeners.
#pragma once

#include <gio/gio.h>

#include <string>

#include "common/gobject_ptr.h"
#include "common/result.h"

namespace estuary::config {

// A GTlsCertificate with its private key, or an error naming the file and the problem.
// key_file "" reads the key from cert_file.
Result<Ref<GTlsCertificate>> load_tls_certificate(const std::string& cert_file, const std::string& key_file);

// One line about the certificate for the log: subject, key, expiry.
std::string describe_tls_certificate(GTlsCertificate* certificate);

}  // namespace estuary::config
