#include "appliance/runtime/egress.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

#include "governance/policy/program.h"

namespace cloister::runtime {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A parsed address: the 16 bytes of its IPv6 form (IPv4 as ::ffff:a.b.c.d).
struct Address {
  std::array<uint8_t, 16> bytes{};
  bool v4 = false;  // written as IPv4
};

std::optional<Address> ParseAddress(std::string_view text) {
  std::string s(text.substr(0, text.find('%')));  // a zone names an interface, not an address
  Address a;
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    a.v4 = true;
    a.bytes[10] = a.bytes[11] = 0xff;
    std::memcpy(&a.bytes[12], &v4, 4);
    return a;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(a.bytes.data(), &v6, 16);
    return a;
  }
  return std::nullopt;
}

// The IPv4 address an IPv6 address carries: IPv4-mapped (::ffff:a.b.c.d) and
// the deprecated IPv4-compatible form (::a.b.c.d), which some stacks route.
std::optional<std::array<uint8_t, 4>> EmbeddedV4(const Address& a) {
  const bool zero80 =
      std::all_of(a.bytes.begin(), a.bytes.begin() + 10, [](uint8_t b) { return b == 0; });
  if (!zero80) return std::nullopt;
  const bool mapped = a.bytes[10] == 0xff && a.bytes[11] == 0xff;
  const bool compatible = a.bytes[10] == 0 && a.bytes[11] == 0;
  if (!mapped && !compatible) return std::nullopt;
  std::array<uint8_t, 4> v4;
  std::copy(a.bytes.begin() + 12, a.bytes.end(), v4.begin());
  return v4;
}

std::string V4Text(const std::array<uint8_t, 4>& v4) {
  char buf[INET_ADDRSTRLEN];
  return inet_ntop(AF_INET, v4.data(), buf, sizeof buf) ? buf : "";
}

// Canonical text: dotted quad for IPv4 (and its mapped form), RFC 5952 for IPv6.
std::string Canonical(const Address& a) {
  if (a.v4) return V4Text({a.bytes[12], a.bytes[13], a.bytes[14], a.bytes[15]});
  char buf[INET6_ADDRSTRLEN];
  return inet_ntop(AF_INET6, a.bytes.data(), buf, sizeof buf) ? buf : "";
}

enum class Kind { kOrdinary, kLoopback, kLinkLocal, kUnspecified, kMulticast, kBroadcast };

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kLoopback:
      return "a loopback address";
    case Kind::kLinkLocal:
      return "a link-local address";
    case Kind::kUnspecified:
      return "an unspecified address";
    case Kind::kMulticast:
      return "a multicast address";
    case Kind::kBroadcast:
      return "the broadcast address";
    case Kind::kOrdinary:
      break;
  }
  return "an address";
}

Kind ClassifyV4(const std::array<uint8_t, 4>& b) {
  if (b[0] == 127) return Kind::kLoopback;
  if (b[0] == 0)
    return Kind::kUnspecified;  // 0/8: "this network"; Linux connects 0.0.0.0 to itself
  if (b[0] == 169 && b[1] == 254) return Kind::kLinkLocal;
  if (b[0] >= 224 && b[0] <= 239) return Kind::kMulticast;
  if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255) return Kind::kBroadcast;
  return Kind::kOrdinary;
}

Kind Classify(const Address& a) {
  const auto& b = a.bytes;
  const bool zero120 = std::all_of(b.begin(), b.begin() + 15, [](uint8_t x) { return x == 0; });
  if (zero120 && b[15] == 1) return Kind::kLoopback;  // ::1
  if (zero120 && b[15] == 0) return Kind::kUnspecified;
  if (auto v4 = EmbeddedV4(a)) return ClassifyV4(*v4);
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return Kind::kLinkLocal;  // fe80::/10
  if (b[0] == 0xff) return Kind::kMulticast;
  return Kind::kOrdinary;
}

// One egress_allow entry, parsed.
struct Entry {
  std::string host;              // lower case; canonical when an IP literal
  std::optional<uint16_t> port;  // only this port, when set
  bool exact = false;            // no glob characters: names one host or address
  bool valid = true;
};

