// The appliance's own TLS certificate, for when none is configured: an ECDSA
// P-256 key and a self-signed certificate for the host name, localhost,
// 127.0.0.1 and ::1, written with mode 0600 (key) and 0644 (certificate).
// Operators pin it by its SHA-256 fingerprint or pass it to clients as the CA.
#pragma once

#include <string>
#include <vector>

#include "appliance/core/clock.h"
#include "appliance/core/random.h"
#include "appliance/core/status.h"

namespace cloister {

// Creates the key and certificate unless both files exist. Returns true when
// it created them.
Result<bool> EnsureSelfSignedCertificate(const std::string& cert_path, const std::string& key_path,
                                         const std::vector<std::string>& dns_names, const Clock& clock,
                                         Random& random);

// SHA-256 over the certificate's DER bytes, as "AB:CD:..." (what
// `openssl x509 -noout -fingerprint -sha256` prints).
Result<std::string> CertificateFingerprint(const std::string& cert_path);

}  // namespace cloister
