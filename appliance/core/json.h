// Strict reading of JSON request bodies and documents: parse errors name the
// byte offset, and field readers name the field and the expected type.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "appliance/core/status.h"

namespace cloister {

using Json = nlohmann::json;

// Parses `text`; invalid_argument "malformed JSON at byte N: ..." on error.
// Duplicate object keys are rejected (the last would silently win otherwise),
// and so are numbers no double holds (1e400), naming their JSON pointer.
Result<Json> ParseJson(std::string_view text);

// Parses `text` and requires a JSON object.
Result<Json> ParseJsonObject(std::string_view text);

// invalid_argument naming the first field of `object` not in `allowed`.
// One RFC 6901 reference token: "~" as "~0", "/" as "~1".
std::string JsonPointerToken(std::string_view key);

Status CheckKnownFields(const Json& object, std::initializer_list<std::string_view> allowed);

// Typed optional fields: absent (or null) gives nullopt; a wrong type is an
// invalid_argument naming the field. Integers are JSON integers that fit in
// int64: a fraction or exponent (2.0, 1e19) and anything past 2^63 - 1 are
// refused, never rounded or wrapped.
Result<std::optional<std::string>> OptionalString(const Json& object, std::string_view field);
Result<std::optional<int64_t>> OptionalInt(const Json& object, std::string_view field);
// OptionalInt that also requires min <= value <= max, naming the field.
Result<std::optional<int64_t>> OptionalInt(const Json& object, std::string_view field, int64_t min, int64_t max);
Result<std::optional<bool>> OptionalBool(const Json& object, std::string_view field);

}  // namespace cloister
