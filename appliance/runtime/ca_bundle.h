// An environment's CA bundle (settings.ca_bundle): the PEM certificates its
// steps' HTTPS services are verified against. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/status.h"

namespace cloister::runtime {

// The subject of each certificate in `pem` (one line each, RFC 2253), for
// audit events and listings. "" is an empty bundle (the system trust store
// applies). invalid_argument when the text holds a private key, a
// certificate that does not parse, no certificate, more than 200, or more
// than 1 MiB. Text between PEM blocks is ignored, as OpenSSL does.
Result<std::vector<std::string>> CaBundleSubjects(std::string_view pem);

}  // namespace cloister::runtime
