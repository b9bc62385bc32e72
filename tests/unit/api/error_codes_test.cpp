// The client error table holds every code a client can be answered with.
// These tests read the sources under appliance/, audit/ and governance/ and
// the Errors table of docs/api.md, and fail, naming file and line, when a
// reason set with WithReason or a code the HTTP layer answers itself is not
// in the table, when a listed code is not documented under its HTTP status,
// or when the table contradicts the Status -> HTTP mapping. They also check
// how ClientErrorResponse answers listed and unlisted reasons, and that the
// dispatcher renders failures through the renderer it is given.
#include "appliance/api/error_codes.h"

#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "appliance/http/dispatcher.h"
#include "tests/support/test_support.h"

namespace cloister {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kRoots = {"appliance", "audit", "governance"};
// Where WithReason itself is declared and defined, with a parameter.
const std::set<std::string> kWithReasonDefinitions = {"appliance/core/status.h",
                                                      "appliance/core/status.cpp"};

struct SourceFile {
  std::string path;  // from the source root
  std::string text;
};

std::vector<SourceFile> Sources() {
  std::vector<SourceFile> files;
  for (const std::string& root : kRoots) {
    for (const auto& entry :
         fs::recursive_directory_iterator(std::string(CLOISTER_SOURCE_DIR) + "/" + root)) {
      const std::string ext = entry.path().extension().string();
      if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".h")) continue;
      files.push_back(
          {fs::relative(entry.path(), CLOISTER_SOURCE_DIR).string(), testing::Slurp(entry.path())});
    }
  }
  return files;
}

int LineOf(const std::string& text, size_t offset) {
  int line = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) line += text[i] == '\n';
  return line;
}

// Reads the string literal that starts at text[pos] == '"'; pos ends past it.
std::string ReadLiteral(const std::string& text, size_t& pos) {
  std::string out;
  for (++pos; pos < text.size() && text[pos] != '"'; ++pos) {
    if (text[pos] == '\\' && pos + 1 < text.size()) ++pos;
    out += text[pos];
  }
  ++pos;
  return out;
}

struct CodeUse {
  std::string where;  // "file:line"
  std::string code;
  int http_status = 0;  // for ErrorResponse(<status>, "<code>", ...); 0 for a reason
};

// Every string literal inside the parentheses of each WithReason(...) call
// (both arms of a conditional are found); a call without one is reported in
// `computed`, since its reason cannot be checked against the table.
std::vector<CodeUse> ReasonsIn(const SourceFile& file, std::vector<std::string>& computed) {
  std::vector<CodeUse> uses;
  const std::string needle = "WithReason(";
  for (size_t at = file.text.find(needle); at != std::string::npos;
       at = file.text.find(needle, at + 1)) {
    const std::string where = file.path + ":" + std::to_string(LineOf(file.text, at));
    size_t pos = at + needle.size();
    int depth = 1;
    bool literal = false;
    while (pos < file.text.size() && depth > 0) {
      const char c = file.text[pos];
      if (c == '"') {
        uses.push_back({where, ReadLiteral(file.text, pos)});
        literal = true;
        continue;
      }
      depth += c == '(' ? 1 : c == ')' ? -1 : 0;
      ++pos;
    }
    if (!literal && !kWithReasonDefinitions.count(file.path)) computed.push_back(where);
  }
  return uses;
}

// Every ErrorResponse(<digits>, "<code>" call: the HTTP layer's fixed answers.
std::vector<CodeUse> FixedAnswersIn(const SourceFile& file) {
  std::vector<CodeUse> uses;
  const std::string& t = file.text;
  const std::string needle = "ErrorResponse(";
  auto skip_space = [&](size_t& p) {
    while (p < t.size() && std::isspace(static_cast<unsigned char>(t[p]))) ++p;
  };
  for (size_t at = t.find(needle); at != std::string::npos; at = t.find(needle, at + 1)) {
    size_t p = at + needle.size();
    skip_space(p);
    const size_t digits = p;
    while (p < t.size() && std::isdigit(static_cast<unsigned char>(t[p]))) ++p;
    if (p == digits) continue;  // ErrorResponse(status) or the definition
    const int http_status = std::stoi(t.substr(digits, p - digits));
    skip_space(p);
    if (p >= t.size() || t[p] != ',') continue;
    ++p;
    skip_space(p);
    if (p >= t.size() || t[p] != '"') continue;
    uses.push_back(
        {file.path + ":" + std::to_string(LineOf(t, at)), ReadLiteral(t, p), http_status});
  }
  return uses;
}

