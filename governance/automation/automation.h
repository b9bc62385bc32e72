// Automation definitions (docs/automations.md): the YAML format, its
// validation, the canonical form and the content address of a version.
//
// A definition is read from YAML into JSON with positions, checked whole
// (every problem is reported, each with its line, column and JSON pointer),
// and identified by the SHA-256 of its RFC 8785 canonical form, so the same
// content saved twice, however formatted, is the same version.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/json.h"
#include "appliance/core/status.h"

namespace cloister::automation {

// Definitions larger than this are refused before parsing.
constexpr size_t kMaxDefinitionBytes = 256 * 1024;

struct Problem {
  std::string pointer;  // RFC 6901, "" for the document
  int line = 0;         // 1-based; 0 when read from JSON
  int column = 0;
  std::string message;

  std::string ToString(const std::string& source) const;  // "source:line:col: /pointer: message"
  Json ToJson() const;
};

struct Definition {
  std::string name;
  std::string description;
  std::string owner;
  std::string data_classification;
  std::vector<std::string> tags;
  std::string trigger;             // manual, schedule or webhook
  std::string schedule;            // schedule triggers only: 5-field cron
  std::string utc_offset = "UTC";  // schedule triggers: the fixed offset the cron fields read in
  std::string missed =
      "skip";                  // schedule triggers: skip or once (runs missed while down or sealed)
  std::string webhook_secret;  // webhook triggers: the environment secret holding the HMAC key

  Json document;          // the definition as JSON
  std::string canonical;  // RFC 8785 bytes of `document`
  std::string id;         // SHA-256 hex of `canonical`: the version id

  // Names referenced as ${vars.NAME} and ${secrets.NAME}.
  std::set<std::string> variables;
  std::set<std::string> secrets;

  // The "definition" object of the policy input documents
  // (docs/policy-language.md).
  Json PolicyView() const;
};

struct ParseResult {
  std::vector<Problem> problems;  // empty when `definition` is set
  Definition definition;
  bool ok() const { return problems.empty(); }
};

// Reads and validates a YAML definition. `source` names it in messages.
ParseResult Parse(std::string_view yaml);
// Re-reads a stored canonical form and checks that it hashes to `id`:
// corruption naming the version when it does not (a tampered row).
Result<Definition> FromCanonical(std::string_view canonical, const std::string& id);

// One line per problem, "source:line:col: /pointer: message".
std::string FormatProblems(const std::vector<Problem>& problems, const std::string& source);

// Structural difference from `a` to `b`: [{"op": "add"|"remove"|"change",
// "path": JSON pointer, "from": ..., "to": ...}]. Lists of objects that all
// carry an "id" (steps) are matched by id, other lists by position.
Json Diff(const Json& a, const Json& b);

// Whether `name` is a valid automation name: 1-63 characters of [a-z0-9-],
// starting with a letter.
bool ValidName(std::string_view name);

}  // namespace cloister::automation
