#include "appliance/http/client_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace cloister {

std::string AddressKey(const std::string& ip) {
  in_addr v4{};
  if (inet_pton(AF_INET, ip.c_str(), &v4) == 1) return ip;
  in6_addr v6{};
  if (inet_pton(AF_INET6, ip.c_str(), &v6) != 1) return ip;
  char buf[INET6_ADDRSTRLEN] = {};
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    inet_ntop(AF_INET, &v6.s6_addr[12], buf, sizeof buf);
    return buf;
  }
  std::memset(&v6.s6_addr[8], 0, 8);
  inet_ntop(AF_INET6, &v6, buf, sizeof buf);
  return std::string(buf) + "/64";
}

}  // namespace cloister