// The codes of docs/api.md's Errors table, each with the HTTP statuses of
// the rows that list it. A code is a backquoted snake_case word outside
// parentheses (what is inside them explains the code before it).
std::map<std::string, std::set<int>> DocumentedCodes() {
  const std::string doc = testing::Slurp(std::string(CLOISTER_SOURCE_DIR) + "/docs/api.md");
  std::map<std::string, std::set<int>> codes;
  const size_t errors = doc.find("**Errors.**");
  if (errors == std::string::npos) return codes;
  size_t pos = doc.find("\n| HTTP |", errors);
  if (pos == std::string::npos) return codes;
  for (pos = doc.find('\n', pos + 1); pos != std::string::npos && doc.compare(pos, 2, "\n|") == 0;
       pos = doc.find('\n', pos + 1)) {
    const std::string row = doc.substr(pos + 1, doc.find('\n', pos + 1) - pos - 1);
    const size_t cell = row.find('|', 1);
    if (cell == std::string::npos || !std::isdigit(static_cast<unsigned char>(row[2])))
      continue;  // |---|
    const int http_status = std::stoi(row.substr(1, cell - 1));
    std::string top;  // the row's codes cell without parenthesized text
    int depth = 0;
    for (size_t i = cell + 1; i < row.size(); ++i) {
      depth += row[i] == '(' ? 1 : row[i] == ')' ? -1 : 0;
      if (depth == 0 && row[i] != ')') top += row[i];
    }
    for (size_t b = top.find('`'); b != std::string::npos; b = top.find('`', b + 1)) {
      const size_t e = top.find('`', b + 1);
      if (e == std::string::npos) break;
      const std::string word = top.substr(b + 1, e - b - 1);
      bool snake = !word.empty() && std::islower(static_cast<unsigned char>(word[0]));
      for (char c : word)
        snake = snake && (std::islower(static_cast<unsigned char>(c)) || c == '_');
      if (snake) codes[word].insert(http_status);
      b = e;
    }
  }
  return codes;
}

Status WithCode(StatusCode code) {
  switch (code) {
    case StatusCode::kInvalidArgument:
      return Status::InvalidArgument("x");
    case StatusCode::kNotFound:
      return Status::NotFound("x");
    case StatusCode::kAlreadyExists:
      return Status::AlreadyExists("x");
    case StatusCode::kPermissionDenied:
      return Status::PermissionDenied("x");
    case StatusCode::kUnauthenticated:
      return Status::Unauthenticated("x");
    case StatusCode::kFailedPrecondition:
      return Status::FailedPrecondition("x");
    case StatusCode::kConflict:
      return Status::Conflict("x");
    case StatusCode::kResourceExhausted:
      return Status::ResourceExhausted("x");
    case StatusCode::kUnavailable:
      return Status::Unavailable("x");
    case StatusCode::kCorruption:
      return Status::Corruption("x");
    case StatusCode::kInternal:
      return Status::Internal("x");
    case StatusCode::kOk:
      break;
  }
  return Status::Ok();
}

const std::vector<StatusCode> kFailureCodes = {
    StatusCode::kInvalidArgument,  StatusCode::kNotFound,          StatusCode::kAlreadyExists,
    StatusCode::kPermissionDenied, StatusCode::kUnauthenticated,   StatusCode::kFailedPrecondition,
    StatusCode::kConflict,         StatusCode::kResourceExhausted, StatusCode::kUnavailable,
    StatusCode::kCorruption,       StatusCode::kInternal};

