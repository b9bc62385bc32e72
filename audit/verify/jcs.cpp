#include "audit/verify/jcs.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <vector>

namespace cloister::verify {
namespace {

// UTF-16 code units of a UTF-8 string, for ordering member names.
std::u16string Utf16(const std::string& s) {
  std::u16string out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp = 0;
    size_t len = 1;
    if (c < 0x80) {
      cp = c;
    } else if ((c >> 5) == 6) {
      cp = c & 0x1f, len = 2;
    } else if ((c >> 4) == 14) {
      cp = c & 0x0f, len = 3;
    } else {
      cp = c & 0x07, len = 4;
    }
    for (size_t k = 1; k < len && i + k < s.size(); ++k) cp = cp << 6 | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out += static_cast<char16_t>(0xd800 + (cp >> 10));
      out += static_cast<char16_t>(0xdc00 + (cp & 0x3ff));
    } else {
      out += static_cast<char16_t>(cp);
    }
  }
  return out;
}

// UTF-16 order differs from UTF-8 byte order only when a string holds a
// byte >= 0xEE (U+E000 and above); otherwise bytes compare as UTF-16 does.
bool Utf16Less(const std::string& a, const std::string& b) {
  auto high = [](const std::string& s) {
    for (unsigned char c : s) {
      if (c >= 0xee) return true;
    }
    return false;
  };
  if (!high(a) && !high(b)) return a < b;
  return Utf16(a) < Utf16(b);
}

void Append(const nlohmann::json& v, std::string& out) {
  switch (v.type()) {
    case nlohmann::json::value_t::null: out += "null"; break;
    case nlohmann::json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; break;
    case nlohmann::json::value_t::number_integer: out += FormatNumber(static_cast<double>(v.get<int64_t>())); break;
    case nlohmann::json::value_t::number_unsigned: out += FormatNumber(static_cast<double>(v.get<uint64_t>())); break;
    case nlohmann::json::value_t::number_float: out += FormatNumber(v.get<double>()); break;
    case nlohmann::json::value_t::string: AppendString(v.get_ref<const std::string&>(), out); break;
    case nlohmann::json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v) {
        if (!first) out += ',';
        first = false;
        Append(item, out);
      }
      out += ']';
      break;
    }
    case nlohmann::json::value_t::object: {
      std::vector<std::pair<const std::string*, const nlohmann::json*>> members;
      members.reserve(v.size());
      for (auto it = v.begin(); it != v.end(); ++it) members.emplace_back(&it.key(), &it.value());
      std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return Utf16Less(*a.first, *b.first); });
      out += '{';
      bool first = true;
      for (const auto& [key, value] : members) {
        if (!first) out += ',';
        first = false;
        AppendString(*key, out);
        out += ':';
        Append(*value, out);
      }
      out += '}';
      break;
    }
    default: out += "null"; break;  // binary and discarded values do not occur in parsed JSON
  }
}

struct DuplicateGuard {
  std::vector<std::set<std::string>> open;
  std::string duplicate;
  bool operator()(int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (event == E::object_start) open.emplace_back();
    if (event == E::object_end && !open.empty()) open.pop_back();
    if (event == E::key && !open.empty() && !open.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  }
};

}  // namespace

void AppendString(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;  // start of the pending run of characters copied as they are
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

std::string FormatNumber(double value) {
  if (value == 0) return "0";  // also -0
  if (!std::isfinite(value)) return "null";  // not JSON; callers reject these earlier
  // Shortest round-trip digits and exponent, then ECMAScript's layout rules.
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  (void)ec;
  std::string_view sci(buf, static_cast<size_t>(end - buf));
  const bool negative = sci.front() == '-';
  if (negative) sci.remove_prefix(1);
  const size_t e_at = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_at)) {
    if (c != '.') digits += c;
  }
  int exponent = 0;
  std::from_chars(sci.data() + e_at + 1 + (sci[e_at + 1] == '+' ? 1 : 0), sci.data() + sci.size(), exponent);
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;
  std::string out = negative ? "-" : "";
  if (k <= n && n <= 21) {
    out += digits + std::string(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out += digits.substr(0, static_cast<size_t>(n)) + "." + digits.substr(static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0." + std::string(static_cast<size_t>(-n), '0') + digits;
  } else {
    out += digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    out += "e";
    out += n - 1 >= 0 ? "+" : "-";
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

std::string Canonicalize(const nlohmann::json& value) {
  std::string out;
  Append(value, out);
  return out;
}

bool CanonicalizeText(std::string_view text, std::string* out, std::string* error) {
  DuplicateGuard guard;
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text.begin(), text.end(), std::ref(guard));
  } catch (const nlohmann::json::exception& e) {
    *error = e.what();
    return false;
  }
  if (!guard.duplicate.empty()) {
    *error = "duplicate member name \"" + guard.duplicate + "\"";
    return false;
  }
  *out = Canonicalize(value);
  return true;
}

}  // namespace cloister::verify
