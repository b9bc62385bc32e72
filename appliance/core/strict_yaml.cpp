#include "appliance/core/strict_yaml.h"

#include <limits>
#include <set>
#include <sstream>

#include <yaml-cpp/anchor.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

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

// Thrown out of the event parser to stop it at the first refused event.
struct Refusal {
  YAML::Mark mark;
  std::string message;
};

// Reads the event stream only: counts nodes and refuses anchors and aliases,
// so nothing is built for a document that is refused.
class LimitChecker : public YAML::EventHandler {
 public:
  explicit LimitChecker(const YamlLimits& limits) : limits_(limits) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { Node(mark, anchor); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    if (!limits_.allow_aliases) throw Refusal{mark, "YAML alias refused: " + kWhy};
    Node(mark, 0);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string&) override {
    Node(mark, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Node(mark, anchor);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    Node(mark, anchor);
  }
  void OnMapEnd() override {}
  void OnAnchor(const YAML::Mark& mark, const std::string& name) override {
    if (!limits_.allow_aliases) throw Refusal{mark, "YAML anchor \"&" + name + "\" refused: " + kWhy};
  }

 private:
  inline static const std::string kWhy =
      "anchors and aliases (&name, *name) are not accepted in this document; write the content out in full";

  void Node(const YAML::Mark& mark, YAML::anchor_t anchor) {
    // OnAnchor names the anchor; this catches one announced only by its id.
    if (anchor != YAML::NullAnchor && !limits_.allow_aliases) throw Refusal{mark, "YAML anchor refused: " + kWhy};
    if (limits_.max_nodes > 0 && ++nodes_ > limits_.max_nodes) {
      throw Refusal{mark, "document has more than " + std::to_string(limits_.max_nodes) +
                              " YAML nodes, the limit for one document"};
    }
  }

  const YamlLimits& limits_;
  int64_t nodes_ = 0;
};

}  // namespace

Result<YAML::Node> LoadStrictYaml(std::string_view text, const std::string& source, const YamlLimits& limits) {
  YAML::Node root;
  try {
    {
      // The same first document YAML::Load reads below.
      std::istringstream in{std::string(text)};
      YAML::Parser parser(in);
      LimitChecker checker(limits);
      parser.HandleNextDocument(checker);
    }
    root = YAML::Load(std::string(text));
  } catch (const Refusal& r) {
    return Status::InvalidArgument(MarkText(source, r.mark) + ": " + r.message);
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
