#include "appliance/runtime/egress.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace cloister::runtime {
namespace {

EgressPolicy Allow(std::vector<std::string> allow, uint16_t own_port = 0) {
  EgressPolicy p;
  p.allow = std::move(allow);
  p.own_port = own_port;
  return p;
}

TEST(EgressTest, HostMatchesAGlobAndNamesTheFirstMatchingEntry) {
  const EgressPolicy p = Allow({"*.corp.internal", "erp.internal", "*"});
  EgressVerdict v = CheckHost(p, "api.corp.internal", 443);
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.rule, "*.corp.internal");
  v = CheckHost(p, "erp.internal", 443);
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.rule, "erp.internal");
  EXPECT_EQ(CheckHost(Allow({"*.corp.internal"}), "corp.internal", 443).allowed, false);
  EXPECT_EQ(CheckHost(Allow({"erp.internal"}), "erp.internal.evil.com", 443).allowed, false);
  EXPECT_EQ(CheckHost(Allow({"erp?.internal"}), "erp1.internal", 80).allowed, true);
}

TEST(EgressTest, UnmatchedHostIsRefusedWithAMessageNamingIt) {
  const EgressPolicy p = Allow({"*.corp.internal"});
  const EgressVerdict v = CheckHost(p, "evil.example", 443);
  ASSERT_FALSE(v.allowed);
  EXPECT_EQ(v.rule, "");
  const Status s = EgressDenied("evil.example", "", v);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.reason(), "egress_denied");
  EXPECT_NE(s.message().find("evil.example"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("no egress_allow entry matches"), std::string::npos) << s.message();
  EXPECT_EQ(s.details()["host"], "evil.example");
  EXPECT_EQ(s.details()["rule"], "");
}

TEST(EgressTest, EmptyAllowListRefusesEverything) {
  EXPECT_FALSE(CheckHost(Allow({}), "erp.internal", 443).allowed);
  EXPECT_FALSE(CheckAddress(Allow({}), "erp.internal", "10.1.2.3", 443).allowed);
}

TEST(EgressTest, HostsAndEntriesCompareWithoutCase) {
  EXPECT_TRUE(CheckHost(Allow({"ERP.Internal"}), "erp.INTERNAL", 443).allowed);
  EXPECT_TRUE(CheckHost(Allow({"*.Corp.Internal"}), "API.corp.internal", 443).allowed);
  EXPECT_TRUE(CheckAddress(Allow({"LocalHost"}), "LOCALHOST", "127.0.0.1", 80).allowed);
}

TEST(EgressTest, EntryWithAPortMatchesThatPortOnly) {
  const EgressPolicy p = Allow({"erp.internal:8443", "[fd00::1]:443"});
  EXPECT_TRUE(CheckHost(p, "erp.internal", 8443).allowed);
  EXPECT_FALSE(CheckHost(p, "erp.internal", 443).allowed);
  EXPECT_TRUE(CheckHost(p, "fd00::1", 443).allowed);
  EXPECT_FALSE(CheckHost(p, "fd00::1", 80).allowed);
  EXPECT_FALSE(CheckHost(Allow({"erp.internal:notaport"}), "erp.internal", 443).allowed);
}

TEST(EgressTest, OrdinaryAddressesPassUnderAGlob) {
  const EgressPolicy p = Allow({"*.corp.internal"});
  EXPECT_TRUE(CheckAddress(p, "api.corp.internal", "10.1.2.3", 443).allowed);
  EXPECT_TRUE(CheckAddress(p, "api.corp.internal", "fd00::1", 443).allowed);
  EXPECT_TRUE(CheckAddress(p, "api.corp.internal", "203.0.113.7", 443).allowed);
}

TEST(EgressTest, AddressCheckAlsoRefusesAHostThatDoesNotMatch) {
  EXPECT_FALSE(CheckAddress(Allow({"*.corp.internal"}), "evil.example", "10.1.2.3", 443).allowed);
}

