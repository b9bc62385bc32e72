// Online backups over HTTPS against a real cloisterd, and the backup reader
// against every way a backup file can be damaged or forged.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "appliance/core/encoding.h"
#include "appliance/core/files.h"
#include "audit/backup.h"
#include "tests/integration/identity_test_support.h"

namespace cloister::testing {
namespace {

class BackupApiTest : public IdentityFixture {
 protected:
  // Creates a backup over the API and downloads it; returns the local path.
  std::string CreateAndDownload(Json* summary) {
    const ApiResponse created = Call("POST", "/v1/sys/backups", Json::object(), admin_token_);
    EXPECT_EQ(created.status, 201) << created.body;
    *summary = created.json();
    const std::string local = dir_.File("downloaded.cbk");
    ApiClient client(server_.Client(admin_token_));
    auto r = client.Download(summary->value("download", ""), local);
    EXPECT_TRUE(r.ok() && r->status == 200);
    return local;
  }

  static std::string Bytes(const std::string& path) { return ReadFile(path, 64 << 20).value(); }
  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_.File(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  // The reader's verdict on `bytes`, "" when it accepts them.
  std::string Verdict(const std::string& bytes) {
    auto r = ReadBackup(Write("mutated.cbk", bytes));
    return r.ok() ? "" : r.status().message();
  }
};

TEST_F(BackupApiTest, CreatesAuditsAndDownloadsAnEncryptedBackup) {
  Boot();
  Json summary;
  const std::string local = CreateAndDownload(&summary);

  auto backup = ReadBackup(local);
  ASSERT_TRUE(backup.ok()) << backup.status().message();
  EXPECT_EQ(backup->sha256, summary["sha256"]);
  EXPECT_EQ(backup->manifest.ledger.size, summary["ledger"]["size"].get<uint64_t>());
  EXPECT_GT(backup->manifest.ledger.size, 0u);
  // The database inside is still encrypted: no SQLite header, no plain text.
  const std::string bytes = Bytes(local);
  EXPECT_EQ(bytes.find("SQLite format 3"), std::string::npos);
  EXPECT_EQ(bytes.find("system.unseal"), std::string::npos);
  // Kept on the appliance, mode 0600, and listed.
  const std::string kept = server_.data_dir() + "/backups/" + summary["name"].get<std::string>();
  EXPECT_EQ(FileMode(kept).value() & 0777, 0600u);
  const Json list = Call("GET", "/v1/sys/backups", nullptr, admin_token_).json();
  ASSERT_EQ(list["backups"].size(), 1u);
  EXPECT_EQ(list["backups"][0]["sha256"], summary["sha256"]);

  // The whole ledger re-verifies with the key file, to the manifest's checkpoint.
  auto keyring = LoadKeyring(server_.data_dir() + "/keyring.json");
  ASSERT_TRUE(keyring.ok());
  auto kek = KekFor(*keyring, "", {});
  ASSERT_TRUE(kek.ok()) << kek.status().message();
  const std::string db = dir_.File("extracted.db");
  ASSERT_TRUE(ExtractBackupFile(*backup, kBackupDatabase, db).ok());
  auto report = VerifyBackupLedger(db, *keyring, *kek, backup->manifest);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->size, backup->manifest.ledger.size);

  // Both the backup and its download are audited.
  const Json created = Events("action=system.backup");
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(created[0]["details"]["sha256"], summary["sha256"]);
  EXPECT_EQ(Events("action=system.backup_download").size(), 1u);
}

TEST_F(BackupApiTest, OnlyAdministratorsBackUpAndNamesCannotEscape) {
  Boot();
  const std::string author = MakeUser("writer", {"author@dev"}, "correct horse battery 1");
  (void)author;
  const LoginResult session = Login("writer", "correct horse battery 1");
  EXPECT_EQ(CookieCall("POST", "/v1/sys/backups", session, Json::object()).status, 403);
  EXPECT_EQ(CookieCall("GET", "/v1/sys/backups", session).status, 403);
  EXPECT_EQ(Call("POST", "/v1/sys/backups", Json{{"path", "/etc"}}, admin_token_).status, 400);
  for (const char* name : {"..%2Fkeyring.json", "keyring.json", "cloister-x-20260101T000000Z-1.cbk"}) {
    EXPECT_EQ(Call("GET", std::string("/v1/sys/backups/") + name, nullptr, admin_token_).status, 404) << name;
  }
}

TEST_F(BackupApiTest, TheReaderRefusesDamagedAndForgedBackups) {
  Boot();
  Json summary;
  const std::string good = Bytes(CreateAndDownload(&summary));
  ASSERT_EQ(Verdict(good), "");

  // A flipped byte anywhere: header, manifest, database, keyring, trailer.
  const size_t manifest_at = good.find('\n') + 10;
  const size_t data_at = good.find('\n', manifest_at) + 100;
  for (size_t at : {size_t{3}, manifest_at, data_at, good.size() - 200, good.size() - 10}) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    EXPECT_NE(Verdict(bad), "") << "flipped byte at " << at;
  }
  EXPECT_NE(Verdict(good.substr(0, good.size() / 2)).find("truncated"), std::string::npos);
  EXPECT_NE(Verdict(good.substr(0, 10)).find("not a Cloister backup"), std::string::npos);
  EXPECT_NE(Verdict(good + "extra").find("more than the manifest"), std::string::npos);
  EXPECT_NE(Verdict("").find("not a Cloister backup"), std::string::npos);
  EXPECT_NE(Verdict("CLOISTER-BACKUP 1\n" + std::string(2 << 20, 'x')).find("larger than 1 MiB"), std::string::npos);

  // A forged manifest with a recomputed trailer: each lie is caught.
  const size_t header_end = good.find('\n', 18);
  const Json manifest = ParseJsonObject(good.substr(18, header_end - 18)).value();
  auto forge = [&](const Json& m) {
    std::string body = "CLOISTER-BACKUP 1\n" + m.dump() + good.substr(header_end, good.size() - header_end - 73);
    return body + "\nsha256 " + Sha256Hex(body) + "\n";
  };
  EXPECT_EQ(Verdict(forge(manifest)), "");  // the forgery machinery itself is sound
  Json m = manifest;
  m["ledger"]["size"] = m["ledger"]["size"].get<uint64_t>() + 1;  // claims more events than were signed
  EXPECT_NE(Verdict(forge(m)).find("checkpoint"), std::string::npos);
  m = manifest;
  m["files"][0]["sha256"] = std::string(64, '0');
  EXPECT_NE(Verdict(forge(m)).find("does not match its checksum"), std::string::npos);
  m = manifest;
  m["files"][0]["name"] = "../../etc/passwd";
  EXPECT_NE(Verdict(forge(m)).find("exactly cloister.db and keyring.json"), std::string::npos);
  m = manifest;
  std::swap(m["files"][0], m["files"][1]);  // reordered: sizes and offsets no longer line up
  EXPECT_NE(Verdict(forge(m)), "");
  m = manifest;
  m["format"] = "cloister-backup/9";
  EXPECT_NE(Verdict(forge(m)).find("format"), std::string::npos);
}

}  // namespace
}  // namespace cloister::testing
