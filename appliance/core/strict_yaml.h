// Strict YAML reading for configuration and documents. yaml-cpp 0.7 accepts
// duplicate mapping keys silently (lookup returns the first), so LoadStrictYaml
// rejects them itself. Every error names the source, line and column (1-based)
// and the dotted key path: "cloister.yaml:7:5: listener.port: expected an integer".
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "appliance/core/status.h"

namespace cloister {

// What LoadStrictYaml accepts beyond plain YAML. The defaults are for every
// document a user submits (automations, pipelines, policies, bindings, policy
// test fixtures): no anchors or aliases, since an alias repeats a whole subtree
// and a few hundred bytes of them stand for millions of nodes, and at most
// kMaxYamlNodes nodes. The appliance's own configuration file, written by the
// operator, may use aliases.
struct YamlLimits {
  static constexpr int64_t kMaxYamlNodes = 100000;

  bool allow_aliases = false;
  // Nodes of the document as written (keys, values, collections; an alias is
  // one node), checked before any tree is built. 0 means no limit.
  int64_t max_nodes = kMaxYamlNodes;
};

// Limits for the operator's configuration file.
inline constexpr YamlLimits kOperatorYamlLimits{true, 0};

// Parses one YAML document. An empty document is an empty map. The document
// is first read as a stream of events, so anchors, aliases and documents over
// limits.max_nodes are refused with invalid_argument "source:line:col: ..."
// before yaml-cpp builds a node tree.
Result<YAML::Node> LoadStrictYaml(std::string_view text, const std::string& source, const YamlLimits& limits = {});

// Reads one mapping with typed getters and an unknown-key check. Missing
// sections read as empty maps, so every getter falls back to its default.
// Not thread-safe; cheap to copy.
class YamlMap {
 public:
  YamlMap(YAML::Node node, std::string source, std::string path);

  // invalid_argument when the node is present but not a mapping.
  Status CheckIsMap() const;
  // invalid_argument naming the first key not in `known`, with its line.
  Status CheckKnownKeys(std::initializer_list<std::string_view> known) const;

  Result<std::string> String(const std::string& key, std::string fallback) const;
  Result<int64_t> Int(const std::string& key, int64_t fallback, int64_t min, int64_t max) const;
  Result<bool> Bool(const std::string& key, bool fallback) const;
  Result<std::vector<std::string>> StringList(const std::string& key,
                                              std::vector<std::string> fallback) const;
  // The nested mapping at `key` (empty when absent), or an error when it is not a mapping.
  Result<YamlMap> Map(const std::string& key) const;

  // "source:line:col: path.key: message"
  Status Error(const std::string& key, const std::string& message) const;

  // The node at `key` (undefined when absent), for readers of their own.
  YAML::Node Child(const std::string& key) const;
  // "path.key"
  std::string KeyPath(const std::string& key) const;
  // "source:line:col" of `node`.
  std::string Where(const YAML::Node& node) const;
  const std::string& source() const { return source_; }

 private:

  YAML::Node node_;
  std::string source_;
  std::string path_;
};

}  // namespace cloister
