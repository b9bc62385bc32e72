// SealManager owns the appliance's encrypted storage and its seal state:
// not initialized -> sealed <-> unsealed.
//
// Initialize creates the data key, the key-encryption key (KEK) and the
// database, and stores the data key only wrapped by the KEK in the keyring.
// Unsealing rebuilds the KEK (from Shamir shares or the key file), unwraps
// the data key, opens the database, applies pending migrations (the list
// the storage options give) and has the options' factory build the single
// writer. The Store keeps the data key (for online backups, which
// write a new database under it) and zeroes it when it is dropped at seal. Sealing drops the Store; the last request holding it
// finishes, then the writer drains and the connections close.
//
// Nothing half-made survives a failure: an initialization builds the
// database under a temporary name and renames it only after the keyring is
// durable (Recover() rolls an interrupted one forward or back), and a share
// that is malformed, mistyped, from another appliance, already given, or not
// issued by this keyring is refused without changing unseal progress.
//
// Thread-safe: every method may be called from any thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "appliance/core/clock.h"
#include "appliance/core/logging.h"
#include "appliance/core/mutex.h"
#include "appliance/core/random.h"
#include "appliance/storage/group_commit_writer.h"
#include "appliance/storage/keyring.h"
#include "appliance/storage/migrator.h"
#include "appliance/storage/read_pool.h"

namespace cloister {

// Builds the single writer of each store opened, over the migrated writer
// connection it takes ownership of, with the storage options' writer
// settings. The server's wiring provides it (a GroupCommitWriter); tests
// wrap it to make the database refuse units.
using WriterFactory =
    std::function<Result<std::unique_ptr<Writer>>(std::unique_ptr<Connection>, const WriterOptions&)>;

struct StorageOptions {
  std::string data_dir;  // holds cloister.db and keyring.json
  int read_connections = 4;
  WriterOptions writer;  // given to make_writer
  // Required to unseal: opening a store without it is an internal error.
  WriterFactory make_writer;
  // The schema, versions 1..n (schema_layout.h assembles the appliance's);
  // applied at initialization and at every unseal. A database recording a
  // migration not in this list is refused.
  std::vector<Migration> migrations;
};

struct InitRequest {
  SealType seal_type = SealType::kShamir;
  int shares = 5;        // shamir
  int threshold = 3;     // shamir
  std::string key_file;  // key_file: where to create it (must not exist)
};

struct InitResult {
  std::string appliance_id;
  std::vector<std::string> shares;  // printable; shown once, never stored
  std::string key_file;
};

// Fills the new database in its first transaction, given the appliance id.
using Bootstrap = std::function<Status(Transaction&, const std::string& appliance_id)>;

struct SealStatus {
  bool initialized = false;
  bool sealed = true;
  SealType seal_type = SealType::kShamir;
  int shares = 0;
  int threshold = 0;
  int progress = 0;  // shares accepted toward the threshold
  std::string appliance_id;
};

// What exists while the appliance is unsealed. Thread-safe.
class Store {
 public:
  Store(std::string appliance_id, SecureBytes data_key, std::unique_ptr<Writer> writer,
        std::unique_ptr<ReadPool> reads, std::vector<AppliedMigration> migrations)
      : appliance_id_(std::move(appliance_id)),
        data_key_(std::move(data_key)),
        writer_(std::move(writer)),
        reads_(std::move(reads)),
        migrations_(std::move(migrations)) {}

  Writer& writer() { return *writer_; }
  ReadPool& reads() { return *reads_; }
  const std::string& appliance_id() const { return appliance_id_; }
  const SecureBytes& data_key() const { return data_key_; }
  // The schema migrations this unseal applied.
  const std::vector<AppliedMigration>& migrations() const { return migrations_; }

 private:
  std::string appliance_id_;
  SecureBytes data_key_;
  std::unique_ptr<Writer> writer_;
  std::unique_ptr<ReadPool> reads_;
  std::vector<AppliedMigration> migrations_;
};

class SealManager {
 public:
  // `clock` and `random` must outlive this.
  SealManager(StorageOptions options, const Clock& clock, Random& random, const Logger& logger);
  ~SealManager();

  // Finishes or discards an initialization interrupted by a crash, and
  // narrows the data directory to the appliance's user (directories 0700,
  // files 0600, the TLS certificate excepted), logging a warning naming each
  // file it changed or could not change. Call once before serving.
  Status Recover();

  SealStatus CurrentStatus() const;

  // Creates the keyring and the database; `bootstrap` runs in the database's
  // first transaction (the initial admin token, environments, keys). The
  // appliance stays sealed. already_exists when initialized.
  Result<InitResult> Initialize(const InitRequest& request, const Bootstrap& bootstrap);

  // Adds one Shamir share; unseals when the threshold is reached.
  Result<SealStatus> SubmitShare(std::string_view share);
  // Unseals with the key file recorded at init.
  Result<SealStatus> UnsealWithKeyFile();
  // Forgets the shares given so far.
  SealStatus ResetProgress();
  // Seals: drops the store. OK if already sealed.
  Status Seal();

  // The open store, or null while sealed.
  std::shared_ptr<Store> store() const;

  const std::string& data_dir() const { return options_.data_dir; }
  // The schema version this appliance opens databases at: the number of
  // migrations it was given. Takes no lock (the options never change).
  int schema_version() const { return static_cast<int>(options_.migrations.size()); }
  std::string database_path() const { return options_.data_dir + "/cloister.db"; }
  std::string keyring_path() const { return options_.data_dir + "/keyring.json"; }

 private:
  std::string init_path() const { return database_path() + ".init"; }
  SealStatus StatusLocked() const CL_REQUIRES(mu_);
  // The answer when an unseal by `method` cannot proceed (not initialized,
  // already unsealed, other seal type); nullopt when it can.
  std::optional<Result<SealStatus>> UnsealPreconditions(SealType method) const CL_REQUIRES(mu_);
  Result<SealStatus> UnsealWithKek(SecureBytes kek) CL_REQUIRES(mu_);
  Status OpenStore(const SecureBytes& data_key) CL_REQUIRES(mu_);
  Status CreateDatabase(const SecureBytes& data_key, const std::string& appliance_id, const Bootstrap& bootstrap);

  const StorageOptions options_;
  const Clock& clock_;
  Random& random_;
  Logger logger_;

  mutable Mutex mu_;
  std::optional<Keyring> keyring_ CL_GUARDED_BY(mu_);
  std::vector<ShamirShare> progress_ CL_GUARDED_BY(mu_);
  std::shared_ptr<Store> store_ CL_GUARDED_BY(mu_);
};

}  // namespace cloister
