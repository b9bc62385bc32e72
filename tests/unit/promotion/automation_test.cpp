// The automation format: validation with positions and pointers, the
// credential check, the content address, and the structural diff.
#include <gtest/gtest.h>

#include "governance/automation/automation.h"
#include "governance/promotion/pipeline.h"

namespace cloister::automation {
namespace {

const char* kValid = R"(apiVersion: cloister/v1
kind: Automation
metadata:
  name: nightly-report
  description: Summarises the day's tickets.
  owner: support-ops
  data_classification: internal
trigger: {type: schedule, schedule: "0 6 * * 1-5"}
inputs:
  day: {type: string, default: "today"}
steps:
  - id: tickets
    type: http
    url: https://tickets.internal/api/day/${inputs.day}
    headers: {X-Api-Key: "${secrets.tickets_key}"}
  - id: summary
    type: llm
    endpoint: ${vars.model_url}
    model: llama-3-8b
    prompt: "Summarise ${steps.tickets.output}"
  - id: gate
    type: condition
    expression: size(steps.summary.output) > 0
    then: send
  - id: send
    type: notify
    url: https://chat.internal/hooks/support
    message: "${steps.summary.output}"
)";

std::vector<std::string> Pointers(const ParseResult& r) {
  std::vector<std::string> out;
  for (const auto& p : r.problems) out.push_back(p.pointer);
  return out;
}

TEST(AutomationTest, AValidDefinitionHasAContentAddressIndependentOfFormatting) {
  const ParseResult a = Parse(kValid);
  ASSERT_TRUE(a.ok()) << FormatProblems(a.problems, "a");
  EXPECT_EQ(a.definition.id.size(), 64u);
  EXPECT_EQ(a.definition.secrets, std::set<std::string>{"tickets_key"});
  EXPECT_EQ(a.definition.variables, std::set<std::string>{"model_url"});
  // Same content, other layout and comments: the same version.
  std::string reformatted = std::string("# a comment\n") + kValid;
  const ParseResult b = Parse(reformatted);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a.definition.id, b.definition.id);
  // A one-character change is another version.
  std::string changed = kValid;
  changed.replace(changed.find("llama-3-8b"), 10, "llama-3-9b");
  EXPECT_NE(Parse(changed).definition.id, a.definition.id);
  // The stored form reads back only under its own id.
  EXPECT_TRUE(FromCanonical(a.definition.canonical, a.definition.id).ok());
  std::string tampered = a.definition.canonical;
  tampered[tampered.find("llama")] = 'L';
  EXPECT_EQ(FromCanonical(tampered, a.definition.id).status().code(), StatusCode::kCorruption);
}

TEST(AutomationTest, QuotedAndPlainScalarsKeepTheirTypes) {
  std::string text = kValid;
  text.replace(text.find("default: \"today\""), 16, "default: 7");
  const ParseResult r = Parse(text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Pointers(r), std::vector<std::string>{"/inputs/day/default"});
  EXPECT_EQ(r.problems[0].line, 10);
}

TEST(AutomationTest, EveryProblemIsReportedWithLineColumnAndPointer) {
  const char* bad = R"(apiVersion: cloister/v2
kind: Automation
metadata:
  name: Bad_Name
  owner: ""
  data_classification: internal
  colour: blue
trigger: {type: cron}
steps:
  - id: a
    type: condition
    expression: "true"
    then: a
  - id: a
    type: llm
    endpoint: ftp://models.internal
    model: m
    prompt: "key is ${secrets.k} and ${inputs.missing} and ${steps.later.output} and ${env.X}"
    temperature: 7
)";
  const ParseResult r = Parse(bad);
  const std::vector<std::string> expected = {"/apiVersion", "/metadata/name", "/metadata/owner", "/metadata/colour",
                                             "/trigger/type", "/steps/0/then", "/steps/1/id", "/steps/1/endpoint",
                                             "/steps/1/prompt", "/steps/1/prompt", "/steps/1/prompt", "/steps/1/prompt",
                                             "/steps/1/temperature"};
  EXPECT_EQ(Pointers(r), expected) << FormatProblems(r.problems, "bad.yaml");
  EXPECT_EQ(r.problems[0].line, 1);
  EXPECT_EQ(r.problems[0].column, 13);
  EXPECT_EQ(r.problems.back().line, 19);
}

