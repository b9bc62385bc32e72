// Templating and expressions inside automation steps (docs/automations.md):
// the references ${inputs.NAME}, ${vars.NAME}, ${secrets.NAME},
// ${steps.ID.output...} and ${steps.ID.status} in a step's text, and the
// expressions of condition steps and of "${= EXPR}" values, which are written
// in the policy language (docs/policy-language.md) and run by its compiler and
// evaluator under a step budget, so the product has one expression language.
//
// Reference syntax, inside "${" and the next "}":
//   inputs.NAME    then any ".field" and "[N]" segments (object and array inputs)
//   vars.NAME      an environment variable (a string)
//   secrets.NAME   a secret (a string), only where the caller allows secrets
//   steps.ID.output  then any ".field" and "[N]" segments
//   steps.ID.status  the HTTP status of an http step
// ID is the step id exactly as declared ("sign-off"). "$${" is a literal
// "${"; a "$" not followed by "{" is itself.
//
// All functions are pure: no state, no clock, thread-safe on distinct or
// shared const arguments. Error messages name the reference or expression as
// written in the definition and never contain a secret's value.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "appliance/core/json.h"
#include "appliance/core/status.h"
#include "governance/policy/program.h"

namespace cloister::runtime {

// What a step's text can reference while a run executes.
struct RunScope {
  Json inputs = Json::object();             // the run's inputs (typed JSON)
  std::map<std::string, std::string> vars;  // environment variables
  // Decrypted secret values; filled only for fields that may hold secrets.
  std::map<std::string, std::string> secrets;
  // Step id -> {"output": <json>, "status": <int, http steps only>}, for the
  // steps already finished.
  Json steps = Json::object();
};

// Renders a text template: every ${...} replaced by the referenced value
// (strings bare; numbers, booleans, objects and arrays as compact JSON; null
// as ""), "$${" -> "${".
//
// Errors, all invalid_argument naming the reference as written:
// - a malformed or unterminated reference, or an unknown namespace;
// - ${secrets.NAME} when `allow_secrets` is false (the validator refuses it at
//   save; this is the second line of defence), checked before the secret is
//   looked up;
// - a missing input, variable, secret or step, a step without a status, and a
//   path that does not exist in the value ("${steps.fetch.output.items[3]}:
//   no element 3 (the list has 2)");
// - "${= EXPR}" anywhere: an expression must be a whole JSON string value
//   (RenderJson), never part of a text;
// - a value with invalid UTF-8 that has to be written as JSON.
Result<std::string> RenderText(std::string_view text, const RunScope& scope, bool allow_secrets);

// Renders a JSON value: objects and arrays recursively (object keys are kept
// as they are); a string that is exactly one reference "${...}" becomes the
// referenced value with its JSON type (null included); a string exactly
// "${= EXPR}" is a policy-language expression evaluated against the scope
// (EvaluateExpression, any result type) and keeps the type of its result;
// other strings are RenderText; numbers, booleans and null are kept.
// Errors: those of RenderText and EvaluateExpression; invalid_argument for
// nesting deeper than 64 levels.
Result<Json> RenderJson(const Json& value, const RunScope& scope, bool allow_secrets,
                        const policy::EvalLimits& limits);

// Evaluates a policy-language expression, e.g.
//   steps.classify.output.label == "urgent" && inputs.max_amount > 100
// against the scope. The expression reads the document
//   {"inputs": ..., "vars": {NAME: string}, "steps": {ID: {"output": ..., "status": int}}}
// Secrets are never visible to expressions: `secrets.x` is an unknown name.
//
// Step ids may contain '-', which the expression lexer reads as minus: in
// expressions a step id is written with '_' for each '-' (the step "sign-off"
// is `steps.sign_off.output`). If two finished steps' ids read the same that
// way ("sign-off" and "sign_off"), neither can be read.
//
// The language is statically typed, so a schema is inferred from the scope's
// JSON on every call:
// - bool -> bool; an integer that fits int64 -> int; string -> string;
// - a non-integer number (and an integer past int64) -> its decimal JSON text
//   as a string: the language compares integers only, so `x == "2.5"`;
// - null -> the field is absent, and reads as its type's zero value
//   ("", 0, false, []); a null list element reads as the element's zero value;
// - object -> object with the fields the expression names anywhere (a field
//   it never names cannot be read, so it is left out; unknown-field errors
//   therefore list only named fields). Keys that are not identifiers
//   ([A-Za-z_][A-Za-z0-9_]*) are left out. An object keeps at most
//   kMaxObjectFields (64) fields, the first in name order among those the
//   expression names (anywhere, not only on that object); the rest are left
//   out;
// - array -> list of its elements' type; objects in one list share the union
//   of their fields (a field holding different types in different elements
//   is left out); integers mixed with non-integers become strings; an empty
//   list is list<string>;
// - left out entirely, so reading it is a compile error that says why: an
//   array whose elements have different types, a string that is not valid
//   UTF-8, anything nested deeper than 32 levels (Document's limit).
// `now()` is refused: a run step has no decision time.
//
// want_bool: the result must be a bool (condition steps). Returns the result
// as JSON (times as RFC 3339 strings).
// Errors, each naming the expression (`expression "TEXT": ...`):
// - invalid_argument "... line:col: ..." for syntax and type errors;
// - invalid_argument for run-time errors (index out of range, division by
//   zero, integer overflow);
// - resource_exhausted when the step budget (limits.max_steps) or the
//   scratch space (limits.scratch_bytes) is exhausted.
Result<Json> EvaluateExpression(std::string_view expression, const RunScope& scope, bool want_bool,
                                const policy::EvalLimits& limits);

}  // namespace cloister::runtime
