// Time parameters are instants: since/until of the audit listing and export
// and a promotion's scheduled_for take RFC 3339 with any offset, select
// exactly the window they name, and refuse anything else with 400 naming the
// parameter, over HTTPS and through cloisterctl.
#include <cstdio>
#include <set>
#include <thread>

#include "appliance/core/clock.h"
#include "tests/integration/identity_test_support.h"

namespace cloister::testing {
namespace {

// `utc` (the ledger's form) written at `minutes` east of UTC, with
// `extra_digits` appended to its fraction.
std::string InOffset(const std::string& utc, int minutes, const std::string& extra_digits = "") {
  const auto t = ParseTimestamp(utc);
  EXPECT_TRUE(t) << utc;
  std::string local = FormatTimestamp(*t + std::chrono::minutes(minutes));
  local.pop_back();  // the 'Z'
  char zone[24];
  std::snprintf(zone, sizeof zone, "%c%02d:%02d", minutes < 0 ? '-' : '+', std::abs(minutes) / 60,
                std::abs(minutes) % 60);
  return local + extra_digits + zone;
}

std::string Encoded(std::string text) {
  for (size_t at; (at = text.find('+')) != std::string::npos;) text.replace(at, 1, "%2B");
  return text;
}

class TimeFiltersTest : public IdentityFixture {
 protected:
  void SetUp() override {
    Boot();
    for (const char* name : {"ann", "ben", "cat", "dan"}) {
      MakeUser(name, {"auditor@*"}, "correct horse battery staple");
      std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
    all_ = Events("");
    ASSERT_GE(all_.size(), 8u);
  }
  // The seqs of the ledger whose time t has since <= t <= until (UTC text).
  std::vector<uint64_t> Expected(const std::string& since, const std::string& until, bool strictly_after = false) {
    std::vector<uint64_t> out;
    for (const Json& e : all_) {
      const std::string t = e["time"];
      if ((strictly_after ? t > since : t >= since) && t <= until) out.push_back(e["seq"]);
    }
    return out;
  }
  std::vector<uint64_t> Listed(const std::string& query) {
    const ApiResponse r = Call("GET", "/v1/audit/events?limit=1000&" + query, nullptr, admin_token_);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<uint64_t> out;
    const Json listed = r.json();  // kept: a range-for over a temporary's member would dangle
    for (const Json& e : listed["events"]) out.push_back(e["seq"]);
    return out;
  }
  void ExpectRefusedNaming(const ApiResponse& r, const std::string& parameter) {
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(r.json()["error"]["code"], "invalid_argument") << r.body;
    EXPECT_NE(r.json()["error"]["message"].get<std::string>().find("\"" + parameter + "\""), std::string::npos)
        << r.body;
    EXPECT_EQ(r.json()["error"]["details"]["parameter"], parameter) << r.body;
  }
  Json all_;
};

TEST_F(TimeFiltersTest, OffsetSinceAndUntilSelectExactlyTheirWindow) {
  const std::string first = all_[2]["time"], last = all_[all_.size() - 3]["time"];
  const std::vector<uint64_t> want = Expected(first, last);
  ASSERT_FALSE(want.empty());
  ASSERT_LT(want.size(), all_.size());
  // The same window written in UTC, at +01:00 and at -05:30.
  EXPECT_EQ(Listed("since=" + first + "&until=" + last), want);
  EXPECT_EQ(Listed("since=" + Encoded(InOffset(first, 60)) + "&until=" + Encoded(InOffset(last, -330))), want);
  EXPECT_EQ(Listed("since=" + Encoded(InOffset(first, -330)) + "&until=" + Encoded(InOffset(last, 60))), want);
  // A fraction finer than the ledger's: a bound 999 ns after an event's time
  // excludes it as a lower bound and includes it as an upper one.
  EXPECT_EQ(Listed("since=" + Encoded(InOffset(first, 60, "999")) + "&until=" + Encoded(InOffset(last, 60, "999"))),
            Expected(first, last, /*strictly_after=*/true));
  // Whole seconds, no fraction.
  const std::string second = first.substr(0, 19);
  EXPECT_EQ(Listed("since=" + second + "Z&until=" + last), Expected(second + ".000000Z", last));
}

TEST_F(TimeFiltersTest, AnythingButAnRfc3339InstantIsRefusedNamingTheParameter) {
  for (const char* bad : {"yesterday", "2026-13-01T00:00:00Z", "2026-12-02%2001:30", "2026-12-02T01:30:00",
                          "2026-02-29T00:00:00Z", "1764635400"}) {
    ExpectRefusedNaming(Call("GET", std::string("/v1/audit/events?since=") + bad, nullptr, admin_token_), "since");
    ExpectRefusedNaming(Call("GET", std::string("/v1/audit/events?until=") + bad, nullptr, admin_token_), "until");
  }
  // An unencoded "+" arrives as a space: refused, never read as another time.
  const std::string plus = InOffset(all_[2]["time"], 60);
  ExpectRefusedNaming(Call("GET", "/v1/audit/events?since=" + plus, nullptr, admin_token_), "since");

  ExpectRefusedNaming(Call("POST", "/v1/audit/exports", {{"since", "yesterday"}}, admin_token_), "since");
  ExpectRefusedNaming(Call("POST", "/v1/audit/exports", {{"until", "2026-12-02 01:30"}}, admin_token_), "until");
  ExpectRefusedNaming(Call("POST", "/v1/audit/exports", {{"filter", {{"since", "last week"}}}}, admin_token_),
                      "filter.since");
  const ApiResponse number = Call("POST", "/v1/audit/exports", {{"filter", {{"until", 5}}}}, admin_token_);
  EXPECT_EQ(number.status, 400) << number.body;
  EXPECT_NE(number.body.find("filter.until"), std::string::npos) << number.body;
  // An export by offset times holds the same window.
  const ApiResponse exported = Call("POST", "/v1/audit/exports",
                                    {{"since", InOffset(all_[2]["time"], -330)}, {"until", InOffset(all_[4]["time"], 60)}},
                                    admin_token_);
  EXPECT_EQ(exported.status, 200) << exported.body.substr(0, 300);

  for (const char* bad : {"tomorrow", "2026-12-02", "2026-12-02 22:00:00Z"}) {
    ExpectRefusedNaming(Call("POST", "/v1/promotions", {{"automation", "x"}, {"to", "test"}, {"scheduled_for", bad}},
                             admin_token_),
                        "scheduled_for");
  }
}

TEST_F(TimeFiltersTest, CloisterctlSendsOffsetsIntactAndFailsOnAnythingElse) {
  const std::string first = all_[2]["time"], last = all_[all_.size() - 3]["time"];
  const std::vector<uint64_t> want = Expected(first, last);
  CommandResult r = RunCloisterctl(
      server_, {"--json", "audit", "events", "--since", InOffset(first, 60), "--until", InOffset(last, -330), "--limit", "1000"},
      admin_token_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<uint64_t> got;
  const Json listed = Json::parse(r.out);
  for (const Json& e : listed["events"]) got.push_back(e["seq"]);
  EXPECT_EQ(got, want);

  r = RunCloisterctl(server_, {"audit", "events", "--since", "yesterday"}, admin_token_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("invalid_argument"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"since\""), std::string::npos) << r.err;
  r = RunCloisterctl(server_, {"audit", "events", "--until", "2026-12-02 01:30"}, admin_token_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("\"until\""), std::string::npos) << r.err;
  r = RunCloisterctl(server_, {"audit", "export", "-o", dir_.File("x.tar.gz"), "--since", "yesterday"}, admin_token_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("\"since\""), std::string::npos) << r.err;
  r = RunCloisterctl(server_, {"promote", "x", "--to", "test", "--at", "tomorrow"}, admin_token_);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("\"scheduled_for\""), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cloister::testing