std::string HeaderOf(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

Json ErrorOf(const HttpResponse& r) { return Json::parse(r.body)["error"]; }

TEST(ErrorCodesTest, EveryReasonSetInTheSourcesIsInTheTable) {
  size_t seen = 0;
  std::vector<std::string> computed;
  for (const SourceFile& file : Sources()) {
    for (const CodeUse& use : ReasonsIn(file, computed)) {
      ++seen;
      EXPECT_NE(FindErrorCode(use.code), nullptr)
          << use.where << ": reason \"" << use.code << "\" is not in the client error table "
          << "(appliance/api/error_codes.cpp); declare it there and in docs/api.md's Errors table";
    }
  }
  for (const std::string& where : computed) {
    ADD_FAILURE() << where
                  << ": WithReason with a computed reason; pass a string literal so the client "
                  << "error table can be checked against it";
  }
  EXPECT_GT(seen, 50u) << "the scan found too few reasons: is CLOISTER_SOURCE_DIR right?";
}

TEST(ErrorCodesTest, EveryFixedAnswerOfTheHttpLayerIsInTheTableWithItsStatus) {
  size_t seen = 0;
  for (const SourceFile& file : Sources()) {
    for (const CodeUse& use : FixedAnswersIn(file)) {
      ++seen;
      const ErrorCode* entry = FindErrorCode(use.code);
      if (entry == nullptr) {
        ADD_FAILURE() << use.where << ": code \"" << use.code
                      << "\" is not in the client error table "
                      << "(appliance/api/error_codes.cpp)";
      } else {
        EXPECT_EQ(entry->http_status, use.http_status)
            << use.where << ": \"" << use.code << "\" is answered with " << use.http_status
            << " but the table gives " << entry->http_status;
      }
    }
  }
  EXPECT_GT(seen, 10u) << "the scan found too few fixed answers: is CLOISTER_SOURCE_DIR right?";
}

TEST(ErrorCodesTest, EveryCodeIsDocumentedUnderItsHttpStatus) {
  const auto documented = DocumentedCodes();
  ASSERT_FALSE(documented.empty()) << "no Errors table under **Errors.** in docs/api.md";
  for (const ErrorCode& e : ErrorCodes()) {
    const auto it = documented.find(std::string(e.code));
    EXPECT_TRUE(it != documented.end() && it->second.count(e.http_status))
        << "\"" << e.code << "\" is not in docs/api.md's Errors table in the row of HTTP "
        << e.http_status;
  }
}

TEST(ErrorCodesTest, EveryDocumentedCodeIsInTheTable) {
  for (const auto& [code, statuses] : DocumentedCodes()) {
    const ErrorCode* entry = FindErrorCode(code);
    EXPECT_NE(entry, nullptr) << "docs/api.md's Errors table lists \"" << code
                              << "\", which the client error table does not";
    if (entry) {
      EXPECT_EQ(statuses, std::set<int>{entry->http_status})
          << "docs/api.md lists \"" << code << "\" under another HTTP status than the table's "
          << entry->http_status;
    }
  }
}

TEST(ErrorCodesTest, TableAgreesWithTheStatusToHttpMapping) {
  std::set<std::string_view> codes;
  for (const ErrorCode& e : ErrorCodes()) {
    EXPECT_TRUE(codes.insert(e.code).second) << "\"" << e.code << "\" is listed twice";
    EXPECT_FALSE(e.meaning.empty()) << e.code;
    if (e.status_code) {
      EXPECT_EQ(e.http_status, HttpStatusFor(WithCode(*e.status_code))) << e.code;
    }
  }
  for (StatusCode code : kFailureCodes) {
    const ErrorCode* generic = FindErrorCode(StatusCodeName(code));
    ASSERT_NE(generic, nullptr) << "the generic code " << StatusCodeName(code) << " is not listed";
    EXPECT_EQ(generic->status_code, code) << generic->code;
  }
}

TEST(ErrorCodesTest, ListedDomainReasonIsAnsweredUnderItsOwnCode) {
  UnlistedReasonLog unlisted(Logger("test"));
  const Status refused =
      Status::Conflict("promotion prm_1 is deployed; it can no longer be approved")
          .WithReason("promotion_state")
          .WithDetails({{"state", "deployed"}});
  const HttpResponse r = ClientErrorResponse(refused, unlisted);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(ErrorOf(r)["code"], "promotion_state");
  EXPECT_EQ(ErrorOf(r)["message"], refused.message());
  EXPECT_EQ(ErrorOf(r)["details"], Json({{"state", "deployed"}}));
  EXPECT_FALSE(unlisted.Reported("promotion_state")) << "a listed reason was reported as unlisted";
}

TEST(ErrorCodesTest, UnlistedReasonIsAnsweredWithTheGenericCodeAndReportedOnce) {
  UnlistedReasonLog unlisted(Logger("test"));
  const Status odd = Status::PermissionDenied("refused").WithReason("a_reason_nobody_declared");
  const HttpResponse r = ClientErrorResponse(odd, unlisted);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(ErrorOf(r)["code"], "permission_denied");
  EXPECT_EQ(ErrorOf(r)["message"], "refused");
  EXPECT_TRUE(unlisted.Reported("a_reason_nobody_declared"))
      << "the unlisted reason was not reported";
  EXPECT_EQ(ErrorOf(ClientErrorResponse(odd, unlisted))["code"], "permission_denied");
  EXPECT_FALSE(unlisted.Report(odd)) << "a reason already reported was logged again";
}

TEST(ErrorCodesTest, AnswersKeepTodaysStatusesAndHeaders) {
  UnlistedReasonLog unlisted(Logger("test"));
  const HttpResponse plain = ClientErrorResponse(Status::NotFound("no widget 7"), unlisted);
  EXPECT_EQ(plain.status, 404);
  EXPECT_EQ(ErrorOf(plain)["code"], "not_found");
  EXPECT_TRUE(ErrorOf(plain)["details"].is_object());
  const HttpResponse full =
      ClientErrorResponse(Status::Unavailable("queue full").WithReason("overloaded"), unlisted);
  EXPECT_EQ(full.status, 503);
  EXPECT_EQ(HeaderOf(full, "Retry-After"), "1");
  // The HTTP status follows the Status's code, as HttpStatusFor has it.
  const HttpResponse compromised = ClientErrorResponse(
      Status::Corruption("refusing to sign").WithReason("ledger_integrity"), unlisted);
  EXPECT_EQ(compromised.status, 500);
  EXPECT_EQ(ErrorOf(compromised)["code"], "ledger_integrity");
}

class ThrottlingGate final : public RequestGate {
 public:
  bool Sealed() const override { return false; }
  Result<Principal> Authenticate(const HttpRequest&, const Credentials&) override {
    return Status::ResourceExhausted("too many failed authentications")
        .WithReason("too_many_failures")
        .WithDetails({{"retry_after_seconds", 30}});
  }
  Status Authorize(HttpRequest&, const Route&) override { return Status::Ok(); }
};

class DispatcherRendererTest : public ::testing::Test {
 protected:
  void SetUp() override {
    DescribeHttpMetrics(metrics_);
    router_.Add({"GET", "/odd", Access::kPublic, true, [](HttpRequest&) -> Result<HttpResponse> {
                   return Status::Conflict("odd").WithReason("a_reason_nobody_declared");
                 }});
    router_.Add(
        {"GET", "/secret", Access::kAuthenticated, true,
         [](HttpRequest&) -> Result<HttpResponse> { return HttpResponse::FromJson(200, {}); }});
  }
  HttpResponse Send(Dispatcher& dispatcher, const std::string& path,
                    const std::string& bearer = "") {
    HttpRequest r;
    r.method = "GET";
    r.path = path;
    r.remote_ip = "127.0.0.1";
    if (!bearer.empty()) r.headers["authorization"] = "Bearer " + bearer;
    return dispatcher.Handle(r);
  }
  DispatcherOptions ApiOptions() {
    DispatcherOptions options;
    options.error_response = [this](const Status& s) { return ClientErrorResponse(s, unlisted_); };
    return options;
  }

  Router router_;
  ThrottlingGate gate_;
  Metrics metrics_;
  SystemRandom random_;
  testing::ManualClock clock_;
  UnlistedReasonLog unlisted_{Logger("test")};
};

TEST_F(DispatcherRendererTest, HandlerFailuresAreRenderedByTheInjectedRenderer) {
  Dispatcher api(router_, gate_, metrics_, random_, clock_, Logger("test"), ApiOptions());
  EXPECT_EQ(ErrorOf(Send(api, "/odd"))["code"], "conflict");
  // Alone, the HTTP layer answers with the reason itself.
  Dispatcher plain(router_, gate_, metrics_, random_, clock_, Logger("test"), {});
  EXPECT_EQ(ErrorOf(Send(plain, "/odd"))["code"], "a_reason_nobody_declared");
}

TEST_F(DispatcherRendererTest, GateFailuresKeepTheirRetryAfter) {
  Dispatcher api(router_, gate_, metrics_, random_, clock_, Logger("test"), ApiOptions());
  const HttpResponse r = Send(api, "/secret", "wrong");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(ErrorOf(r)["code"], "too_many_failures");
  EXPECT_EQ(HeaderOf(r, "Retry-After"), "30");
}

}  // namespace
}  // namespace cloister