TEST(EgressTest, LoopbackIsRefusedUnderAGlob) {
  const EgressPolicy p = Allow({"*"});
  for (const char* a :
       {"127.0.0.1", "127.5.6.7", "::1", "::ffff:127.0.0.1", "::127.0.0.1", "0:0:0:0:0:0:0:1"}) {
    const EgressVerdict v = CheckAddress(p, "evil.example", a, 80);
    EXPECT_FALSE(v.allowed) << a;
    EXPECT_EQ(v.rule, "*") << a;
    EXPECT_NE(v.reason.find("loopback"), std::string::npos) << v.reason;
  }
  const Status s =
      EgressDenied("evil.example", "127.0.0.1", CheckAddress(p, "evil.example", "127.0.0.1", 80));
  EXPECT_NE(s.message().find("evil.example"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("rule \"*\""), std::string::npos) << s.message();
  EXPECT_EQ(s.details()["address"], "127.0.0.1");
  // A glob that happens to match "localhost" does not name it.
  EXPECT_FALSE(CheckAddress(Allow({"local*"}), "localhost", "127.0.0.1", 80).allowed);
}

TEST(EgressTest, LoopbackIsAllowedWhenAnEntryNamesTheHostOrAddressExactly) {
  EXPECT_TRUE(CheckAddress(Allow({"localhost"}), "localhost", "127.0.0.1", 80).allowed);
  EXPECT_TRUE(CheckAddress(Allow({"localhost"}), "localhost", "::1", 80).allowed);
  const EgressVerdict v = CheckAddress(Allow({"*", "127.0.0.1"}), "svc.test", "127.0.0.1", 80);
  EXPECT_TRUE(v.allowed);
  EXPECT_EQ(v.rule, "127.0.0.1");
  EXPECT_TRUE(CheckAddress(Allow({"127.0.0.1"}), "127.0.0.1", "127.0.0.1", 80).allowed);
  EXPECT_TRUE(CheckAddress(Allow({"0:0:0:0:0:0:0:1"}), "::1", "::1", 80).allowed);
  // The mapped form is the same endpoint as the address it carries.
  EXPECT_TRUE(CheckAddress(Allow({"*", "127.0.0.1"}), "svc.test", "::ffff:127.0.0.1", 80).allowed);
  // An exact entry for another port does not name it on this one.
  EXPECT_FALSE(CheckAddress(Allow({"*", "127.0.0.1:9000"}), "svc.test", "127.0.0.1", 80).allowed);
}

TEST(EgressTest, LinkLocalAndUnspecifiedAreRefusedUnlessNamed) {
  const EgressPolicy p = Allow({"*"});
  for (const char* a : {"169.254.169.254", "fe80::1", "fe80::1%eth0", "febf::1",
                        "::ffff:169.254.1.1", "0.0.0.0", "0.1.2.3", "::", "::ffff:0.0.0.0"}) {
    EXPECT_FALSE(CheckAddress(p, "svc.test", a, 80).allowed) << a;
  }
  EXPECT_TRUE(CheckAddress(p, "svc.test", "fec0::1", 80).allowed);  // just outside fe80::/10
  EXPECT_TRUE(CheckAddress(Allow({"metadata.internal"}), "metadata.internal", "169.254.169.254", 80)
                  .allowed);
  EXPECT_TRUE(
      CheckAddress(Allow({"*", "169.254.169.254"}), "svc.test", "169.254.169.254", 80).allowed);
}

TEST(EgressTest, MulticastBroadcastAndJunkAreAlwaysRefused) {
  const EgressPolicy p = Allow({"*", "224.0.0.1", "255.255.255.255", "ff02::1"});
  for (const char* a :
       {"224.0.0.1", "239.1.2.3", "255.255.255.255", "ff02::1", "::ffff:224.0.0.1"}) {
    EXPECT_FALSE(CheckAddress(p, a, a, 80).allowed) << a;
  }
  EXPECT_FALSE(CheckAddress(p, "svc.test", "not-an-address", 80).allowed);
  EXPECT_FALSE(CheckAddress(p, "svc.test", "", 80).allowed);
}

TEST(EgressTest, OwnListenerIsRefusedUnlessNamedWithItsPort) {
  EgressPolicy p = Allow({"*", "127.0.0.1", "localhost"}, 8443);
  EgressVerdict v = CheckAddress(p, "localhost", "127.0.0.1", 8443);
  EXPECT_FALSE(v.allowed);
  EXPECT_NE(v.reason.find("own listener"), std::string::npos) << v.reason;
  EXPECT_FALSE(CheckAddress(p, "127.0.0.1", "127.0.0.1", 8443).allowed);
  EXPECT_FALSE(CheckAddress(p, "localhost", "::1", 8443).allowed);
  EXPECT_FALSE(CheckAddress(p, "svc.test", "0.0.0.0", 8443).allowed);
  EXPECT_TRUE(CheckAddress(p, "localhost", "127.0.0.1", 8444).allowed);  // another port

  p.allow.push_back("127.0.0.1:8443");
  EXPECT_TRUE(CheckAddress(p, "localhost", "127.0.0.1", 8443).allowed);
  EXPECT_TRUE(
      CheckAddress(Allow({"localhost:8443"}, 8443), "localhost", "127.0.0.1", 8443).allowed);
  EXPECT_TRUE(CheckAddress(Allow({"[::1]:8443"}, 8443), "::1", "::1", 8443).allowed);

  // Its own interface addresses are the listener too.
  p = Allow({"*"}, 8443);
  p.own_addresses = {"10.0.0.5"};
  EXPECT_FALSE(CheckAddress(p, "app.test", "10.0.0.5", 8443).allowed);
  EXPECT_TRUE(CheckAddress(p, "app.test", "10.0.0.5", 443).allowed);
  EXPECT_TRUE(CheckAddress(p, "app.test", "10.0.0.6", 8443).allowed);
}

TEST(EgressTest, IpLiterals) {
  EXPECT_TRUE(IsIpLiteral("10.1.2.3"));
  EXPECT_TRUE(IsIpLiteral("::1"));
  EXPECT_FALSE(IsIpLiteral("[::1]"));
  EXPECT_FALSE(IsIpLiteral("2130706433"));  // inet_aton would take it; not a literal here
  EXPECT_FALSE(IsIpLiteral("erp.internal"));
}

TEST(EgressTest, SystemResolverAnswersNumerically) {
  SystemResolver resolver;
  Result<std::vector<std::string>> r = resolver.Resolve("127.0.0.1");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, std::vector<std::string>{"127.0.0.1"});
  // The decimal form resolves to the loopback address, which the address
  // check then sees for what it is.
  r = resolver.Resolve("2130706433");
  if (r.ok()) {
    ASSERT_FALSE(r->empty());
    EXPECT_FALSE(CheckAddress(Allow({"*"}), "2130706433", r->front(), 80).allowed);
  }
}

}  // namespace
}  // namespace cloister::runtime
