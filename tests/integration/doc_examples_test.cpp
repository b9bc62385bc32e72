// Every curl example in docs/*.md runs, as pasted, against a real appliance.
//
// The convention, for whoever writes an example:
//
// - Examples are the commands of ```sh, ```bash and ```shell blocks that run
//   `curl`: a line starting with `curl`, one that calls it inside `$(...)`
//   (`csrf=$(curl ...)`), or a `for`/`while` loop whose body runs it. Lines
//   ending in `\` continue. Other commands of a block (cloisterctl, openssl,
//   ls, export) are not run. A `curl` in a block of another language fails
//   the test: label the block `sh`.
// - Each example runs through bash with the real curl, in the order of the
//   file, on one appliance per file, so an earlier example may create what a
//   later one uses; the examples of one block run in one bash, so a variable
//   one sets (csrf=...) is there for the next. Every answer must be 2xx or
//   3xx...
// - ...unless the doc shows the status right after the block: when the first
//   non-blank line after the closing fence begins with a backquoted status
//   ("`401` for each bad token...", "`201` for the first version, `200`
//   after"), every backquoted three-digit number on that line is a status the
//   block's last example may answer, and it must answer one of them (a shown
//   `201` is asserted exactly). Earlier examples of the block must succeed.
//
// What the harness supplies (the placeholders the docs use):
// - CLOISTER_ADDR, CLOISTER_CACERT and CLOISTER_TOKEN: the appliance's
//   address and certificate, and the initial admin token. The appliance is
//   initialized with a key file and unsealed; after a block that sealed it
//   (POST /v1/sys/seal), the harness unseals it again.
// - A block with an example of POST /v1/sys/init or /v1/sys/unseal runs on a
//   second appliance, started uninitialized (an initialized one answers
//   409). A placeholder share, a "share" string ending in "..."
//   ("01099a4cd702017245ad..."), is replaced by the next share the init
//   example before it returned.
// - LAST_REVIEW_SIZE: the size of the latest checkpoint (GET
//   /v1/audit/checkpoints/latest), standing for a previous review's export.
// - The user alice with the password "correct horse battery" (author on
//   dev, no change pending), whom the login examples use.
// - In the working directory: my-policy.yaml (a Policy named my-policy) and
//   invoice-triage.yaml (a valid Automation named invoice-triage).
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/integration/identity_test_support.h"

