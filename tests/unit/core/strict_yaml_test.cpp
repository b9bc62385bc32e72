#include "appliance/core/strict_yaml.h"

#include <chrono>

#include <gtest/gtest.h>

namespace cloister {
namespace {

TEST(StrictYamlTest, RejectsDuplicateKeysWithTheirLine) {
  auto r = LoadStrictYaml("a: 1\nb:\n  c: 2\n  c: 3\n", "x.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("x.yaml:4:3"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("duplicate key \"c\""), std::string::npos);
}

TEST(StrictYamlTest, ReportsSyntaxErrorsWithLocation) {
  auto r = LoadStrictYaml("a: [1, 2\n", "bad.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("bad.yaml:", 0), 0u) << r.status().message();
}

TEST(StrictYamlTest, UnknownKeyNamesPathAndLine) {
  auto node = LoadStrictYaml("top:\n  good: 1\n  bda: 2\n", "c.yaml");
  ASSERT_TRUE(node.ok());
  YamlMap root(*node, "c.yaml", "");
  auto top = root.Map("top");
  ASSERT_TRUE(top.ok());
  Status st = top->CheckKnownKeys({"good", "bad"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("c.yaml:3:3"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("\"top.bda\""), std::string::npos) << st.message();
}

TEST(StrictYamlTest, TypedGettersNameKeyAndLine) {
  auto node = LoadStrictYaml("port: eighty\nflag: yes\nn: 70000\nlist: [a, b]\n", "t.yaml");
  ASSERT_TRUE(node.ok());
  YamlMap m(*node, "t.yaml", "listener");
  auto port = m.Int("port", 1, 0, 65535);
  ASSERT_FALSE(port.ok());
  EXPECT_NE(port.status().message().find("t.yaml:1:7: listener.port: expected an integer"), std::string::npos)
      << port.status().message();
  EXPECT_FALSE(m.Bool("flag", false).ok());  // only true/false
  auto n = m.Int("n", 1, 0, 65535);
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().message().find("between 0 and 65535"), std::string::npos);
  EXPECT_EQ(*m.Int("missing", 42, 0, 100), 42);
  EXPECT_EQ(m.StringList("list", {})->size(), 2u);
  EXPECT_FALSE(m.String("list", "").ok());
}

TEST(StrictYamlTest, EmptyDocumentIsEmptyMap) {
  auto r = LoadStrictYaml("", "e.yaml");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->IsMap());
}

// `levels` levels of ten aliases to the level before: 10^levels scalars in
// a few hundred bytes.
std::string AliasBomb(int levels) {
  std::string out = "a0: &a0 [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n";
  for (int i = 1; i <= levels; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    out += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) out += (k ? ", " : "") + prev;
    out += "]\n";
  }
  return out;
}

TEST(StrictYamlTest, RefusesAnchorsNamingThemAndTheirPosition) {
  auto r = LoadStrictYaml("base:\n  x: 1\ncopy: &shared\n  y: 2\nagain: *shared\n", "auto.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("auto.yaml:3:7: YAML anchor \"&shared\" refused"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("aliases"), std::string::npos) << r.status().message();
}

TEST(StrictYamlTest, RefusesAnAnchorEvenWithoutAlias) {
  auto r = LoadStrictYaml("a: &x 1\nb: 2\n", "p.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("p.yaml:1:4: YAML anchor \"&x\" refused"), std::string::npos)
      << r.status().message();
}

TEST(StrictYamlTest, RefusesAnAliasWithoutAnchor) {
  auto r = LoadStrictYaml("a: 1\nb: *x\n", "p.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("p.yaml:2:", 0), 0u) << r.status().message();
}

TEST(StrictYamlTest, AliasBombIsRefusedBeforeItExpands) {
  const std::string bomb = AliasBomb(6);  // a million nodes: slow to walk, yet accepted before
  const auto start = std::chrono::steady_clock::now();
  auto r = LoadStrictYaml(bomb, "bomb.yaml");
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bomb.yaml:1:5: YAML anchor \"&a0\" refused"), std::string::npos)
      << r.status().message();
  EXPECT_LT(took, std::chrono::seconds(1));
}

TEST(StrictYamlTest, AliasesInsideFlowCollectionsAndKeysAreRefused) {
  EXPECT_FALSE(LoadStrictYaml("[&a 1, *a]\n", "f.yaml").ok());
  EXPECT_FALSE(LoadStrictYaml("? &k key\n: v\n", "f.yaml").ok());
  EXPECT_FALSE(LoadStrictYaml("--- &root\na: 1\n", "f.yaml").ok());
}

TEST(StrictYamlTest, OperatorLimitsKeepAliases) {
  auto r = LoadStrictYaml("defaults: &d 7\nport: *d\n", "cloister.yaml", kOperatorYamlLimits);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)["port"].as<int>(), 7);
}

TEST(StrictYamlTest, NodeCountIsCappedNamingTheLimit) {
  std::string list = "items: [";
  for (int i = 0; i < YamlLimits::kMaxYamlNodes; ++i) list += i ? ",1" : "1";
  list += "]\n";
  auto r = LoadStrictYaml(list, "big.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("big.yaml:1:"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("more than 100000 YAML nodes"), std::string::npos) << r.status().message();

  // The same document under the limit, and a limit of one's own.
  EXPECT_TRUE(LoadStrictYaml("items: [1, 2, 3]\n", "s.yaml").ok());
  YamlLimits tight;
  tight.max_nodes = 4;
  auto small = LoadStrictYaml("items: [1, 2, 3]\n", "s.yaml", tight);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.status().message().find("s.yaml:1:12: document has more than 4 YAML nodes"), std::string::npos)
      << small.status().message();
}

}  // namespace
}  // namespace cloister
