// RFC 8785 JSON Canonicalization Scheme (JCS): the canonical bytes of a JSON
// value. Object members are sorted by the UTF-16 code units of their names,
// strings use the minimal JSON escapes, numbers are serialized as
// ECMAScript's Number.prototype.toString does, and there is no whitespace.
//
// These are the bytes the audit ledger hashes (audit-format.md, section 2) and
// the bytes that identify an automation version. Part of the standalone
// verifier library: depends on nothing of Cloister.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace cloister::verify {

// Canonical form of a parsed value. Integers are treated as the IEEE-754
// doubles they denote, as in JavaScript.
std::string Canonicalize(const nlohmann::json& value);

// Parses `text` (rejecting duplicate member names and invalid UTF-8) and
// canonicalizes it. False with a message in *error on bad input.
bool CanonicalizeText(std::string_view text, std::string* out, std::string* error);

// Appends `s` (valid UTF-8) as a JCS string literal, with its quotes.
void AppendString(std::string_view s, std::string& out);

// ECMAScript Number::toString for a finite double ("1e+21", "0.000001", "-0" -> "0").
std::string FormatNumber(double value);

}  // namespace cloister::verify
