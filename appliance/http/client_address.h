// The key under which a client address is counted by per-address limits
// (connections, rate limits, lockouts). One IPv6 host is usually given a
// whole /64, so an IPv6 address is counted with its /64; an IPv4-mapped IPv6
// address counts as its IPv4 address.
#pragma once

#include <string>

namespace cloister {

// "192.0.2.7" -> "192.0.2.7"; "::ffff:192.0.2.7" -> "192.0.2.7";
// "2001:db8:1:2:aaaa::1" -> "2001:db8:1:2::/64". Text that is not an IP
// address is returned unchanged.
std::string AddressKey(const std::string& ip);

}  // namespace cloister
