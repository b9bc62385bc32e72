#include "governance/automation/automation.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <tuple>

#include "appliance/core/encoding.h"
#include "appliance/core/strict_yaml.h"
#include "audit/verify/jcs.h"

namespace cloister::automation {
namespace {

constexpr size_t kMaxSteps = 100;
constexpr size_t kMaxDepth = 32;
constexpr size_t kMaxString = 64 * 1024;

std::string Child(const std::string& pointer, std::string_view key) {
  return pointer + "/" + JsonPointerToken(key);
}
std::string Child(const std::string& pointer, size_t index) {
  return pointer + "/" + std::to_string(index);
}

bool IsIdent(std::string_view s, bool dashes) {
  if (s.empty() || s.size() > 63 || !std::islower(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '_' || (dashes && c == '-');
  });
}
bool IsRefName(std::string_view s) {
  if (s.empty() || s.size() > 64 || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ---- YAML to JSON, keeping each node's position ----------------------------

constexpr std::string_view kYamlTagPrefix = "tag:yaml.org,2002:";

// No tag, the non-specific ones ("!" for quoted, "?" for plain), or a tag of
// YAML's core schema. Every other tag (!custom, !!binary, !!timestamp,
// !!python/...) asks for a type the definition format does not have.
bool IsCoreSchemaTag(const std::string& tag) {
  if (tag.empty() || tag == "!" || tag == "?") return true;
  if (tag.rfind(kYamlTagPrefix, 0) != 0) return false;
  static const std::set<std::string_view> kCore = {"str",  "int", "float", "bool",
                                                   "null", "seq", "map"};
  return kCore.count(std::string_view(tag).substr(kYamlTagPrefix.size())) > 0;
}

struct Reader {
  std::map<std::string, std::pair<int, int>> positions;
  std::vector<Problem> problems;

  void Add(const std::string& pointer, std::string message) {
    Problem p{pointer, 0, 0, std::move(message)};
    for (std::string at = pointer;; at = at.substr(0, at.rfind('/'))) {
      if (auto it = positions.find(at); it != positions.end()) {
        p.line = it->second.first;
        p.column = it->second.second;
        break;
      }
      if (at.empty()) break;
    }
    problems.push_back(std::move(p));
  }

  Json Scalar(const YAML::Node& node) {
    const std::string& text = node.Scalar();
    const std::string& tag = node.Tag();
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return text;  // quoted, or !!str
    if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")
      return nullptr;
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    const size_t digits_from = (text[0] == '-' || text[0] == '+') ? 1 : 0;
    if (digits_from < text.size() && text.size() - digits_from <= 18 &&
        std::all_of(text.begin() + static_cast<long>(digits_from), text.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      return std::stoll(text);
    }
    if (text.find_first_of(".eE") != std::string::npos &&
        text.find_first_not_of("0123456789+-.eE") == std::string::npos) {
      try {
        size_t used = 0;
        const double d = std::stod(text, &used);
        if (used == text.size()) return d;
      } catch (const std::exception&) {
      }
    }
    return text;
  }

  void CheckTag(const YAML::Node& node, const std::string& pointer) {
    std::string tag = node.Tag();
    if (IsCoreSchemaTag(tag)) return;
    if (tag.rfind(kYamlTagPrefix, 0) == 0) tag = "!!" + tag.substr(kYamlTagPrefix.size());
    Add(pointer,
        "YAML tag " + tag +
            " is not allowed; only !!str, !!int, !!float, !!bool, !!null, !!seq and !!map are");
  }

  Json Convert(const YAML::Node& node, const std::string& pointer, size_t depth) {
    positions[pointer] = {node.Mark().line + 1, node.Mark().column + 1};
    if (depth > kMaxDepth) {
      Add(pointer, "nested more than " + std::to_string(kMaxDepth) + " levels deep");
      return nullptr;
    }
    CheckTag(node, pointer);
    switch (node.Type()) {
      case YAML::NodeType::Map: {
        Json out = Json::object();
        for (const auto& kv : node) {
          if (!kv.first.IsScalar()) {
            Add(pointer, "mapping keys must be plain text");
            continue;
          }
          const std::string key = kv.first.Scalar();
          CheckTag(kv.first, Child(pointer, key));
          out[key] = Convert(kv.second, Child(pointer, key), depth + 1);
        }
        return out;
      }
      case YAML::NodeType::Sequence: {
        Json out = Json::array();
        size_t i = 0;
        for (const auto& item : node) out.push_back(Convert(item, Child(pointer, i++), depth + 1));
        return out;
      }
      case YAML::NodeType::Scalar: {
        Json value = Scalar(node);
        if (value.is_string()) {
          const auto& s = value.get_ref<const std::string&>();
          if (!IsValidUtf8(s)) {
            Add(pointer, "text is not valid UTF-8");
            return "";
          }
          if (s.size() > kMaxString)
            Add(pointer, "text longer than " + std::to_string(kMaxString) + " bytes");
        }
        return value;
      }
      default:
        return nullptr;
    }
  }
};

// ---- References: ${inputs.x} ${vars.x} ${secrets.x} ${steps.id.output...} --

struct Reference {
  std::string ns, name;
};

// Every ${...} in `text`; a problem for each malformed one. "$${" is a literal "${".
std::vector<Reference> References(const std::string& text, const std::string& pointer, Reader& r) {
  std::vector<Reference> out;
  for (size_t i = 0; (i = text.find("${", i)) != std::string::npos;) {
    if (i > 0 && text[i - 1] == '$') {
      i += 2;
      continue;
    }
    const size_t end = text.find('}', i);
    if (end == std::string::npos) {
      r.Add(pointer, "unterminated reference \"${\"");
      break;
    }
    const std::string body = text.substr(i + 2, end - i - 2);
    if (!body.empty() && body[0] == '=') {
      // "${= EXPR}": a policy-language expression (docs/runtime.md), checked
      // when it runs; it reads inputs, vars and steps, never secrets. The
      // variables it names are collected like references.
      for (size_t v = 0; (v = body.find("vars.", v)) != std::string::npos; v += 5) {
        if (v > 0 && (std::isalnum(static_cast<unsigned char>(body[v - 1])) || body[v - 1] == '_' ||
                      body[v - 1] == '.'))
          continue;
        size_t e = v + 5;
        while (e < body.size() &&
               (std::isalnum(static_cast<unsigned char>(body[e])) || body[e] == '_'))
          ++e;
        if (e > v + 5) out.push_back({"vars", body.substr(v + 5, e - v - 5)});
      }
      if (body.find("secrets.") != std::string::npos)
        r.Add(pointer, "an expression cannot read secrets");
      i = end + 1;
      continue;
    }
    const size_t dot = body.find('.');
    const std::string ns = body.substr(0, dot);
    std::string rest = dot == std::string::npos ? "" : body.substr(dot + 1);
    if (ns != "inputs" && ns != "vars" && ns != "secrets" && ns != "steps") {
      r.Add(pointer,
            "reference ${" + body +
                "}: expected ${inputs.NAME}, ${vars.NAME}, ${secrets.NAME} or ${steps.ID.output}");
    } else {
      const std::string name = rest.substr(0, rest.find('.'));
      if (!IsRefName(name) || (ns != "steps" && name != rest)) {
        r.Add(pointer, "reference ${" + body + "}: \"" + rest +
                           "\" is not a name (letters, digits, _ and -)");
      } else {
        out.push_back({ns, name});
      }
    }
    i = end + 1;
  }
  return out;
}

// ---- Credentials -------------------------------------------------------------

bool AllOf(std::string_view s, size_t from, size_t n, int (*pred)(int)) {
  if (from + n > s.size()) return false;
  for (size_t i = from; i < from + n; ++i) {
    if (!pred(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}
int IsUpperOrDigit(int c) { return std::isupper(c) || std::isdigit(c); }
int IsTokenChar(int c) { return std::isalnum(c) || c == '_' || c == '-'; }

// What a literal looks like, or "" when it looks like nothing known.
std::string CredentialShape(std::string_view s) {
  if (s.find("-----BEGIN") != std::string_view::npos &&
      s.find("PRIVATE KEY") != std::string_view::npos) {
    return "a private key";
  }
  for (size_t i = 0; i + 20 <= s.size(); ++i) {
    const std::string_view at = s.substr(i);
    const bool boundary = i == 0 || !std::isalnum(static_cast<unsigned char>(s[i - 1]));
    if (!boundary) continue;
    if ((at.substr(0, 4) == "AKIA" || at.substr(0, 4) == "ASIA") &&
        AllOf(s, i + 4, 16, IsUpperOrDigit)) {
      return "an AWS access key";
    }
    if (at.size() >= 40 && at[0] == 'g' && at[1] == 'h' &&
        std::string_view("pousr").find(at[2]) != std::string_view::npos && at[3] == '_' &&
        AllOf(s, i + 4, 36, IsTokenChar)) {
      return "a GitHub token";
    }
    if (at.substr(0, 11) == "github_pat_") return "a GitHub token";
    if (at.substr(0, 3) == "xox" && at.size() > 5 &&
        std::string_view("abprs").find(at[3]) != std::string_view::npos && at[4] == '-') {
      return "a Slack token";
    }
    if (at.substr(0, 3) == "sk-" && AllOf(s, i + 3, 20, IsTokenChar)) return "an API secret key";
    if (at.substr(0, 3) == "eyJ") {
      const size_t dot1 = at.find('.');
      if (dot1 != std::string_view::npos && at.substr(dot1 + 1, 3) == "eyJ" &&
          at.find('.', dot1 + 1) != std::string_view::npos) {
        return "a JSON Web Token";
      }
    }
  }
  // scheme://user:password@host
  if (const size_t scheme = s.find("://"); scheme != std::string_view::npos) {
    const size_t host_end = s.find_first_of("/?#", scheme + 3);
    const std::string_view authority =
        s.substr(scheme + 3, host_end == std::string_view::npos ? s.npos : host_end - scheme - 3);
    const size_t at = authority.rfind('@');
    if (at != std::string_view::npos &&
        authority.substr(0, at).find(':') != std::string_view::npos) {
      return "a URL with a password";
    }
  }
  return "";
}

// Header, parameter and body keys whose value is a credential.
bool CredentialKey(std::string_view key) {
  std::string k = Lower(key);
  std::replace(k.begin(), k.end(), '-', '_');
  static const std::set<std::string> exact = {
      "password",     "passwd",        "secret",
      "token",        "api_key",       "apikey",
      "x_api_key",    "authorization", "proxy_authorization",
      "access_token", "refresh_token", "client_secret",
      "private_key",  "x_auth_token",  "cookie",
      "credentials"};
  if (exact.count(k)) return true;
  for (const char* suffix : {"_password", "_secret", "_token", "_api_key", "_apikey"}) {
    const std::string_view sv(suffix);
    if (k.size() > sv.size() && k.compare(k.size() - sv.size(), sv.size(), sv) == 0) return true;
  }
  return false;
}

// ---- Validation ---------------------------------------------------------------

const std::set<std::string> kClassifications = {"public", "internal", "confidential", "restricted",
                                                "phi"};
const std::set<std::string> kInputTypes = {"string",  "integer", "number",
                                           "boolean", "object",  "array"};
const std::set<std::string> kMethods = {"GET", "POST", "PUT", "PATCH", "DELETE"};

struct StepShape {
  std::set<std::string> required, optional;
};
const std::map<std::string, StepShape>& StepShapes() {
  static const std::map<std::string, StepShape> shapes = {
      {"http", {{"url"}, {"method", "headers", "params", "body", "expected_status"}}},
      {"llm",
       {{"endpoint", "model", "prompt"}, {"system", "max_tokens", "temperature", "headers"}}},
      {"transform", {{"output"}, {}}},
      {"condition", {{"expression", "then"}, {"else"}}},
      {"approval", {{"approvers"}, {"message", "timeout_minutes"}}},
      {"notify", {{"url", "message"}, {"headers"}}},
  };
  return shapes;
}
// Fields whose text may never carry a secret: it would reach a model, a
// person or another step's output.
const std::set<std::string> kNoSecretFields = {"prompt", "system", "message", "output",
                                               "expression"};

class Validator {
 public:
  explicit Validator(Reader& r) : r_(r) {}

  void Run(const Json& doc, Definition& def) {
    if (!doc.is_object()) {
      r_.Add("", "a definition is a mapping with apiVersion, kind, metadata, trigger and steps");
      return;
    }
    Known(doc, "", {"apiVersion", "kind", "metadata", "trigger", "inputs", "steps"});
    if (doc.value("apiVersion", Json()) != "cloister/v1")
      r_.Add("/apiVersion", "must be cloister/v1");
    if (doc.value("kind", Json()) != "Automation") r_.Add("/kind", "must be Automation");
    Metadata(doc, def);
    Trigger(doc, def);
    Inputs(doc);
    Steps(doc, def);
  }

 private:
  const Json* Field(const Json& obj, const std::string& at, const std::string& key, bool required) {
    if (!obj.is_object() || !obj.contains(key)) {
      if (required) r_.Add(at, "\"" + key + "\" is required");
      return nullptr;
    }
    return &obj.at(key);
  }
  std::string Text(const Json& obj, const std::string& at, const std::string& key, bool required,
                   size_t max = 2000) {
    const Json* v = Field(obj, at, key, required);
    if (v == nullptr) return "";
    if (!v->is_string()) {
      r_.Add(Child(at, key), "must be text");
      return "";
    }
    const std::string& s = v->get_ref<const std::string&>();
    if (required && s.empty()) r_.Add(Child(at, key), "must not be empty");
    if (s.size() > max)
      r_.Add(Child(at, key), "longer than " + std::to_string(max) + " characters");
    return s;
  }
  // A problem for each key of `obj` not in `keys`, listing them.
  void Known(const Json& obj, const std::string& at, const std::set<std::string>& keys) {
    for (const auto& [k, v] : obj.items()) {
      if (keys.count(k)) continue;
      std::string list;
      for (const auto& key : keys) list += (list.empty() ? "" : ", ") + key;
      r_.Add(Child(at, k), "unknown field \"" + k + "\" (expected " + list + ")");
    }
  }
  const Json* Object(const Json& obj, const std::string& at, const std::string& key,
                     bool required) {
    const Json* v = Field(obj, at, key, required);
    if (v != nullptr && !v->is_object()) {
      r_.Add(Child(at, key), "must be a mapping");
      return nullptr;
    }
    return v;
  }
  void Int(const Json& obj, const std::string& at, const std::string& key, int64_t min,
           int64_t max) {
    const Json* v = Field(obj, at, key, false);
    if (v == nullptr) return;
    if (!v->is_number_integer() || v->get<int64_t>() < min || v->get<int64_t>() > max) {
      r_.Add(Child(at, key),
             "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    }
  }
  void StringMap(const Json& obj, const std::string& at, const std::string& key) {
    const Json* m = Object(obj, at, key, false);
    if (m == nullptr) return;
    for (const auto& [k, v] : m->items()) {
      if (!v.is_string()) r_.Add(Child(Child(at, key), k), "must be text");
    }
  }

  void Metadata(const Json& doc, Definition& def) {
    const Json* m = Object(doc, "", "metadata", true);
    if (m == nullptr) return;
    Known(*m, "/metadata", {"name", "description", "owner", "data_classification", "tags"});
    def.name = Text(*m, "/metadata", "name", true, 63);
    if (!def.name.empty() && !ValidName(def.name)) {
      r_.Add("/metadata/name",
             "\"" + def.name + "\" is not a name: 1-63 of a-z, 0-9 and -, starting with a letter");
    }
    def.description = Text(*m, "/metadata", "description", false);
    def.owner = Text(*m, "/metadata", "owner", true, 128);
    def.data_classification = Text(*m, "/metadata", "data_classification", true, 32);
    if (!def.data_classification.empty() && !kClassifications.count(def.data_classification)) {
      r_.Add("/metadata/data_classification",
             "must be one of public, internal, confidential, restricted, phi");
    }
    if (const Json* tags = Field(*m, "/metadata", "tags", false)) {
      if (!tags->is_array() || tags->size() > 32) {
        r_.Add("/metadata/tags", "must be a list of up to 32 tags");
      } else {
        for (size_t i = 0; i < tags->size(); ++i) {
          const Json& t = (*tags)[i];
          if (!t.is_string() || !IsIdent(t.get<std::string>(), true)) {
            r_.Add(Child("/metadata/tags", i),
                   "a tag is 1-63 of a-z, 0-9, _ and -, starting with a letter");
          } else {
            def.tags.push_back(t.get<std::string>());
          }
        }
      }
    }
  }

  void Trigger(const Json& doc, Definition& def) {
    const Json* t = Object(doc, "", "trigger", true);
    if (t == nullptr) return;
    Known(*t, "/trigger", {"type", "schedule", "utc_offset", "missed", "secret"});
    def.trigger = Text(*t, "/trigger", "type", true, 16);
    if (!def.trigger.empty() && def.trigger != "manual" && def.trigger != "schedule" &&
        def.trigger != "webhook") {
      r_.Add("/trigger/type", "must be manual, schedule or webhook");
    }
    def.schedule = Text(*t, "/trigger", "schedule", def.trigger == "schedule", 128);
    for (const char* key : {"utc_offset", "missed"}) {
      if (t->contains(key) && def.trigger != "schedule")
        r_.Add(Child("/trigger", key), "only a schedule trigger has " + std::string(key));
    }
    if (t->contains("secret") && def.trigger != "webhook")
      r_.Add("/trigger/secret", "only a webhook trigger has a secret");
    if (def.trigger == "schedule") {
      const std::string offset = Text(*t, "/trigger", "utc_offset", false, 16);
      if (!offset.empty()) {
        def.utc_offset = offset;
        const bool utc = offset == "UTC" || offset == "Z";
        const bool hhmm = offset.size() == 6 && (offset[0] == '+' || offset[0] == '-') &&
                          std::isdigit(static_cast<unsigned char>(offset[1])) &&
                          std::isdigit(static_cast<unsigned char>(offset[2])) && offset[3] == ':' &&
                          std::isdigit(static_cast<unsigned char>(offset[4])) &&
                          std::isdigit(static_cast<unsigned char>(offset[5])) &&
                          std::stoi(offset.substr(1, 2)) <= 18 &&
                          std::stoi(offset.substr(4, 2)) < 60;
        if (!utc && !hhmm)
          r_.Add("/trigger/utc_offset", "must be UTC or a fixed offset such as +01:00 or -05:30");
      }
      const std::string missed = Text(*t, "/trigger", "missed", false, 16);
      if (!missed.empty()) {
        def.missed = missed;
        if (missed != "skip" && missed != "once") r_.Add("/trigger/missed", "must be skip or once");
      }
    }
    if (def.trigger == "webhook") {
      def.webhook_secret = Text(*t, "/trigger", "secret", false, 64);
      if (def.webhook_secret.empty()) def.webhook_secret = "webhook_" + def.name;
      if (!IsRefName(def.webhook_secret)) {
        r_.Add("/trigger/secret",
               "\"" + def.webhook_secret + "\" is not a secret name (letters, digits, _ and -)");
      } else {
        def.secrets.insert(def.webhook_secret);
      }
    }
    if (def.trigger != "schedule" && t->contains("schedule")) {
      r_.Add("/trigger/schedule", "only a schedule trigger has a schedule");
    } else if (!def.schedule.empty()) {
      size_t fields = 0;
      bool in_field = false;
      for (char c : def.schedule) {
        if (c == ' ') {
          in_field = false;
        } else if (!in_field) {
          in_field = true;
          ++fields;
        }
      }
      if (fields != 5 || def.schedule.find_first_not_of("0123456789*/,- ") != std::string::npos) {
        r_.Add("/trigger/schedule",
               "must be a cron expression of 5 fields (minute hour day month weekday)");
      }
    }
  }

  void Inputs(const Json& doc) {
    const Json* in = Object(doc, "", "inputs", false);
    if (in == nullptr) return;
    for (const auto& [name, spec] : in->items()) {
      const std::string at = Child("/inputs", name);
      if (!IsIdent(name, false))
        r_.Add(at, "input name \"" + name + "\": 1-63 of a-z, 0-9 and _, starting with a letter");
      inputs_.insert(name);
      if (!spec.is_object()) {
        r_.Add(at, "must be a mapping with type, required, default and description");
        continue;
      }
      Known(spec, at, {"type", "required", "default", "description"});
      const std::string type = Text(spec, at, "type", true, 16);
      if (!type.empty() && !kInputTypes.count(type)) {
        r_.Add(Child(at, "type"), "must be one of string, integer, number, boolean, object, array");
      }
      if (spec.contains("required") && !spec["required"].is_boolean())
        r_.Add(Child(at, "required"), "must be true or false");
      Text(spec, at, "description", false);
      if (spec.contains("default") && kInputTypes.count(type)) {
        const Json& d = spec["default"];
        const bool fits =
            (type == "string" && d.is_string()) || (type == "integer" && d.is_number_integer()) ||
            (type == "number" && d.is_number()) || (type == "boolean" && d.is_boolean()) ||
            (type == "object" && d.is_object()) || (type == "array" && d.is_array());
        if (!fits) r_.Add(Child(at, "default"), "is not a " + type);
      }
    }
  }

  void Steps(const Json& doc, Definition& def) {
    const Json* steps = Field(doc, "", "steps", true);
    if (steps == nullptr) return;
    if (!steps->is_array() || steps->empty() || steps->size() > kMaxSteps) {
      r_.Add("/steps", "must be a list of 1 to " + std::to_string(kMaxSteps) + " steps");
      return;
    }
    std::vector<std::string> ids;
    for (const Json& s : *steps)
      ids.push_back(s.is_object() && s.value("id", Json()).is_string() ? s["id"].get<std::string>()
                                                                       : "");
    for (size_t i = 0; i < steps->size(); ++i) {
      const Json& s = (*steps)[i];
      const std::string at = Child("/steps", i);
      if (!s.is_object()) {
        r_.Add(at, "a step is a mapping with id and type");
        continue;
      }
      const std::string id = Text(s, at, "id", true, 63);
      if (!id.empty() && !IsIdent(id, true))
        r_.Add(Child(at, "id"),
               "\"" + id + "\": 1-63 of a-z, 0-9, _ and -, starting with a letter");
      if (!id.empty() && std::find(ids.begin(), ids.begin() + static_cast<long>(i), id) !=
                             ids.begin() + static_cast<long>(i)) {
        r_.Add(Child(at, "id"), "step id \"" + id + "\" is used twice");
      }
      const std::string type = Text(s, at, "type", true, 16);
      const auto shape = StepShapes().find(type);
      if (shape == StepShapes().end()) {
        if (!type.empty())
          r_.Add(Child(at, "type"),
                 "must be one of http, llm, transform, condition, approval, notify");
        continue;
      }
      std::set<std::string> allowed = {"id", "type", "description", "timeout_seconds", "retries"};
      allowed.insert(shape->second.required.begin(), shape->second.required.end());
      allowed.insert(shape->second.optional.begin(), shape->second.optional.end());
      Known(s, at, allowed);
      for (const auto& k : shape->second.required) Field(s, at, k, true);
      Text(s, at, "description", false);
      Int(s, at, "timeout_seconds", 1, 3600);
      Int(s, at, "retries", 0, 10);
      for (const char* key : {"url", "endpoint", "model", "prompt", "system", "message",
                              "expression", "then", "else"}) {
        if (s.contains(key)) Text(s, at, key, shape->second.required.count(key) > 0, kMaxString);
      }
      if (type == "http" || type == "notify") {
        const std::string method =
            s.value("method", Json("GET")).is_string() ? s.value("method", std::string("GET")) : "";
        if (!kMethods.count(method))
          r_.Add(Child(at, "method"), "must be GET, POST, PUT, PATCH or DELETE");
      }
      for (const char* url_key : {"url", "endpoint"}) {
        if (!s.contains(url_key) || !s[url_key].is_string()) continue;
        const std::string& u = s[url_key].get_ref<const std::string&>();
        if (u.rfind("https://", 0) != 0 && u.rfind("http://", 0) != 0 &&
            u.rfind("${vars.", 0) != 0) {
          r_.Add(Child(at, url_key),
                 "must be an http:// or https:// URL or start with ${vars.NAME}");
        }
      }
      StringMap(s, at, "headers");
      if (type == "http") StringMap(s, at, "params");
      if (type == "http" && s.contains("expected_status"))
        ExpectedStatus(s["expected_status"], Child(at, "expected_status"));
      if (type == "llm") {
        Int(s, at, "max_tokens", 1, 1000000);
        if (s.contains("temperature") &&
            (!s["temperature"].is_number() || s["temperature"].get<double>() < 0 ||
             s["temperature"].get<double>() > 2)) {
          r_.Add(Child(at, "temperature"), "must be a number from 0 to 2");
        }
      }
      if (type == "condition") {
        for (const char* key : {"then", "else"}) {
          if (!s.contains(key) || !s[key].is_string()) continue;
          const std::string target = s[key];
          const auto it = std::find(ids.begin(), ids.end(), target);
          if (it == ids.end()) {
            r_.Add(Child(at, key), "no step has id \"" + target + "\"");
          } else if (it <= ids.begin() + static_cast<long>(i)) {
            r_.Add(Child(at, key),
                   "step \"" + target + "\" does not come after this one (no loops)");
          }
        }
      }
      if (type == "approval") Approvers(s, at);
      if (type == "approval") Int(s, at, "timeout_minutes", 1, 43200);
      for (const auto& [k, v] : s.items()) {
        Scan(v, Child(at, k), k, kNoSecretFields.count(k) > 0,
             k == "headers" || k == "params" || k == "body",
             std::vector<std::string>(ids.begin(), ids.begin() + static_cast<long>(i)), def);
      }
    }
  }

  // An HTTP status (100-599) or a list of 1 to 20 of them.
  void ExpectedStatus(const Json& v, const std::string& at) {
    const auto status = [](const Json& x) {
      return x.is_number_integer() && x.get<int64_t>() >= 100 && x.get<int64_t>() <= 599;
    };
    const bool ok = status(v) || (v.is_array() && !v.empty() && v.size() <= 20 &&
                                  std::all_of(v.begin(), v.end(), status));
    if (!ok) r_.Add(at, "must be an HTTP status from 100 to 599 or a list of 1 to 20 of them");
  }

  void Approvers(const Json& s, const std::string& at) {
    const Json* a = Object(s, at, "approvers", true);
    if (a == nullptr) return;
    const std::string aat = Child(at, "approvers");
    Known(*a, aat, {"roles", "users"});
    size_t n = 0;
    for (const char* key : {"roles", "users"}) {
      if (!a->contains(key)) continue;
      const Json& list = (*a)[key];
      if (!list.is_array() ||
          !std::all_of(list.begin(), list.end(), [](const Json& x) { return x.is_string(); })) {
        r_.Add(Child(aat, key), "must be a list of names");
      } else {
        n += list.size();
      }
    }
    if (n == 0) r_.Add(aat, "name at least one role or user");
  }

  // Every text under a step: references checked and collected, credentials refused.
  void Scan(const Json& v, const std::string& at, const std::string& key, bool no_secrets,
            bool credential_keys, const std::vector<std::string>& earlier, Definition& def) {
    if (v.is_object()) {
      for (const auto& [k, child] : v.items()) {
        if (credential_keys && child.is_string() && CredentialKey(k)) {
          const std::string& text = child.get_ref<const std::string&>();
          const bool from_secret = text.find("${secrets.") != std::string::npos;
          if (!text.empty() && !from_secret) {
            r_.Add(Child(at, k), "\"" + k +
                                     "\" holds a literal value; store it as a secret in each "
                                     "environment and write ${secrets.NAME}");
          }
        }
        Scan(child, Child(at, k), k, no_secrets, credential_keys, earlier, def);
      }
      return;
    }
    if (v.is_array()) {
      for (size_t i = 0; i < v.size(); ++i)
        Scan(v[i], Child(at, i), key, no_secrets, credential_keys, earlier, def);
      return;
    }
    if (!v.is_string()) return;
    const std::string& text = v.get_ref<const std::string&>();
    if (const std::string shape = CredentialShape(text); !shape.empty()) {
      r_.Add(at, "looks like " + shape +
                     "; store it as a secret in each environment and write ${secrets.NAME}");
    }
    for (const Reference& ref : References(text, at, r_)) {
      if (ref.ns == "secrets") {
        if (no_secrets)
          r_.Add(at, "${secrets." + ref.name + "} may not be used in " + key +
                         ": its value would leave the step");
        def.secrets.insert(ref.name);
      } else if (ref.ns == "vars") {
        def.variables.insert(ref.name);
      } else if (ref.ns == "inputs" && !inputs_.count(ref.name)) {
        r_.Add(at, "${inputs." + ref.name + "}: no input named " + ref.name);
      } else if (ref.ns == "steps" &&
                 std::find(earlier.begin(), earlier.end(), ref.name) == earlier.end()) {
        r_.Add(at, "${steps." + ref.name + "...}: no earlier step has id " + ref.name);
      }
    }
  }

  Reader& r_;
  std::set<std::string> inputs_;
};

void Finish(const Json& doc, Reader& reader, ParseResult& out) {
  Validator(reader).Run(doc, out.definition);
  out.problems = std::move(reader.problems);
  std::stable_sort(out.problems.begin(), out.problems.end(),
                   [](const Problem& a, const Problem& b) {
                     return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                   });
  if (!out.problems.empty()) return;
  out.definition.document = doc;
  out.definition.canonical = verify::Canonicalize(doc);
  out.definition.id = Sha256Hex(out.definition.canonical);
}

std::vector<std::pair<std::string, std::string>> Pairs(const Json& obj) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!obj.is_object()) return out;
  for (const auto& [k, v] : obj.items())
    out.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
  return out;
}

void DiffInto(const Json& a, const Json& b, const std::string& path, Json& out) {
  if (a == b) return;
  if (a.is_object() && b.is_object()) {
    for (const auto& [k, v] : a.items()) {
      if (!b.contains(k)) {
        out.push_back({{"op", "remove"}, {"path", Child(path, k)}, {"from", v}});
      } else {
        DiffInto(v, b[k], Child(path, k), out);
      }
    }
    for (const auto& [k, v] : b.items()) {
      if (!a.contains(k)) out.push_back({{"op", "add"}, {"path", Child(path, k)}, {"to", v}});
    }
    return;
  }
  const auto keyed = [](const Json& list) {
    return list.is_array() && std::all_of(list.begin(), list.end(), [](const Json& x) {
             return x.is_object() && x.contains("id") && x["id"].is_string();
           });
  };
  if (keyed(a) && keyed(b)) {
    // Paths name the step's position in the list they come from.
    std::map<std::string, size_t> in_b;
    for (size_t j = 0; j < b.size(); ++j) in_b[b[j]["id"]] = j;
    for (size_t i = 0; i < a.size(); ++i) {
      const auto it = in_b.find(a[i]["id"]);
      if (it == in_b.end()) {
        out.push_back({{"op", "remove"}, {"path", Child(path, i)}, {"from", a[i]}});
      } else {
        if (it->second != i)
          out.push_back(
              {{"op", "move"}, {"path", Child(path, it->second)}, {"from_path", Child(path, i)}});
        DiffInto(a[i], b[it->second], Child(path, it->second), out);
      }
    }
    std::set<std::string> in_a;
    for (const Json& x : a) in_a.insert(x["id"].get<std::string>());
    for (size_t j = 0; j < b.size(); ++j) {
      if (!in_a.count(b[j]["id"]))
        out.push_back({{"op", "add"}, {"path", Child(path, j)}, {"to", b[j]}});
    }
    return;
  }
  if (a.is_array() && b.is_array()) {
    const size_t common = std::min(a.size(), b.size());
    for (size_t i = 0; i < common; ++i) DiffInto(a[i], b[i], Child(path, i), out);
    for (size_t i = common; i < a.size(); ++i)
      out.push_back({{"op", "remove"}, {"path", Child(path, i)}, {"from", a[i]}});
    for (size_t i = common; i < b.size(); ++i)
      out.push_back({{"op", "add"}, {"path", Child(path, i)}, {"to", b[i]}});
    return;
  }
  out.push_back({{"op", "change"}, {"path", path}, {"from", a}, {"to", b}});
}

}  // namespace

std::string Problem::ToString(const std::string& source) const {
  std::string where = source;
  if (line > 0) where += ":" + std::to_string(line) + ":" + std::to_string(column);
  return where + ": " + (pointer.empty() ? "/" : pointer) + ": " + message;
}

Json Problem::ToJson() const {
  Json j = {{"pointer", pointer}, {"message", message}};
  if (line > 0) {
    j["line"] = line;
    j["column"] = column;
  }
  return j;
}

std::string FormatProblems(const std::vector<Problem>& problems, const std::string& source) {
  std::string out;
  for (const auto& p : problems) out += p.ToString(source) + "\n";
  return out;
}

bool ValidName(std::string_view name) {
  return IsIdent(name, true) && name.find('_') == std::string_view::npos;
}

ParseResult Parse(std::string_view yaml) {
  ParseResult out;
  if (yaml.size() > kMaxDefinitionBytes) {
    out.problems.push_back(
        {"", 0, 0,
         "the definition is larger than " + std::to_string(kMaxDefinitionBytes) + " bytes"});
    return out;
  }
  if (!IsValidUtf8(yaml)) {
    out.problems.push_back({"", 0, 0, "the definition is not valid UTF-8"});
    return out;
  }
  auto node = LoadStrictYaml(yaml, "");
  if (!node.ok()) {
    // "…:line:col: message" from the strict loader.
    Problem p{"", 0, 0, node.status().message()};
    const std::string& m = p.message;
    if (m.size() > 1 && m[0] == ':') {
      int line = 0, col = 0;
      if (std::sscanf(m.c_str(), ":%d:%d:", &line, &col) == 2) {
        p.line = line;
        p.column = col;
        p.message = m.substr(m.find(':', m.find(':', 1) + 1) + 2);
      }
    }
    out.problems.push_back(std::move(p));
    return out;
  }
  Reader reader;
  const Json doc = reader.Convert(*node, "", 0);
  Finish(doc, reader, out);
  return out;
}

Result<Definition> FromCanonical(std::string_view canonical, const std::string& id) {
  if (Sha256Hex(canonical) != id) {
    return Status::Corruption("stored version " + id +
                              " does not hash to its id: its content was altered");
  }
  CL_ASSIGN_OR_RETURN(Json doc, ParseJson(canonical));
  Reader reader;
  ParseResult out;
  Finish(doc, reader, out);
  if (!out.ok())
    return Status::Corruption("stored version " + id +
                              " no longer validates: " + out.problems[0].ToString("stored"));
  return out.definition;
}

Json Diff(const Json& a, const Json& b) {
  Json out = Json::array();
  DiffInto(a, b, "", out);
  return out;
}

Json Definition::PolicyView() const {
  Json steps = Json::array();
  for (const Json& s : document["steps"]) {
    Json headers = Json::array(), params = Json::array(), secrets_used = Json::array();
    for (const auto& [k, v] : Pairs(s.value("headers", Json::object())))
      headers.push_back({{"name", k}, {"value", v}});
    for (const auto& [k, v] : Pairs(s.value("params", Json::object())))
      params.push_back({{"name", k}, {"value", v}});
    for (const auto& [k, v] : Pairs(s.value("body", Json::object())))
      params.push_back({{"name", k}, {"value", v}});
    std::set<std::string> used;
    Reader ignore;
    const std::function<void(const Json&)> walk = [&](const Json& v) {
      if (v.is_string()) {
        for (const auto& ref : References(v.get<std::string>(), "", ignore)) {
          if (ref.ns == "secrets") used.insert(ref.name);
        }
      } else if (v.is_structured()) {
        for (const Json& c : v) walk(c);
      }
    };
    walk(s);
    for (const auto& n : used) secrets_used.push_back(n);
    const auto text = [&](const char* key, const char* fallback = "") {
      return s.contains(key) && s[key].is_string() ? s[key].get<std::string>()
                                                   : std::string(fallback);
    };
    const std::string type = text("type");
    steps.push_back({{"id", text("id")},
                     {"type", type},
                     {"url", text("url")},
                     {"method", type == "http" || type == "notify" ? text("method", "GET") : ""},
                     {"model", text("model")},
                     {"endpoint", text("endpoint")},
                     {"headers", headers},
                     {"params", params},
                     {"secrets", secrets_used}});
  }
  return {{"name", name},   {"description", description},
          {"owner", owner}, {"data_classification", data_classification},
          {"tags", tags},   {"trigger", {{"type", trigger}, {"schedule", schedule}}},
          {"steps", steps}};
}

}  // namespace cloister::automation
