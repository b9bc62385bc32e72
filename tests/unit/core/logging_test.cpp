#include "appliance/core/logging.h"

#include <sys/stat.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "appliance/core/files.h"
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

// Boost.Log opens its files with the umask's mode; under umask 0 the log
// and every rotated file would be world-readable, the directory open to all.
TEST(LoggingTest, LogDirectoryAndRotatedFilesArePrivateUnderAWideUmask) {
  testing::TempDir dir;
  LogOptions options;
  options.console = false;
  options.file = dir.File("logs/cloisterd.log");
  options.rotate_bytes = 4096;
  options.max_files = 10;
  const mode_t saved = ::umask(0);
  ASSERT_TRUE(InitLogging(options).ok());
  const Logger log("test");
  for (int i = 0; i < 200; ++i) log.Info("line " + std::to_string(i) + " " + std::string(80, 'x'));
  ::umask(saved);

  EXPECT_EQ(FileMode(dir.File("logs")).value(), 0700u);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.File("logs"))) {
    ++files;
    EXPECT_EQ(FileMode(entry.path().string()).value(), 0600u) << entry.path();
  }
  EXPECT_GE(files, 3) << "no rotation happened";
  InitLogging(LogOptions{LogLevel::kInfo, false, "", 0, 0});
}

TEST(LoggingTest, WidenedLogFilesAreNarrowedAtStart) {
  testing::TempDir dir;
  ASSERT_EQ(::mkdir(dir.File("logs").c_str(), 0755), 0);
  ASSERT_EQ(::chmod(dir.File("logs").c_str(), 0755), 0);
  testing::WriteText(dir.File("logs/cloisterd.log"), "old\n");
  testing::WriteText(dir.File("logs/cloisterd-20260101T000000-0.log"), "older\n");
  testing::WriteText(dir.File("logs/unrelated.txt"), "not a log\n");
  for (const char* f : {"logs/cloisterd.log", "logs/cloisterd-20260101T000000-0.log", "logs/unrelated.txt"}) {
    ASSERT_EQ(::chmod(dir.File(f).c_str(), 0644), 0);
  }
  LogOptions options;
  options.console = false;
  options.file = dir.File("logs/cloisterd.log");
  ASSERT_TRUE(InitLogging(options).ok());
  Logger("test").Info("after");
  EXPECT_EQ(FileMode(dir.File("logs")).value(), 0700u);
  EXPECT_EQ(FileMode(dir.File("logs/cloisterd.log")).value(), 0600u);
  EXPECT_EQ(FileMode(dir.File("logs/cloisterd-20260101T000000-0.log")).value(), 0600u);
  EXPECT_EQ(FileMode(dir.File("logs/unrelated.txt")).value(), 0644u);  // not the logger's
  const std::string text = testing::Slurp(dir.File("logs/cloisterd.log"));
  EXPECT_NE(text.find("made " + dir.File("logs/cloisterd.log") + " private: it was mode 0644, now 0600"),
            std::string::npos)
      << text;
  InitLogging(LogOptions{LogLevel::kInfo, false, "", 0, 0});
}

TEST(LoggingTest, UnknownLevelIsNamed) {
  auto r = ParseLogLevel("verbose");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("verbose"), std::string::npos);
}

}  // namespace
}  // namespace cloister
