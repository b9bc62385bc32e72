#include "appliance/http/client_address.h"

#include <gtest/gtest.h>

namespace cloister {
namespace {

TEST(ClientAddressTest, Ipv4AddressesAreTheirOwnKey) {
  EXPECT_EQ(AddressKey("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(AddressKey("127.0.0.1"), "127.0.0.1");
}

TEST(ClientAddressTest, Ipv4MappedIpv6AddressesCountAsTheirIpv4Address) {
  EXPECT_EQ(AddressKey("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(AddressKey("::FFFF:c000:0207"), "192.0.2.7");
}

TEST(ClientAddressTest, OneIpv6SlashSixtyFourIsOneKey) {
  // A client holding a /64 can use 2^64 addresses: every one of them must
  // count against the same limit.
  const std::string key = AddressKey("2001:db8:1:2::1");
  EXPECT_EQ(key, "2001:db8:1:2::/64");
  for (const char* other : {"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2:dead:beef:0:7",
                            "2001:0db8:0001:0002:0000:0000:0000:0002"}) {
    EXPECT_EQ(AddressKey(other), key) << other;
  }
  EXPECT_NE(AddressKey("2001:db8:1:3::1"), key);
  EXPECT_EQ(AddressKey("::1"), "::/64");
}

TEST(ClientAddressTest, TextThatIsNotAnAddressIsUnchanged) {
  EXPECT_EQ(AddressKey(""), "");
  EXPECT_EQ(AddressKey("not-an-address"), "not-an-address");
}

}  // namespace
}  // namespace cloister
