#include "appliance/core/json.h"

#include <set>

namespace cloister {
namespace {

// Rejects duplicate keys while parsing: nlohmann keeps the last silently.
struct DuplicateKeyGuard {
  std::vector<std::set<std::string>> open_objects;
  std::string duplicate;

  bool operator()(int /*depth*/, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case Json::parse_event_t::key: {
        const std::string key = parsed.get<std::string>();
        if (!open_objects.empty() && !open_objects.back().insert(key).second && duplicate.empty()) {
          duplicate = key;
        }
        break;
      }
      default:
        break;
    }
    return true;
  }
};

}  // namespace

Result<Json> ParseJson(std::string_view text) {
  DuplicateKeyGuard guard;
  Json out;
  try {
    out = Json::parse(text.begin(), text.end(), std::ref(guard));
  } catch (const Json::parse_error& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> the part after "parse error".
    const size_t at = what.find("parse error");
    if (at != std::string::npos) what = what.substr(at);
    return Status::InvalidArgument("malformed JSON: " + what).WithReason("malformed_json");
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
  return std::optional<int64_t>(it->get<int64_t>());
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
