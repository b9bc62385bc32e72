#include "appliance/core/json.h"

#include <set>

namespace cloister {
namespace {

// Rejects duplicate keys while parsing (nlohmann keeps the last silently) and
// keeps the JSON pointer of the value being read, so an error the parser
// throws mid-value can name where it is.
struct ParseGuard {
  struct Open {
    bool object;
    std::set<std::string> keys;
    std::string key;   // objects: the member being read
    size_t index = 0;  // arrays: the element being read
  };
  std::vector<Open> open;
  std::string duplicate;

  bool operator()(int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        open.push_back({true, {}, {}, 0});
        break;
      case Json::parse_event_t::array_start:
        open.push_back({false, {}, {}, 0});
        break;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        if (!open.empty()) open.pop_back();
        ElementDone();
        break;
      case Json::parse_event_t::key: {
        if (open.empty()) break;
        open.back().key = parsed.get<std::string>();
        if (!open.back().keys.insert(open.back().key).second && duplicate.empty()) duplicate = open.back().key;
        break;
      }
      case Json::parse_event_t::value:
        ElementDone();
        break;
    }
    return true;
  }

  void ElementDone() {
    if (!open.empty() && !open.back().object) ++open.back().index;
  }

  // RFC 6901 pointer of the value being read; "/" for the top level.
  std::string Pointer() const {
    std::string out;
    for (const auto& o : open) out += "/" + (o.object ? JsonPointerToken(o.key) : std::to_string(o.index));
    return out.empty() ? "/" : out;
  }
};

}  // namespace

Result<Json> ParseJson(std::string_view text) {
  ParseGuard guard;
  Json out;
  try {
    out = Json::parse(text.begin(), text.end(), std::ref(guard));
  } catch (const Json::out_of_range&) {
    // The only one parsing throws: a number such as 1e400 that no double holds.
    return Status::InvalidArgument("malformed JSON: number out of range at " + guard.Pointer() +
                                   " (numbers must be finite doubles)")
        .WithReason("malformed_json");
  } catch (const Json::parse_error& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> the part after "parse error".
    const size_t at = what.find("parse error");
    if (at != std::string::npos) what = what.substr(at);
    return Status::InvalidArgument("malformed JSON: " + what).WithReason("malformed_json");
  } catch (const Json::exception&) {
    return Status::InvalidArgument("malformed JSON at " + guard.Pointer()).WithReason("malformed_json");
  }
  if (!guard.duplicate.empty()) {
    return Status::InvalidArgument("malformed JSON: duplicate key \"" + guard.duplicate + "\"")
        .WithReason("malformed_json");
  }
  return out;
}

Result<Json> ParseJsonObject(std::string_view text) {
  CL_ASSIGN_OR_RETURN(Json out, ParseJson(text));
  if (!out.is_object()) {
    return Status::InvalidArgument("request body must be a JSON object").WithReason("malformed_json");
  }
  return out;
}

Status CheckKnownFields(const Json& object, std::initializer_list<std::string_view> allowed) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    bool known = false;
    for (std::string_view a : allowed) known = known || it.key() == a;
    if (!known) return Status::InvalidArgument("unknown field \"" + it.key() + "\"");
  }
  return Status::Ok();
}

Result<std::optional<std::string>> OptionalString(const Json& object, std::string_view field) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return Status::InvalidArgument("field \"" + std::string(field) + "\" must be a string");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::optional<int64_t>> OptionalInt(const Json& object, std::string_view field) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return std::optional<int64_t>();
  if (!it->is_number_integer()) {
    return Status::InvalidArgument("field \"" + std::string(field) + "\" must be an integer");
  }
  // An unsigned past int64 would otherwise wrap to a negative number.
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return Status::InvalidArgument("field \"" + std::string(field) + "\" is out of range: integers are at most " +
                                   std::to_string(INT64_MAX));
  }
  return std::optional<int64_t>(it->get<int64_t>());
}

Result<std::optional<int64_t>> OptionalInt(const Json& object, std::string_view field, int64_t min, int64_t max) {
  CL_ASSIGN_OR_RETURN(std::optional<int64_t> value, OptionalInt(object, field));
  if (value && (*value < min || *value > max)) {
    return Status::InvalidArgument("field \"" + std::string(field) + "\" must be between " + std::to_string(min) +
                                   " and " + std::to_string(max));
  }
  return value;
}

Result<std::optional<bool>> OptionalBool(const Json& object, std::string_view field) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return Status::InvalidArgument("field \"" + std::string(field) + "\" must be true or false");
  return std::optional<bool>(it->get<bool>());
}

std::string JsonPointerToken(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace cloister