TEST(AutomationTest, CredentialsInAnyShapeAreRefusedAndNeverEchoed) {
  const std::vector<std::pair<std::string, std::string>> literals = {
      {"url: https://svc.internal/?k=AKIAABCDEFGHIJKLMNOP", "AWS access key"},
      {"url: https://admin:pa55word@svc.internal/", "URL with a password"},
      {"url: https://svc.internal/\n    headers: {Authorization: \"Bearer abc.def\"}", "literal value"},
      {"url: https://svc.internal/\n    params: {client_secret: \"xyz\"}", "literal value"},
      {"url: https://svc.internal/\n    body: {note: \"ghp_0123456789abcdefghijklmnopqrstuvwxyz\"}", "GitHub token"},
      {"url: https://svc.internal/\n    body: {jwt: \"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl\"}", "JSON Web Token"},
      {"url: https://svc.internal/\n    body: |\n      -----BEGIN RSA PRIVATE KEY-----\n      MIIB\n", "private key"},
      {"url: https://svc.internal/\n    headers: {X-Api-Key: \"${vars.key}\"}", "literal value"},
  };
  for (const auto& [step, shape] : literals) {
    const std::string text = "apiVersion: cloister/v1\nkind: Automation\nmetadata: {name: x, owner: o, "
                             "data_classification: internal}\ntrigger: {type: manual}\nsteps:\n  - id: s\n    "
                             "type: http\n    " + step + "\n";
    const ParseResult r = Parse(text);
    ASSERT_FALSE(r.ok()) << step;
    EXPECT_NE(r.problems[0].message.find(shape), std::string::npos) << step << ": " << r.problems[0].message;
    for (const char* secret : {"pa55word", "AKIAABCDEFGHIJKLMNOP", "abc.def", "xyz\""}) {
      EXPECT_EQ(FormatProblems(r.problems, "x").find(secret), std::string::npos) << step;
    }
  }
  // A header built from a secret reference, and a max_tokens field, are fine.
  EXPECT_TRUE(Parse(kValid).ok());
}

