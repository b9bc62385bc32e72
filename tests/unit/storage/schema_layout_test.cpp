#include "appliance/storage/schema_layout.h"

#include <gtest/gtest.h>

namespace cloister {
namespace {

TEST(SchemaLayoutTest, JoinsEachVersionsPartsInTheLayoutsModuleOrder) {
  const std::vector<MigrationLayout> layout = {{1, "first", {"b", "a", "b"}}, {2, "second", {"a"}}};
  // Listed out of the layout's order, and module by module.
  const std::vector<MigrationPart> parts = {
      {2, "a", "A2;\n"}, {1, "a", "A1;\n"}, {1, "b", "B1;\n"}, {1, "b", "B1 again;\n"}};
  auto assembled = AssembleMigrations(layout, parts);
  ASSERT_TRUE(assembled.ok()) << assembled.status().ToString();
  ASSERT_EQ(assembled->size(), 2u);
  EXPECT_EQ((*assembled)[0].version, 1);
  EXPECT_EQ((*assembled)[0].name, "first");
  EXPECT_EQ((*assembled)[0].sql, "\nB1;\nA1;\nB1 again;\n");
  EXPECT_EQ((*assembled)[1].version, 2);
  EXPECT_EQ((*assembled)[1].sql, "\nA2;\n");
}

TEST(SchemaLayoutTest, RefusesAModuleTheLayoutNamesThatGaveNoPart) {
  auto assembled = AssembleMigrations({{1, "first", {"a", "b"}}}, {{1, "a", "A;\n"}});
  ASSERT_FALSE(assembled.ok());
  EXPECT_EQ(assembled.status().code(), StatusCode::kInternal);
  EXPECT_NE(assembled.status().message().find("module b"), std::string::npos)
      << assembled.status().message();
}

TEST(SchemaLayoutTest, RefusesAPartTheLayoutHasNoPlaceFor) {
  for (const MigrationPart& stray : std::vector<MigrationPart>{
           {1, "a", "A again;\n"},  // a second part where the layout takes one
           {1, "c", "C;\n"},        // a module the version does not take
           {2, "a", "A2;\n"},       // a version the layout does not have
       }) {
    auto assembled = AssembleMigrations({{1, "first", {"a"}}}, {{1, "a", "A;\n"}, stray});
    ASSERT_FALSE(assembled.ok()) << stray.module << " " << stray.version;
    EXPECT_EQ(assembled.status().code(), StatusCode::kInternal);
    EXPECT_NE(assembled.status().message().find("module " + stray.module), std::string::npos)
        << assembled.status().message();
  }
}

TEST(SchemaLayoutTest, RefusesVersionsThatDoNotRunOneToN) {
  const std::vector<MigrationPart> parts = {{1, "a", "A;\n"}, {3, "a", "A3;\n"}};
  auto assembled = AssembleMigrations({{1, "first", {"a"}}, {3, "third", {"a"}}}, parts);
  ASSERT_FALSE(assembled.ok());
  EXPECT_EQ(assembled.status().code(), StatusCode::kInternal);
  EXPECT_NE(assembled.status().message().find("migration 3 (third)"), std::string::npos)
      << assembled.status().message();
}

TEST(SchemaLayoutTest, NumbersTheAppliancesMigrationsOneToN) {
  const auto& layout = SchemaLayout();
  ASSERT_GE(layout.size(), 6u);
  for (size_t i = 0; i < layout.size(); ++i) EXPECT_EQ(layout[i].version, static_cast<int>(i) + 1);
}

}  // namespace
}  // namespace cloister
