#include "appliance/core/strict_yaml.h"

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

}  // namespace
}  // namespace cloister