namespace cloister::testing {
namespace {

// ---- The examples of a markdown document ------------------------------------

struct Example {
  int line = 0;          // 1-based line of the command's first line
  std::string command;   // as written, continuation lines included
  std::set<int> shown;   // statuses the doc shows (last example of a block only)
};

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

std::string FirstWord(const std::string& s) {
  const std::string t = Trim(s);
  return t.substr(0, t.find_first_of(" \t;"));
}

bool RunsCurl(const std::string& command) {
  static const std::regex kCurl(R"((^|[\s;|&(])curl\s)");
  return std::regex_search(command, kCurl);
}

// The statuses a line shows: every backquoted three-digit number, when the
// line begins with one.
std::set<int> ShownStatuses(const std::string& line) {
  static const std::regex kLead(R"(^`[1-5][0-9][0-9][` ])");
  static const std::regex kStatus(R"(`([1-5][0-9][0-9])[` ])");
  std::set<int> out;
  const std::string t = Trim(line);
  if (!std::regex_search(t, kLead)) return out;
  for (auto it = std::sregex_iterator(t.begin(), t.end(), kStatus); it != std::sregex_iterator(); ++it) {
    out.insert(std::stoi((*it)[1]));
  }
  return out;
}

struct Parsed {
  std::vector<std::vector<Example>> blocks;  // the examples of each block, in order
  std::vector<std::string> problems;  // curl in a block that is not a shell block
};

Parsed ParseExamples(const std::string& markdown) {
  std::vector<std::string> lines;
  std::istringstream in(markdown);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  Parsed out;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string open = Trim(lines[i]);
    if (open.rfind("```", 0) != 0) continue;
    const std::string info = Trim(open.substr(3));
    const bool shell = info == "sh" || info == "bash" || info == "shell";
    size_t end = i + 1;
    while (end < lines.size() && Trim(lines[end]).rfind("```", 0) != 0) ++end;
    std::vector<Example> block;
    for (size_t k = i + 1; k < end; ++k) {
      if (Trim(lines[k]).empty() || Trim(lines[k])[0] == '#') continue;
      Example e;
      e.line = static_cast<int>(k) + 1;
      int loops = 0;
      for (;; ++k) {
        const std::string& l = lines[k];
        e.command += l + "\n";
        const std::string word = FirstWord(l);
        if (word == "for" || word == "while" || word == "until") ++loops;
        if (word == "done") --loops;
        const bool continues = !l.empty() && l.back() == '\\';
        if ((!continues && loops <= 0) || k + 1 >= end) break;
      }
      if (!RunsCurl(e.command)) continue;
      if (!shell) {
        out.problems.push_back("line " + std::to_string(e.line) + ": a curl example in a ```" + info +
                               " block; label it sh so it is run");
        continue;
      }
      block.push_back(std::move(e));
    }
    if (!block.empty()) {
      size_t next = end + 1;
      while (next < lines.size() && Trim(lines[next]).empty()) ++next;
      if (next < lines.size()) block.back().shown = ShownStatuses(lines[next]);
      out.blocks.push_back(std::move(block));
    }
    i = end;
  }
  return out;
}

// ---- Running them ------------------------------------------------------------

std::string Quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct ShellRun {
  std::vector<int> statuses;  // one per curl call, in order; 0 when no answer
  std::string out, err;
};

// Runs `commands` in one bash in `dir` (so a variable one sets is there for
// the next), with `env` exported and curl wrapped to record the status of
// each call; one result per command, stderr in the last.
std::vector<ShellRun> RunShell(const std::string& dir, const std::map<std::string, std::string>& env,
                               const std::vector<std::string>& commands) {
  const std::string log = dir + "/.curl-log";
  std::filesystem::remove_all(log);
  std::filesystem::create_directories(log);
  std::string script = "cd " + Quoted(dir) + " || exit 99\n";
  for (const auto& [k, v] : env) script += "export " + k + "=" + Quoted(v) + "\n";
  script += "export DOC_CURL_LOG=" + Quoted(log) + "\n";
  script +=
      "curl() {\n"
      "  local h rc\n"
      "  h=$(mktemp \"$DOC_CURL_LOG/h.XXXXXX\") || return 1\n"
      "  command curl -D \"$h\" \"$@\"; rc=$?\n"
      "  echo \"$h\" >> \"$DOC_CURL_LOG/order\"\n"
      "  return $rc\n"
      "}\n";
  for (size_t i = 0; i < commands.size(); ++i) {
    script += "{\n" + commands[i] + "} > \"$DOC_CURL_LOG/out." + std::to_string(i) + "\"\n";
    script += "echo end >> \"$DOC_CURL_LOG/order\"\n";
  }
  WriteText(log + "/script.sh", script);
  std::vector<ShellRun> runs(commands.size());
  const std::string shell = "bash " + Quoted(log + "/script.sh") + " >/dev/null 2>" + Quoted(log + "/stderr");
  if (std::system(shell.c_str()) == -1) return runs;
  for (size_t i = 0; i < commands.size(); ++i) {
    const std::string out = log + "/out." + std::to_string(i);
    if (std::filesystem::exists(out)) runs[i].out = Slurp(out);
  }
  if (!runs.empty()) runs.back().err = Slurp(log + "/stderr");
  if (std::filesystem::exists(log + "/order")) {
    std::istringstream order(Slurp(log + "/order"));
    size_t i = 0;
    for (std::string h; std::getline(order, h) && i < runs.size();) {
      if (h == "end") {
        ++i;
        continue;
      }
      int status = 0;
      std::istringstream headers(Slurp(h));
      for (std::string l; std::getline(headers, l);) {
        if (l.rfind("HTTP/", 0) == 0 && l.find(' ') != std::string::npos) status = std::atoi(l.c_str() + l.find(' ') + 1);
      }
      runs[i].statuses.push_back(status);
    }
  }
  return runs;
}

const char* kMyPolicy = R"(apiVersion: cloister/v1
kind: Policy
metadata:
  name: my-policy
  description: Tokens are made at the console.
hook: api.request
rules:
  - id: no-api-tokens
    description: API tokens are not created through the API.
    deny: request.method == "POST" && request.route == "/v1/auth/tokens"
    message: "{{ principal.user }} may not create tokens with the API"
)";

const char* kInvoiceTriage = R"(apiVersion: cloister/v1
kind: Automation
metadata:
  name: invoice-triage
  description: Sorts incoming invoices and drafts replies.
  owner: finance-ops
  data_classification: confidential
trigger:
  type: manual
inputs:
  invoice_id: {type: string, required: true}
