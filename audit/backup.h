// Backups: one file holding a consistent copy of the encrypted database and
// the keyring, with a manifest and its own checksum.
//
//   CLOISTER-BACKUP 1\n
//   <manifest: one line of JSON>\n
//   <the bytes of each file the manifest lists, in its order>
//   \nsha256 <64 hex digits: SHA-256 of everything before this line>\n
//
// The database stays encrypted under the same data key, which stays wrapped
// in the keyring: a backup is no use without the unseal shares or key file.
// Reading one checks the format, every size, the trailing checksum and each
// file's checksum before anything is used; VerifyBackupLedger then opens the
// copy with the data key and re-verifies its whole audit ledger against the
// signed checkpoint the manifest records.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "appliance/core/json.h"
#include "appliance/core/secure_bytes.h"
#include "appliance/storage/connection.h"
#include "appliance/storage/keyring.h"
#include "audit/ledger_verifier.h"

namespace cloister {

inline constexpr char kBackupDatabase[] = "cloister.db";
inline constexpr char kBackupKeyring[] = "keyring.json";
// Left in the data directory by a restore; the next unseal records it as a
// system.restore audit event and removes it.
inline constexpr char kRestoreMarker[] = "restored.json";
// Held by cloisterd while it runs; a restore takes it to be sure it is not.
inline constexpr char kDataDirLock[] = "cloisterd.lock";

struct BackupLedger {
  uint64_t size = 0;
  std::string root_hash;   // hex, of the signed checkpoint at `size`
  std::string checkpoint;  // the signed note
  std::string verifier_key;
};

struct BackupEntry {
  std::string name;
  uint64_t size = 0;
  std::string sha256;
  uint64_t offset = 0;  // in the backup file
};

struct BackupManifest {
  std::string created_at;
  std::string appliance_id;
  std::string appliance_name;
  std::string version;  // Cloister release that wrote it
  int schema_version = 0;
  BackupLedger ledger;
  std::vector<BackupEntry> files;

  Json ToJson() const;
};

// What a created backup is, for the API and the audit event.
struct BackupSummary {
  std::string path;
  uint64_t size = 0;
  std::string sha256;  // of the whole file
  BackupManifest manifest;
};

// Copies the database at `db_path` (open elsewhere, in WAL mode) with the
// SQLite backup API into a new encrypted file `dest` under the same key.
Status SnapshotDatabase(const std::string& db_path, const SecureBytes& data_key, const std::string& dest);

// Writes a backup of the open appliance: snapshots the database, reads the
// snapshot's latest signed checkpoint (signing one must happen before), and
// writes `out_path` atomically with mode 0600. `work_dir` holds the
// temporary snapshot.
Result<BackupSummary> WriteBackup(const std::string& db_path, const std::string& keyring_path,
                                  const SecureBytes& data_key, const std::string& version,
                                  const std::string& created_at, const std::string& out_path);

// Reads and checks a backup file without keys: format, sizes, trailing
// checksum, each file's checksum, the keyring's appliance id. invalid_argument
// (reason "backup_invalid") naming the first problem.
Result<BackupSummary> ReadBackup(const std::string& path);

// Checks the manifest's signed checkpoint with the manifest's verifier key,
// and that it names the manifest's ledger size, root and appliance. (Pin the
// key by comparing manifest.ledger.verifier_key with the appliance's.)
Status CheckBackupCheckpoint(const BackupManifest& manifest);

// Copies one file of a checked backup out to `dest` (mode 0600).
Status ExtractBackupFile(const BackupSummary& backup, const std::string& name, const std::string& dest);

// The key-encryption key for `keyring`: from `key_file` (key-file seals;
// "" = the path the keyring records), or from Shamir `shares`.
Result<SecureBytes> KekFor(const Keyring& keyring, const std::string& key_file, const std::vector<std::string>& shares);

// Opens the extracted database `db_path` with the data key unwrapped from
// `keyring` by `kek`, and re-verifies its whole ledger; the result must end
// at the manifest's checkpoint. failed_precondition (reason
// "backup_ledger_invalid") when it does not verify.
Result<LedgerReport> VerifyBackupLedger(const std::string& db_path, const Keyring& keyring, const SecureBytes& kek,
                                        const BackupManifest& manifest);

// Opens the database at `db_path` read-only with the data key that `kek`
// unwraps from `keyring`; permission_denied (reason "key_mismatch") when it
// does not unwrap it.
Result<std::unique_ptr<Connection>> OpenDatabaseWithKek(const std::string& db_path, const Keyring& keyring,
                                                        const SecureBytes& kek);

// The ledger size of the database at `db_path`, opened with the data key that
// `kek` unwraps from `keyring`.
Result<uint64_t> LedgerSizeOf(const std::string& db_path, const Keyring& keyring, const SecureBytes& kek);

}  // namespace cloister
