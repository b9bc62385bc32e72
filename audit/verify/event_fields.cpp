#include "audit/verify/event_fields.h"

namespace cloister::verify {
namespace {

// Advances `i` past one JSON string starting at s[i] == '"'.
bool SkipString(std::string_view s, size_t& i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      ++i;
      return true;
    }
  }
  return false;
}

// Advances `i` past one JSON value (no whitespace: canonical form).
bool SkipValue(std::string_view s, size_t& i) {
  if (i >= s.size()) return false;
  if (s[i] == '"') return SkipString(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == '"') {
        if (!SkipString(s, i)) return false;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') --depth;
      ++i;
      if (depth == 0) return true;
    }
    return false;
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']') ++i;  // number, true, false, null
  return true;
}

bool Fail(std::string* error, const char* message) {
  *error = message;
  return false;
}

}  // namespace

bool ReadEventSeqAndTime(std::string_view s, uint64_t* seq, std::string_view* time, std::string* error) {
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return Fail(error, "event is not a JSON object");
  bool have_seq = false, have_time = false;
  size_t i = 1;
  while (i < s.size() - 1) {
    if (s[i] != '"') return Fail(error, "event has a malformed member name");
    const size_t key_start = i + 1;
    if (!SkipString(s, i) || i >= s.size() || s[i] != ':') return Fail(error, "event has a malformed member");
    const std::string_view key = s.substr(key_start, i - 1 - key_start);
    const size_t value_start = ++i;
    if (!SkipValue(s, i)) return Fail(error, "event has a malformed value");
    const std::string_view value = s.substr(value_start, i - value_start);
    if (key == "seq") {
      if (have_seq || value.empty() || value.size() > 16 || (value.size() > 1 && value[0] == '0')) {
        return Fail(error, "event seq is not a canonical integer");
      }
      uint64_t n = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return Fail(error, "event seq is not a non-negative integer");
        n = n * 10 + static_cast<uint64_t>(c - '0');
      }
      *seq = n;
      have_seq = true;
    } else if (key == "time") {
      if (have_time || value.size() < 2 || value.front() != '"' || value.find('\\') != std::string_view::npos) {
        return Fail(error, "event time is not a plain string");
      }
      *time = value.substr(1, value.size() - 2);
      have_time = true;
    }
    if (i < s.size() - 1) {
      if (s[i] != ',') return Fail(error, "event members are not separated by commas");
      ++i;
    }
  }
  if (!have_seq || !have_time) return Fail(error, "event has no seq or no time");
  return true;
}

namespace {

// Calls fn(key, raw value) for every top-level member of object `s`.
template <typename Fn>
bool ForEachMember(std::string_view s, Fn fn) {
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return false;
  size_t i = 1;
  while (i < s.size() - 1) {
    if (s[i] != '"') return false;
    const size_t key_start = i + 1;
    if (!SkipString(s, i) || i >= s.size() || s[i] != ':') return false;
    const std::string_view key = s.substr(key_start, i - 1 - key_start);
    const size_t value_start = ++i;
    if (!SkipValue(s, i)) return false;
    fn(key, s.substr(value_start, i - value_start));
    if (i < s.size() - 1) {
      if (s[i] != ',') return false;
      ++i;
    }
  }
  return true;
}

}  // namespace

bool ReadEventFilterFields(std::string_view event, EventFilterFields* out) {
  *out = {};
  std::string_view actor;
  const bool ok = ForEachMember(event, [&](std::string_view key, std::string_view value) {
    if (key == "time") out->time = value;
    else if (key == "action") out->action = value;
    else if (key == "outcome") out->outcome = value;
    else if (key == "env") out->env = value;
    else if (key == "actor") actor = value;
  });
  if (!ok) return false;
  if (!actor.empty()) {
    return ForEachMember(actor, [&](std::string_view key, std::string_view value) {
      if (key == "id") out->actor_id = value;
    });
  }
  return true;
}

}  // namespace cloister::verify
