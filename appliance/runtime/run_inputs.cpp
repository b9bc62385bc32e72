#include "appliance/runtime/run_inputs.h"

#include <cstdlib>

namespace cloister::runtime {
namespace {

// `value` as `type`, converting text when it reads exactly as one; null when it cannot be.
Json Coerce(const std::string& type, const Json& value) {
  if (type == "string") return value.is_string() ? value : Json();
  if (type == "boolean") {
    if (value.is_boolean()) return value;
    if (value == "true") return true;
    if (value == "false") return false;
    return Json();
  }
  if (type == "integer" || type == "number") {
    if (type == "integer" ? value.is_number_integer() : value.is_number()) return value;
    if (!value.is_string() || value.get_ref<const std::string&>().empty()) return Json();
    const std::string& text = value.get_ref<const std::string&>();
    auto parsed = ParseJson(text);
    if (!parsed.ok() || !parsed->is_number()) return Json();
    if (type == "integer" && !parsed->is_number_integer()) return Json();
    return *parsed;
  }
  if (type == "object") return value.is_object() ? value : Json();
  if (type == "array") return value.is_array() ? value : Json();
  return Json();
}

}  // namespace

Result<Json> CheckInputs(const Json& declared, const Json& given) {
  Json problems = Json::array();
  const auto problem = [&](const std::string& input, const std::string& message) {
    problems.push_back({{"input", input}, {"message", message}});
  };
  Json out = Json::object();
  if (!given.is_object()) {
    problem("", "inputs must be an object of name: value");
  } else {
    for (const auto& [name, value] : given.items()) {
      if (!declared.is_object() || !declared.contains(name)) {
        problem(name, "the automation declares no input \"" + name + "\"");
      }
    }
  }
  if (declared.is_object()) {
    for (const auto& [name, spec] : declared.items()) {
      const std::string type = spec.value("type", std::string("string"));
      if (given.is_object() && given.contains(name) && !given[name].is_null()) {
        Json v = Coerce(type, given[name]);
        if (v.is_null()) {
          problem(name,
                  "input \"" + name + "\" must be " + (type == "integer" ? "an " : "a ") + type);
        } else {
          out[name] = std::move(v);
        }
      } else if (spec.contains("default")) {
        out[name] = spec["default"];
      } else if (spec.value("required", false)) {
        problem(name, "input \"" + name + "\" is required");
      }
    }
  }
  if (!problems.empty()) {
    std::string message = "the run's inputs do not fit the automation: ";
    for (size_t i = 0; i < problems.size(); ++i)
      message += (i ? "; " : "") + problems[i]["message"].get<std::string>();
    return Status::InvalidArgument(message)
        .WithReason("invalid_inputs")
        .WithDetails({{"problems", problems}});
  }
  return out;
}

}  // namespace cloister::runtime