std::optional<uint16_t> ParsePort(std::string_view digits) {
  if (digits.empty() || digits.size() > 5) return std::nullopt;
  uint32_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

Entry ParseEntry(std::string_view raw) {
  Entry e;
  const std::string text = Lower(raw);
  std::string_view port_text;
  bool has_port = false;
  if (!text.empty() && text[0] == '[') {  // [v6] or [v6]:port
    const size_t close = text.find(']');
    if (close == std::string::npos) return Entry{.valid = false};
    e.host = text.substr(1, close - 1);
    const std::string_view rest = std::string_view(text).substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return Entry{.valid = false};
      port_text = rest.substr(1);
      has_port = true;
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {  // host:port
    const size_t colon = text.find(':');
    e.host = text.substr(0, colon);
    port_text = std::string_view(text).substr(colon + 1);
    has_port = true;
  } else {  // a host, a glob, or a bare IPv6 address
    e.host = text;
  }
  if (has_port) {
    e.port = ParsePort(port_text);
    if (!e.port) return Entry{.valid = false};
  }
  if (e.host.empty()) return Entry{.valid = false};
  e.exact = e.host.find_first_of("*?\\") == std::string::npos;
  if (e.exact) {
    if (auto a = ParseAddress(e.host); a && e.host.find('%') == std::string::npos)
      e.host = Canonical(*a);
  }
  return e;
}

// The host as entries are compared with: lower case, canonical if an IP literal.
std::string NormalHost(std::string_view host) {
  std::string h = Lower(host);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (IsIpLiteral(h)) {
    if (auto a = ParseAddress(h)) return Canonical(*a);
  }
  return h;
}

// The first exact entry for `port` naming one of `names`, or "".
std::string ExactEntryNaming(const EgressPolicy& policy, const std::vector<std::string>& names,
                             uint16_t port, bool port_required) {
  for (const std::string& raw : policy.allow) {
    const Entry e = ParseEntry(raw);
    if (!e.valid || !e.exact) continue;
    if (e.port ? *e.port != port : port_required) continue;
    if (std::find(names.begin(), names.end(), e.host) != names.end()) return raw;
  }
  return "";
}

}  // namespace

bool IsIpLiteral(std::string_view text) {
  const std::string s(text);
  in_addr v4{};
  in6_addr v6{};
  return inet_pton(AF_INET, s.c_str(), &v4) == 1 || inet_pton(AF_INET6, s.c_str(), &v6) == 1;
}

EgressVerdict CheckHost(const EgressPolicy& policy, std::string_view host, uint16_t port) {
  const std::string h = NormalHost(host);
  if (h.empty()) return {false, "", "the host is empty"};
  for (const std::string& raw : policy.allow) {
    const Entry e = ParseEntry(raw);
    if (!e.valid || (e.port && *e.port != port)) continue;
    if (e.exact ? e.host == h : policy::GlobMatch(h, e.host)) return {true, raw, ""};
  }
  if (policy.allow.empty()) return {false, "", "the environment's egress_allow is empty"};
  return {false, "", "no egress_allow entry matches it (port " + std::to_string(port) + ")"};
}

EgressVerdict CheckAddress(const EgressPolicy& policy, std::string_view host,
                           const std::string& address, uint16_t port) {
  EgressVerdict verdict = CheckHost(policy, host, port);
  if (!verdict.allowed) return verdict;
  const std::optional<Address> parsed = ParseAddress(address);
  if (!parsed) return {false, verdict.rule, "the address \"" + address + "\" is not numeric"};

  const Kind kind = Classify(*parsed);
  const std::string canonical = Canonical(*parsed);
  if (kind == Kind::kMulticast || kind == Kind::kBroadcast) {
    return {false, verdict.rule,
            "it resolves to " + canonical + ", " + KindName(kind) + ", which is never allowed"};
  }
  // The names an exact entry may use for this endpoint.
  std::vector<std::string> names = {NormalHost(host), canonical};
  if (auto v4 = EmbeddedV4(*parsed)) names.push_back(V4Text(*v4));

  bool own = false;
  if (policy.own_port != 0 && port == policy.own_port) {
    own = kind == Kind::kLoopback || kind == Kind::kUnspecified;
    for (const std::string& a : policy.own_addresses) {
      if (auto p = ParseAddress(a); p && (Canonical(*p) == canonical || p->bytes == parsed->bytes))
        own = true;
    }
  }
  if (own) {
    std::string rule = ExactEntryNaming(policy, names, port, /*port_required=*/true);
    if (rule.empty()) {
      return {false, verdict.rule,
              "it resolves to " + canonical + ", and port " + std::to_string(port) +
                  " there is the appliance's own listener, which only an entry \"host:" +
                  std::to_string(port) + "\" naming it allows"};
    }
    return {true, rule, ""};
  }
  if (kind != Kind::kOrdinary) {
    std::string rule = ExactEntryNaming(policy, names, port, /*port_required=*/false);
    if (rule.empty()) {
      return {false, verdict.rule,
              "it resolves to " + canonical + ", " + KindName(kind) +
                  ", which only an entry naming the host or the address exactly allows"};
    }
    return {true, rule, ""};
  }
  return verdict;
}

Status EgressDenied(std::string_view host, std::string_view address, const EgressVerdict& verdict) {
  // A refusal without a rule already says that no entry matched.
  const std::string rule = verdict.rule.empty() ? "" : " (rule \"" + verdict.rule + "\")";
  return Status::PermissionDenied("egress to " + std::string(host) + " refused: " + verdict.reason +
                                  rule)
      .WithReason("egress_denied")
      .WithDetails(
          {{"host", std::string(host)}, {"address", std::string(address)}, {"rule", verdict.rule}});
}

Result<std::vector<std::string>> SystemResolver::Resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0) {
    return Status::Unavailable("resolving " + host + ": " + gai_strerror(rc))
        .WithReason("connection_failed");
  }
  std::vector<std::string> out;
  for (const addrinfo* ai = list; ai; ai = ai->ai_next) {
    char buf[NI_MAXHOST];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) !=
        0) {
      continue;
    }
    if (std::find(out.begin(), out.end(), buf) == out.end()) out.emplace_back(buf);
  }
  freeaddrinfo(list);
  if (out.empty()) {
    return Status::Unavailable("resolving " + host + ": no addresses")
        .WithReason("connection_failed");
  }
  return out;
}

Result<std::vector<std::string>> LocalInterfaceAddresses() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) {
    return Status::Unavailable(std::string("reading the interface addresses: ") +
                               std::strerror(errno));
  }
  std::vector<std::string> out;
  for (const ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    const int family = i->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    const socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    char buf[NI_MAXHOST];
    if (getnameinfo(i->ifa_addr, len, buf, sizeof buf, nullptr, 0, NI_NUMERICHOST) != 0) continue;
    if (std::find(out.begin(), out.end(), buf) == out.end()) out.emplace_back(buf);
  }
  freeifaddrs(list);
  return out;
}

}  // namespace cloister::runtime