// Each hostile document has a valid header and one valid step around the
// hostile part, so it reaches the defence it is aimed at: the assertion
// names that defence's error, and fails if the document is accepted or
// refused for another reason.
TEST(AutomationTest, HostileDocumentsAreRefusedCleanly) {
  const std::string header = "apiVersion: cloister/v1\nkind: Automation\n"
                             "metadata: {name: x, owner: o, data_classification: internal}\n"
                             "trigger: {type: manual}\n";
  const auto with_output = [&](const std::string& output) {
    return header + "steps:\n  - {id: t, type: transform, output: " + output + "}\n";
  };
  ASSERT_TRUE(Parse(with_output("x")).ok()) << FormatProblems(Parse(with_output("x")).problems, "x");
  const auto expect_refused = [](const std::string& label, const std::string& text, const std::string& fragment,
                                 const std::string& pointer = "", int line = 0) {
    const ParseResult r = Parse(text);
    ASSERT_FALSE(r.ok()) << label;
    EXPECT_NE(r.problems[0].message.find(fragment), std::string::npos) << label << ": " << r.problems[0].message;
    if (!pointer.empty()) {
      EXPECT_EQ(r.problems[0].pointer, pointer) << label;
    }
    if (line != 0) {
      EXPECT_EQ(r.problems[0].line, line) << label;
    }
  };

  // Over the size limit, though valid: padding in a comment.
  expect_refused("oversized", with_output("x") + "# " + std::string(kMaxDefinitionBytes, 'a') + "\n",
                 "larger than " + std::to_string(kMaxDefinitionBytes) + " bytes");
  expect_refused("invalid UTF-8", with_output("\"\xff\xfe\""), "not valid UTF-8");
  // Unterminated flow sequence: the YAML error, with its line.
  expect_refused("unterminated", header + "steps: [{id: t, type: transform, output: x}\n",
                 "end of sequence flow not found", "", 6);
  // A duplicate key (yaml-cpp would silently keep the first).
  expect_refused("duplicate key", header + "kind: Automation\nsteps:\n  - {id: t, type: transform, output: x}\n",
                 "duplicate key \"kind\"", "", 5);
  // Nesting: 40 mappings or 200 sequences deep stop at 32 levels, naming
  // the path; 5000 deep are refused by the YAML reader before any recursion
  // of ours, and the process survives.
  std::string mappings, sequences, very_deep;
  for (int i = 0; i < 40; ++i) mappings += "{a: ";
  mappings += "1" + std::string(40, '}');
  for (int i = 0; i < 200; ++i) sequences += "[";
  sequences += "1" + std::string(200, ']');
  very_deep = std::string(5000, '[') + "1" + std::string(5000, ']');
  expect_refused("nested mappings", with_output(mappings), "nested more than 32 levels deep");
  expect_refused("nested sequences", with_output(sequences), "nested more than 32 levels deep");
  {
    const ParseResult r = Parse(with_output(very_deep));
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(r.problems.empty() || r.problems[0].line > 0);
  }
  // Anchors and aliases: an alias repeats a whole subtree.
  expect_refused("alias", header + "steps:\n  - {id: t, type: transform, output: &a [x, x]}\n"
                                   "  - {id: u, type: transform, output: *a}\n",
                 "anchor \"&a\" refused");
  // Tags outside YAML's core schema: a custom one, and the !! ones that
  // name types the format does not have (binary, timestamp, set, language
  // objects), whether written short or verbatim.
  expect_refused("custom tag", with_output("!custom x"), "YAML tag !custom is not allowed", "/steps/0/output");
  expect_refused("binary tag", with_output("!!binary aGVsbG8="), "YAML tag !!binary is not allowed", "/steps/0/output");
  expect_refused("verbatim binary tag", with_output("!<tag:yaml.org,2002:binary> aGVsbG8="),
                 "YAML tag !!binary is not allowed", "/steps/0/output");
  expect_refused("timestamp tag", with_output("!!timestamp 2001-12-14"), "YAML tag !!timestamp is not allowed");
  expect_refused("set tag", with_output("!!set {a, b}"), "YAML tag !!set is not allowed");
  expect_refused("language tag", with_output("!!python/object:os.system x"),
                 "YAML tag !!python/object:os.system is not allowed");
  expect_refused("tag on a key", header + "steps:\n  - {id: t, type: transform, output: {!custom k: v}}\n",
                 "is not allowed");
  // The core schema's own tags stay accepted.
  EXPECT_TRUE(Parse(with_output("!!str 5")).ok());
  EXPECT_TRUE(Parse(with_output("!!map {a: !!int 1, b: !!seq [!!bool true, !!null ~, !!float 1.5]}")).ok());
}

TEST(AutomationTest, DiffMatchesStepsByIdAndNamesPaths) {
  const Json a = Json::parse(R"({"metadata": {"owner": "a"}, "steps": [{"id": "x", "url": "u1"}, {"id": "y"}]})");
  const Json b = Json::parse(R"({"metadata": {"owner": "b", "tags": ["t"]}, "steps": [{"id": "y"}, {"id": "x", "url": "u2"}, {"id": "z"}]})");
  const Json d = Diff(a, b);
  const Json expected = Json::parse(R"([
    {"op": "change", "path": "/metadata/owner", "from": "a", "to": "b"},
    {"op": "add", "path": "/metadata/tags", "to": ["t"]},
    {"op": "move", "path": "/steps/1", "from_path": "/steps/0"},
    {"op": "change", "path": "/steps/1/url", "from": "u1", "to": "u2"},
    {"op": "move", "path": "/steps/0", "from_path": "/steps/1"},
    {"op": "add", "path": "/steps/2", "to": {"id": "z"}}])");
  EXPECT_EQ(d, expected) << d.dump(2);
  EXPECT_TRUE(Diff(a, a).empty());
}

}  // namespace
}  // namespace cloister::automation

