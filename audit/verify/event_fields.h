// Reads the top-level "seq" and "time" members of one event's canonical
// bytes without building a JSON tree, so a verifier can check a million
// events a second. Nested values are skipped structurally (strings with
// escapes, objects, arrays), never searched for by text.
//
// Part of the standalone verifier library.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cloister::verify {

// False (with *error) unless `event` is a JSON object whose top level has an
// integer "seq" and a string "time" (without escapes).
bool ReadEventSeqAndTime(std::string_view event, uint64_t* seq, std::string_view* time, std::string* error);

// The members an event is filtered by, as raw JSON string literals with their
// quotes ("" when absent): enough to compare with a canonical string.
struct EventFilterFields {
  std::string_view time, action, outcome, env, actor_id;
};
// False when `event` is not a JSON object of the expected shape.
bool ReadEventFilterFields(std::string_view event, EventFilterFields* out);

}  // namespace cloister::verify
