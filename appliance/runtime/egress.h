// Egress control: which hosts and addresses a runtime step may connect to.
//
// An environment's `egress_allow` is a list of host globs ("*.corp.internal",
// "erp.internal", "10.1.2.3"; `*` any run, `?` one character, `\` escapes,
// compared without regard to case). An entry may end in ":port"
// ("erp.internal:8443", "[::1]:8443"), and then matches that port only; a bare
// IPv6 address ("::1") carries no port.
//
// A connection is allowed when the host matches an entry (CheckHost) and
// every address the host resolves to passes CheckAddress. Some addresses are
// refused even under a matching glob, unless an entry without any glob
// character names the host or the address itself: loopback (127/8, ::1),
// link-local (169.254/16, fe80::/10), unspecified (0/8, ::), and their
// IPv4-mapped forms (::ffff:127.0.0.1). The appliance's own listener (its
// port on a loopback, unspecified or own address) is refused unless an entry
// names it as "host:port" or "address:port". Multicast and broadcast
// addresses are always refused.
//
// CheckHost and CheckAddress are pure functions. SystemResolver is
// thread-safe; Resolver implementations must be.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/status.h"

namespace cloister::runtime {

struct EgressPolicy {
  std::vector<std::string> allow;  // the environment's egress_allow
  // The appliance's own HTTPS listener: refused unless an entry names it as
  // "host:port" exactly. 0: unknown (nothing is refused on this account).
  uint16_t own_port = 0;
  // The appliance's own interface addresses (see LocalInterfaceAddresses):
  // with own_port, these are the own listener too, besides loopback and
  // unspecified addresses.
  std::vector<std::string> own_addresses;
};

struct EgressVerdict {
  bool allowed = false;
  std::string rule;    // the allow entry that matched the host, or ""
  std::string reason;  // why refused, for messages; "" when allowed
};

// Whether `host` (a name or an IP literal, IPv6 without brackets, no port;
// compared case-insensitively) on `port` matches an allow entry. Names the
// first entry that matches.
EgressVerdict CheckHost(const EgressPolicy& policy, std::string_view host, uint16_t port);

// Whether `address` (numeric, IPv4 or IPv6, optionally with a "%zone"), which
// `host` resolved to, may be connected to on `port`; see the file comment.
// Also refuses a host that CheckHost refuses. An address that does not parse
// is refused.
EgressVerdict CheckAddress(const EgressPolicy& policy, std::string_view host,
                           const std::string& address, uint16_t port);

// The error for a refused connection: permission_denied, reason
// "egress_denied", details {host, address, rule}; the message names the host
// and the rule (or says that none matched).
Status EgressDenied(std::string_view host, std::string_view address, const EgressVerdict& verdict);

// True when `text` is an IPv4 or IPv6 address literal in its usual form
// (inet_pton; IPv6 without brackets and zone).
bool IsIpLiteral(std::string_view text);

// Turns a host name into numeric addresses. Implementations are thread-safe.
class Resolver {
 public:
  virtual ~Resolver() = default;
  // Numeric addresses ("10.1.2.3", "fd00::1"), in the order to try them, or
  // unavailable (reason "connection_failed") naming the host.
  virtual Result<std::vector<std::string>> Resolve(const std::string& host) = 0;
};

// getaddrinfo (any family, TCP), numeric answers via getnameinfo, duplicates
// removed. Reads no proxy settings. Thread-safe.
class SystemResolver final : public Resolver {
 public:
  Result<std::vector<std::string>> Resolve(const std::string& host) override;
};

// The numeric addresses of this machine's network interfaces (getifaddrs),
// for EgressPolicy::own_addresses; unavailable if they cannot be read.
Result<std::vector<std::string>> LocalInterfaceAddresses();

}  // namespace cloister::runtime
