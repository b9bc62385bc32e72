#include "appliance/core/logging.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace cloister {
namespace {

TEST(LoggingTest, FileRotatesBySizeAndKeepsAtMostMaxFiles) {
  testing::TempDir dir;
  LogOptions options;
  options.console = false;
  options.file = dir.File("logs/cloisterd.log");
  options.rotate_bytes = 4096;
  options.max_files = 3;
  ASSERT_TRUE(InitLogging(options).ok());
  const Logger log("test");
  for (int i = 0; i < 400; ++i) log.Info("line " + std::to_string(i) + " " + std::string(80, 'x'));
  log.Debug("below the level: never written");

  int files = 0;
  std::string all;
  for (const auto& entry : std::filesystem::directory_iterator(dir.File("logs"))) {
    ++files;
    all += testing::Slurp(entry.path().string());
  }
  EXPECT_GE(files, 2) << "no rotation happened";
  EXPECT_LE(files, 4) << "more than max_files rotated files (plus the active one) were kept";
  EXPECT_NE(all.find("info  test: line 399 "), std::string::npos);
  EXPECT_EQ(all.find("below the level"), std::string::npos);
  // Lines start with an RFC 3339 UTC timestamp with microseconds.
  const std::string active = testing::Slurp(options.file);
  ASSERT_GE(active.size(), 28u);
  EXPECT_EQ(active[4], '-');
  EXPECT_EQ(active[10], 'T');
  EXPECT_EQ(active[26], 'Z');
  InitLogging(LogOptions{LogLevel::kInfo, false, "", 0, 0});  // detach from the temp dir
}

TEST(LoggingTest, UnknownLevelIsNamed) {
  auto r = ParseLogLevel("verbose");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("verbose"), std::string::npos);
}

}  // namespace
}  // namespace cloister
