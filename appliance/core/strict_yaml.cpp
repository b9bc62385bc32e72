#include "appliance/core/strict_yaml.h"

#include <limits>
#include <set>

namespace cloister {
namespace {

std::string MarkText(const std::string& source, const YAML::Mark& mark) {
  if (mark.line < 0) return source;
  return source + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

Status FindDuplicateKeys(const YAML::Node& node, const std::string& source) {
  if (node.IsMap()) {
    std::set<std::string> seen;
    for (const auto& kv : node) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "<complex key>";
      if (!seen.insert(key).second) {
        return Status::InvalidArgument(MarkText(source, kv.first.Mark()) + ": duplicate key \"" + key + "\"");
      }
      CL_RETURN_IF_ERROR(FindDuplicateKeys(kv.second, source));
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) CL_RETURN_IF_ERROR(FindDuplicateKeys(item, source));
  }
  return Status::Ok();
}

}  // namespace

Result<YAML::Node> LoadStrictYaml(std::string_view text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(MarkText(source, e.mark) + ": " + e.msg);
  }
  if (!root || root.IsNull()) return YAML::Node(YAML::NodeType::Map);
  CL_RETURN_IF_ERROR(FindDuplicateKeys(root, source));
  return root;
}

YamlMap::YamlMap(YAML::Node node, std::string source, std::string path)
    : node_(std::move(node)), source_(std::move(source)), path_(std::move(path)) {}

std::string YamlMap::Where(const YAML::Node& node) const { return MarkText(source_, node.Mark()); }

std::string YamlMap::KeyPath(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

Status YamlMap::Error(const std::string& key, const std::string& message) const {
  const YAML::Node child = Child(key);
  const std::string where = child ? Where(child) : Where(node_);
  return Status::InvalidArgument(where + ": " + KeyPath(key) + ": " + message);
}

YAML::Node YamlMap::Child(const std::string& key) const {
  if (!node_ || !node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& kv : node_) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

Status YamlMap::CheckIsMap() const {
  if (!node_ || node_.IsNull() || node_.IsMap()) return Status::Ok();
  return Status::InvalidArgument(Where(node_) + ": " + (path_.empty() ? "document" : path_) +
                                 ": expected a mapping of keys to values");
}

Status YamlMap::CheckKnownKeys(std::initializer_list<std::string_view> known) const {
  if (!node_ || !node_.IsMap()) return Status::Ok();
  for (const auto& kv : node_) {
    const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "<complex key>";
    bool ok = false;
    for (std::string_view k : known) ok = ok || key == k;
    if (!ok) {
      std::string list;
      for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
      return Status::InvalidArgument(Where(kv.first) + ": unknown key \"" + KeyPath(key) +
                                     "\" (known keys here: " + list + ")");
    }
  }
  return Status::Ok();
}

Result<std::string> YamlMap::String(const std::string& key, std::string fallback) const {
  const YAML::Node child = Child(key);
  if (!child || child.IsNull()) return fallback;
  if (!child.IsScalar()) return Error(key, "expected a string");
  return child.Scalar();
}

Result<int64_t> YamlMap::Int(const std::string& key, int64_t fallback, int64_t min, int64_t max) const {
  const YAML::Node child = Child(key);
  if (!child || child.IsNull()) return fallback;
  int64_t value = 0;
  if (!child.IsScalar() || !YAML::convert<int64_t>::decode(child, value)) {
    return Error(key, "expected an integer, got \"" + (child.IsScalar() ? child.Scalar() : "a collection") + "\"");
  }
  if (value < min || value > max) {
    return Error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                          ", got " + std::to_string(value));
  }
  return value;
}

Result<bool> YamlMap::Bool(const std::string& key, bool fallback) const {
  const YAML::Node child = Child(key);
  if (!child || child.IsNull()) return fallback;
  if (child.IsScalar()) {
    const std::string& s = child.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return Error(key, "expected true or false");
}

Result<std::vector<std::string>> YamlMap::StringList(const std::string& key,
                                                     std::vector<std::string> fallback) const {
  const YAML::Node child = Child(key);
  if (!child || child.IsNull()) return fallback;
  if (!child.IsSequence()) return Error(key, "expected a list of strings");
  std::vector<std::string> out;
  for (const auto& item : child) {
    if (!item.IsScalar()) return Error(key, "expected a list of strings");
    out.push_back(item.Scalar());
  }
  return out;
}

Result<YamlMap> YamlMap::Map(const std::string& key) const {
  YamlMap sub(Child(key), source_, KeyPath(key));
  CL_RETURN_IF_ERROR(sub.CheckIsMap());
  return sub;
}

}  // namespace cloister