namespace cloister::promotion {
namespace {

const std::vector<std::string> kEnvs = {"dev", "test", "prod"};

TEST(PipelineTest, TheDefaultPipelineGatesEveryStageAndBindsBaselineToTheLast) {
  auto p = ParsePipeline(DefaultPipelineSource(kEnvs), kEnvs);
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->StageFor("test").approvals.required, 1);
  EXPECT_EQ(p->StageFor("prod").approvals.required, 2);
  EXPECT_EQ(p->StageFor("prod").policies, std::vector<std::string>{"baseline"});
  EXPECT_EQ(p->StageFor("prod").rollback.required, 1);
  EXPECT_EQ(p->StageFor("prod").break_glass_roles, std::vector<std::string>{"admin"});
}

TEST(PipelineTest, WindowsRecurWeeklyAtAnOffsetAndDenyWinsOverAllow) {
  auto p = ParsePipeline(R"(apiVersion: cloister/v1
kind: Pipeline
metadata: {name: default}
stages:
  prod:
    allow_windows:
      - name: office-hours
        weekly: {days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00", utc_offset: "+01:00"}
    deny_windows:
      - name: friday-afternoon
        weekly: {days: [fri], from: "13:00", to: "24:00", utc_offset: "+01:00"}
      - name: overnight
        weekly: {days: [mon], from: "22:00", to: "02:00"}
)", kEnvs);
  ASSERT_TRUE(p.ok()) << p.status().message();
  const Stage s = p->StageFor("prod");
  // 2026-11-20 is a Friday. 10:00Z = 11:00+01:00: allowed.
  EXPECT_EQ(WindowBlocks(s, 1795168800), "");
  // 12:30Z = 13:30+01:00 Friday: inside the allow window, but denied.
  EXPECT_NE(WindowBlocks(s, 1795177800).find("friday-afternoon"), std::string::npos);
  // Saturday 10:00Z: outside every allow window.
  EXPECT_NE(WindowBlocks(s, 1795255200).find("outside every allow window"), std::string::npos);
  const Window& overnight = s.deny_windows[1];
  EXPECT_TRUE(overnight.Contains(1795473000));   // Mon 2026-11-23 22:30Z
  EXPECT_TRUE(overnight.Contains(1795483800));   // Tue 01:30Z
  EXPECT_FALSE(overnight.Contains(1795487400));  // Tue 02:30Z
}

TEST(PipelineTest, MistakesAreNamedWithTheirPosition) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"stages:\n  dev: {}\n", "first environment"},
      {"stages:\n  staging: {}\n", "not an environment"},
      {"stages:\n  prod: {approvals: {required: 1, roles: [king]}}\n", "not a role"},
      {"stages:\n  prod: {approvals: {required: 11}}\n", "approvals.required"},
      {"stages:\n  prod: {deny_windows: [{name: w, weekly: {days: [caturday], from: \"00:00\", to: \"01:00\"}}]}\n",
       "caturday"},
      {"stages:\n  prod: {deny_windows: [{name: w, dates: {from: \"2026-12-02\", to: \"2026-12-01\"}}]}\n", "ends before"},
      {"stages:\n  prod: {deny_windows: [{name: w, weekly: {days: [mon], from: \"25:00\", to: \"01:00\"}}]}\n", "HH:MM"},
      {"stages:\n  prod: {gates: 1}\n", "gates"},
  };
  for (const auto& [stages, expected] : cases) {
    auto p = ParsePipeline("apiVersion: cloister/v1\nkind: Pipeline\nmetadata: {name: p}\n" + stages, kEnvs);
    ASSERT_FALSE(p.ok()) << stages;
    EXPECT_NE(p.status().message().find(expected), std::string::npos) << p.status().message();
    EXPECT_NE(p.status().message().find("pipeline:"), std::string::npos) << p.status().message();
  }
}

}  // namespace
}  // namespace cloister::promotion
