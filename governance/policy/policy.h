// Policy documents and policy bindings (docs/policy-language.md).
//
// A Policy holds rules for one hook; a PolicyBinding says which policies
// apply to that hook in which environments and at what enforcement level.
// Loading is strict: unknown or duplicate keys, wrong types, unknown input
// fields and type errors in expressions are errors naming the source, line
// and column. A loaded document is immutable.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/status.h"
#include "governance/policy/program.h"

namespace cloister::policy {

// A message with {{ expression }} placeholders, compiled like rules.
struct MessageTemplate {
  std::vector<std::string> literals;  // one more than placeholders
  std::vector<Program> placeholders;
};

struct Rule {
  std::string id;
  std::string description;
  std::vector<std::string> controls;  // the framework controls the rule serves
  std::optional<Program> when;
  bool deny = false;  // deny: fails when `test` holds; require: fails when it does not
  Program test;
  MessageTemplate message;
};

struct Policy {
  std::string name;
  std::string description;
  std::string hook;
  std::vector<Rule> rules;
  std::string origin;  // the file, or "database"
  std::string source;  // the YAML text
  std::string digest;  // SHA-256 hex of source
};

enum class Level { kAdvisory, kSoftMandatory, kHardMandatory, kShadow };
std::string_view LevelName(Level level);

struct PolicyBinding {
  std::string name;
  std::string description;
  std::string hook;
  std::vector<std::string> policies;
  std::vector<std::string> environments;  // or {"*"}
  Level level = Level::kAdvisory;
  std::vector<std::string> override_roles;  // soft_mandatory only
  std::string origin;
  std::string source;
  std::string digest;

  bool AppliesTo(std::string_view environment) const;
};

// One document as read from a file or the database.
struct SourceDocument {
  std::string origin;  // names it in errors: a path, or "database:<kind>/<name>"
  std::string text;
};

// The document's kind ("Policy" or "PolicyBinding") and name, read without
// compiling it, for storing and listing. invalid_argument on a malformed header.
struct DocumentHeader {
  std::string kind;
  std::string name;
};
Result<DocumentHeader> ReadHeader(const SourceDocument& doc);

Result<Policy> LoadPolicy(const SourceDocument& doc);
Result<PolicyBinding> LoadBinding(const SourceDocument& doc);

// Names of policies, bindings and rule ids: 1-64 of [a-z0-9._-], starting
// with a letter or digit.
bool ValidName(std::string_view name);

// The roles a binding may name for overrides (those of appliance/identity).
const std::vector<std::string>& KnownRoles();

}  // namespace cloister::policy