steps:
  - id: fetch
    type: http
    url: https://erp.internal/api/invoices/${inputs.invoice_id}
    headers:
      Authorization: "Bearer ${secrets.erp_token}"
  - id: classify
    type: llm
    endpoint: https://models.internal/v1
    model: llama-3-70b
    prompt: "Classify this invoice: ${steps.fetch.output}"
)";

class DocExamplesTest : public IdentityFixture {
 protected:
  // The appliance, started for the first document with examples (most
  // documents have none).
  void BootOnce() {
    if (booted_) return;
    booted_ = true;
    Boot();
    MakeUser("alice", {"author@dev"}, "correct horse battery");
    WriteText(work_.File("my-policy.yaml"), kMyPolicy);
    WriteText(work_.File("invoice-triage.yaml"), kInvoiceTriage);
  }

  // Runs every example of `markdown` in order; one message per example that
  // failed, naming `source`, the line, the command and what it answered.
  std::vector<std::string> RunExamples(const std::string& markdown, const std::string& source) {
    const Parsed parsed = ParseExamples(markdown);
    std::vector<std::string> failures;
    for (const auto& p : parsed.problems) failures.push_back(source + ":" + p);
    if (!parsed.blocks.empty()) BootOnce();
    for (const std::vector<Example>& block : parsed.blocks) {
      std::vector<std::string> commands;
      bool lifecycle = false;
      for (const Example& e : block) {
        commands.push_back(e.command);
        lifecycle = lifecycle || e.command.find("/v1/sys/init") != std::string::npos ||
                    e.command.find("/v1/sys/unseal") != std::string::npos;
      }
      std::map<std::string, std::string> env;
      if (lifecycle) {
        if (!scratch_started_) {
          scratch_started_ = true;
          if (!scratch_.Start()) return {source + ": the second appliance did not start"};
        }
        env = {{"CLOISTER_ADDR", scratch_.address()}, {"CLOISTER_CACERT", scratch_.ca_cert()}, {"CLOISTER_TOKEN", ""}};
        static const std::regex kShare(R"re("share": *"[^"]*\.\.\.")re");
        for (size_t i = 0; i < commands.size(); ++i) {
          if (!std::regex_search(commands[i], kShare)) continue;
          if (next_share_ >= shares_.size()) {
            failures.push_back(source + ":" + std::to_string(block[i].line) +
                               ": an unseal example with no init example before it to give a share");
            continue;
          }
          commands[i] = std::regex_replace(commands[i], kShare, "\"share\": \"" + shares_[next_share_++] + "\"");
        }
      } else {
        env = {{"CLOISTER_ADDR", server_.address()}, {"CLOISTER_CACERT", server_.ca_cert()},
               {"CLOISTER_TOKEN", admin_token_}};
        const auto uses = [&](const std::string& name) {
          return std::any_of(commands.begin(), commands.end(),
                             [&](const std::string& c) { return c.find(name) != std::string::npos; });
        };
        if (uses("LAST_REVIEW_SIZE")) {
          const ApiResponse latest = Call("GET", "/v1/audit/checkpoints/latest", nullptr, admin_token_);
          env["LAST_REVIEW_SIZE"] = latest.json().is_object() ? latest.json().value("size", Json(0)).dump() : "0";
        }
      }
      const std::vector<ShellRun> runs = RunShell(work_.path(), env, commands);
      for (size_t k = 0; k < block.size(); ++k) {
        const Example& example = block[k];
        const ShellRun& run = runs[k];
        const bool shown = !example.shown.empty();
        std::string wrong;
        if (run.statuses.empty()) wrong = "made no HTTP request";
        for (size_t i = 0; i < run.statuses.size() && wrong.empty(); ++i) {
          const int s = run.statuses[i];
          if (shown ? example.shown.count(s) == 0 : (s < 200 || s >= 400)) {
            wrong = "answered " + (s == 0 ? std::string("nothing") : std::to_string(s));
            if (shown) {
              wrong += " where the doc shows";
              for (int e : example.shown) wrong += " " + std::to_string(e);
            }
          }
        }
        if (!wrong.empty()) {
          failures.push_back(source + ":" + std::to_string(example.line) + ": " + wrong + "\n" + commands[k] +
                             "stdout: " + run.out.substr(0, 2000) + "\nstderr: " + runs.back().err.substr(0, 2000));
        }
        if (commands[k].find("/v1/sys/init") != std::string::npos) {
          auto init = ParseJsonObject(run.out);
          if (init.ok() && (*init).contains("shares")) {
            shares_ = (*init)["shares"].get<std::vector<std::string>>();
            next_share_ = 0;
          }
        }
      }
      ran_ += block.size();
      // An example that sealed the appliance: unseal it for the next ones.
      if (!lifecycle && Call("GET", "/v1/sys/seal-status").json().value("sealed", false)) {
        EXPECT_EQ(Call("POST", "/v1/sys/unseal").status, 200);
      }
    }
    return failures;
  }

  TempDir work_;
  ApplianceServer scratch_{dir_.File("scratch")};
  bool booted_ = false;
  bool scratch_started_ = false;
  std::vector<std::string> shares_;
  size_t next_share_ = 0;
  size_t ran_ = 0;
};

std::string Docs() { return std::string(CLOISTER_SOURCE_DIR) + "/docs"; }

std::vector<std::string> DocFiles() {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(Docs())) {
    if (entry.path().extension() == ".md") out.push_back(entry.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class EveryDocTest : public DocExamplesTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(EveryDocTest, CurlExamplesRunAsPastedWithTheHeadersTheyNeed) {
  const std::string file = GetParam();
  for (const std::string& failure : RunExamples(Slurp(Docs() + "/" + file), "docs/" + file)) ADD_FAILURE() << failure;
  // The reference and the administrator guide hold examples: finding none
  // means the extraction broke, not that all is well.
  if (file == "api.md" || file == "admin-guide.md") {
    EXPECT_GE(ran_, file == "api.md" ? 12u : 3u) << "examples found in docs/" << file;
  }
}

INSTANTIATE_TEST_SUITE_P(Docs, EveryDocTest, ::testing::ValuesIn(DocFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

// The harness itself: wrong examples are caught, shown statuses are honoured
// exactly, and a curl outside a shell block is not silently skipped.
TEST_F(DocExamplesTest, ExamplesMissingAHeaderFailUnlessTheDocShowsTheAnswer) {
  const std::string no_content_type =
      "```sh\ncurl --cacert $CLOISTER_CACERT -H \"Authorization: Bearer $CLOISTER_TOKEN\" -X PUT \\\n"
      "  -d '{\"egress_allow\": []}' $CLOISTER_ADDR/v1/environments/prod/settings\n```\n";
  const std::string no_token = "```bash\ncurl --cacert $CLOISTER_CACERT $CLOISTER_ADDR/v1/environments\n```\n";
  const std::string cookie_without_csrf =
      "```sh\ncurl --cacert $CLOISTER_CACERT -c jar.txt -H 'Content-Type: application/json' \\\n"
      "  -d '{\"username\": \"alice\", \"password\": \"correct horse battery\"}' $CLOISTER_ADDR/v1/auth/login\n"
      "curl --cacert $CLOISTER_CACERT -b jar.txt -X POST $CLOISTER_ADDR/v1/auth/logout\n```\n";

  auto failures = RunExamples(no_content_type, "415.md");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find("415.md:2: answered 415"), std::string::npos) << failures[0];
  failures = RunExamples(no_token, "401.md");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find("answered 401"), std::string::npos) << failures[0];
  failures = RunExamples(cookie_without_csrf, "csrf.md");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find("csrf.md:4: answered 403"), std::string::npos) << failures[0];

  // Shown right after the block, the same answers are what the doc expects.
  EXPECT_TRUE(RunExamples(no_content_type + "\n`415 unsupported_media_type`: the body is JSON.\n", "a.md").empty());
  EXPECT_TRUE(RunExamples(no_token + "`401` (no credential).\n", "b.md").empty());
  // A shown status is exact: a 200 where the doc shows 201 fails.
  failures = RunExamples("```sh\ncurl --cacert $CLOISTER_CACERT -H \"Authorization: Bearer $CLOISTER_TOKEN\" "
                         "$CLOISTER_ADDR/v1/environments\n```\n`201` created.\n",
                         "c.md");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find("answered 200 where the doc shows 201"), std::string::npos) << failures[0];
  // A status mentioned later in the text is no excuse.
  EXPECT_EQ(RunExamples(no_token + "\nThe environments.\n`401` without a token.\n", "d.md").size(), 1u);
  // A curl in a block of another language is reported, not skipped.
  failures = RunExamples("```text\ncurl $CLOISTER_ADDR/v1/sys/health\n```\n", "e.md");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_NE(failures[0].find("label it sh"), std::string::npos) << failures[0];
}

}  // namespace
}  // namespace cloister::testing
