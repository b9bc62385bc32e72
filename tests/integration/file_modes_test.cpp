// The appliance's files are its own: the database, its -wal and -shm, the
// keyring, backups, the log directory and log files stay private (files
// 0600, directories 0700) under a process umask that would make them world
// readable, through log rotation, a restore, and files widened while the
// server was stopped.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <vector>

#include "appliance/core/files.h"
#include "tests/integration/appliance_server.h"

namespace cloister::testing {
namespace {

namespace fs = std::filesystem;

// Sets the process umask (inherited by cloisterd and cloisterctl, which the
// tests start as children) for the lifetime of the object.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : saved_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(saved_); }

 private:
  mode_t saved_;
};

// "" when `path` exists with exactly `mode`, else what is wrong.
std::string ModeProblem(const std::string& path, mode_t mode) {
  auto m = FileMode(path);
  if (!m.ok()) return path + ": " + m.status().message();
  if (*m != mode) return path + " has mode " + OctalMode(*m) + ", wants " + OctalMode(mode);
  return "";
}

class FileModesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A tiny rotation size, so a few requests rotate the log.
    WriteText(dir_.File("cloister.yaml"),
              "logging:\n  level: debug\n  rotate_bytes: 4096\n  max_files: 50\n");
  }

  void BootAndWrite() {
    ASSERT_TRUE(server_.Start());
    const ApiResponse init =
        Call(server_, "POST", "/v1/sys/init", {{"key_file", dir_.File("unseal.key")}});
    ASSERT_EQ(init.status, 200) << init.body;
    token_ = init.json()["initial_admin_token"];
    ASSERT_EQ(Call(server_, "POST", "/v1/sys/unseal").status, 200);
    Write();
  }

  // Writes through the appliance so the database has a live -wal and -shm.
  void Write() {
    for (int i = 0; i < 5; ++i) {
      const ApiResponse r = Call(server_, "POST", "/v1/auth/tokens",
                                 {{"name", "t" + std::to_string(written_++)}}, token_);
      ASSERT_EQ(r.status, 201) << r.body;
    }
  }

  // Every private file of the data directory and of the log directory,
  // checked by stat.
  void ExpectPrivate(const std::string& when) {
    const std::string data = server_.data_dir();
    for (const auto& [path, mode] :
         std::vector<std::pair<std::string, mode_t>>{{data, 0700},
                                                     {data + "/cloister.db", 0600},
                                                     {data + "/cloister.db-wal", 0600},
                                                     {data + "/cloister.db-shm", 0600},
                                                     {data + "/keyring.json", 0600},
                                                     {data + "/tls/key.pem", 0600},
                                                     {log_dir(), 0700},
                                                     {log_file(), 0600}}) {
      EXPECT_EQ(ModeProblem(path, mode), "") << when;
    }
    for (const auto& e : fs::directory_iterator(log_dir())) {
      EXPECT_EQ(ModeProblem(e.path().string(), 0600), "") << when;
    }
  }

  std::string log_dir() const { return dir_.File("logs"); }
  std::string log_file() const { return dir_.File("logs/cloisterd.log"); }
  size_t LogFileCount() const {
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(log_dir())) n += e.is_regular_file() ? 1 : 0;
    return n;
  }

  ScopedUmask umask_{0};  // before the server starts: every child inherits it
  TempDir dir_;
  ApplianceServer server_{dir_.File("data"), dir_.File("cloister.yaml"),
                          dir_.File("logs/cloisterd.log")};
  std::string token_;
  int written_ = 0;
};

TEST_F(FileModesTest, DatabaseKeyringAndLogsArePrivateUnderAWideUmask) {
  BootAndWrite();
  ExpectPrivate("after init, unseal and writes");
}

TEST_F(FileModesTest, RotatedLogFilesStayPrivate) {
  BootAndWrite();
  // Each request logs a line; 4096 bytes hold a few dozen.
  for (int i = 0; i < 200 && LogFileCount() < 3; ++i) Call(server_, "GET", "/v1/sys/health");
  ASSERT_GE(LogFileCount(), 3u) << "the log did not rotate";
  ExpectPrivate("after log rotation");
}

TEST_F(FileModesTest, BackupAndRestoreKeepTheFilesPrivate) {
  BootAndWrite();
  const ApiResponse backup = Call(server_, "POST", "/v1/sys/backups", Json::object(), token_);
  ASSERT_EQ(backup.status, 201) << backup.body;
  const std::string kept =
      server_.data_dir() + "/backups/" + backup.json()["name"].get<std::string>();
  EXPECT_EQ(ModeProblem(server_.data_dir() + "/backups", 0700), "");
  EXPECT_EQ(ModeProblem(kept, 0600), "");
  const std::string copy = dir_.File("copy.cbk");
  fs::copy_file(kept, copy);
  Write();
  ASSERT_EQ(server_.Stop(), 0);

  // cloisterctl runs under the same wide umask.
  auto restored =
      RunCloisterctl(server_, {"backup", "restore", copy, "--data-dir", server_.data_dir(),
                               "--key-file", dir_.File("unseal.key"), "--allow-older"});
  ASSERT_EQ(restored.exit_code, 0) << restored.err << restored.out;
  EXPECT_EQ(ModeProblem(server_.data_dir() + "/cloister.db", 0600), "");
  EXPECT_EQ(ModeProblem(server_.data_dir() + "/keyring.json", 0600), "");
  for (const auto& e : fs::directory_iterator(server_.data_dir())) {
    if (e.path().filename().string().rfind("replaced-", 0) != 0) continue;
    EXPECT_EQ(ModeProblem(e.path().string(), 0700), "");
    for (const auto& f : fs::directory_iterator(e.path()))
      EXPECT_EQ(ModeProblem(f.path().string(), 0600), "");
  }

  // The restored appliance unseals (the key file, at start) and writes.
  ASSERT_TRUE(server_.Start());
  Write();
  ExpectPrivate("after a restore");
}

TEST_F(FileModesTest, FilesWidenedWhileStoppedAreNarrowedAtStartAndNamed) {
  BootAndWrite();
  ASSERT_EQ(server_.Stop(), 0);
  const std::string db = server_.data_dir() + "/cloister.db";
  ASSERT_EQ(::chmod(server_.data_dir().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(db.c_str(), 0644), 0);
  ASSERT_EQ(::chmod((server_.data_dir() + "/keyring.json").c_str(), 0666), 0);
  ASSERT_EQ(::chmod(log_file().c_str(), 0644), 0);
  ASSERT_EQ(::chmod(log_dir().c_str(), 0755), 0);

  ASSERT_TRUE(server_.Start());
  Write();
  ExpectPrivate("after a start over widened files");
  const std::string console = server_.console_log();
  EXPECT_NE(console.find("made " + db + " private: it was mode 0644, now 0600"), std::string::npos)
      << console;
  EXPECT_NE(console.find("made " + log_file() + " private: it was mode 0644"), std::string::npos)
      << console;
}

}  // namespace
}  // namespace cloister::testing
