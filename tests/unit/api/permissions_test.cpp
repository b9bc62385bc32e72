// Every route the appliance serves has an entry in the permission table, and
// the administrator guide shows every entry.
#include "appliance/api/permissions.h"

#include <gtest/gtest.h>

#include "appliance/api/routes.h"
#include "tests/support/test_store.h"
#include "tests/support/test_support.h"

namespace cloister {
namespace {

class PermissionTableTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  testing::ManualClock clock_;
  SystemRandom random_;
  Metrics metrics_;
  Logger logger_{"test"};
  SealManager seal_{testing::ApplianceStorageOptions(dir_.path(), 1, clock_), clock_, random_, Logger("test")};
  Appliance appliance_{seal_, random_, clock_, Logger("test"), {}, ""};
  ApiContext ctx_{appliance_, clock_, random_, metrics_, logger_, {}, {}, nullptr, {}};
};

TEST_F(PermissionTableTest, EveryRouteHasAnEntryAndItsRoles) {
  Router router = BuildRouter(ctx_);
  ASSERT_TRUE(ApplyPermissionTable(router).ok());
  ASSERT_FALSE(router.routes().empty());
  for (const Route& route : router.routes()) {
    const PermissionEntry* entry = nullptr;
    for (const auto& e : PermissionTable()) {
      if (e.method == route.method && e.pattern == route.pattern) entry = &e;
    }
    ASSERT_NE(entry, nullptr) << route.method << " " << route.pattern << " has no permission entry";
    if (entry->needs == "public") {
      EXPECT_EQ(route.access, Access::kPublic) << route.pattern;
    } else if (entry->needs != "authenticated") {
      EXPECT_FALSE(route.roles.empty()) << route.pattern;
    }
  }
  EXPECT_EQ(router.routes().size(), PermissionTable().size()) << "the table lists a route the server does not serve";
}

TEST_F(PermissionTableTest, TheAdministratorGuideShowsEveryEntry) {
  const std::string guide = testing::Slurp(std::string(CLOISTER_SOURCE_DIR) + "/docs/admin-guide.md");
  for (const auto& e : PermissionTable()) {
    const std::string row = "| `" + e.method + " " + e.pattern + "` | " + e.needs + " |";
    EXPECT_NE(guide.find(row), std::string::npos) << "docs/admin-guide.md lacks the row: " << row;
  }
}

TEST_F(PermissionTableTest, ARouteWithoutAnEntryIsRefusedByName) {
  Router router;
  router.Add({"DELETE", "/v1/things/{id}", Access::kAuthenticated, false,
              [](HttpRequest&) -> Result<HttpResponse> { return HttpResponse::FromJson(200, {}); }});
  const Status st = ApplyPermissionTable(router);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("DELETE /v1/things/{id}"), std::string::npos);
}

TEST(RolesTest, AdminGrantsEverythingInItsScopeAndOthersOnlyTheirs) {
  const std::vector<RoleBinding> admin_dev = {{Role::kAdmin, "dev"}};
  EXPECT_TRUE(Grants(admin_dev, {Role::kAuditor}, "dev"));
  EXPECT_FALSE(Grants(admin_dev, {Role::kAuditor}, "prod"));
  EXPECT_TRUE(Grants(admin_dev, {Role::kAuditor}, ""));  // not about one environment
  const std::vector<RoleBinding> auditor = {{Role::kAuditor, "*"}};
  EXPECT_TRUE(Grants(auditor, {Role::kAuditor}, "prod"));
  EXPECT_FALSE(Grants(auditor, {Role::kAuthor, Role::kOperator}, ""));
  EXPECT_FALSE(Grants({}, {Role::kAuditor}, ""));
  EXPECT_EQ(ParseRole("approver"), Role::kApprover);
  EXPECT_FALSE(ParseRole("root").has_value());
}

}  // namespace
}  // namespace cloister
