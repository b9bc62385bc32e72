#include "appliance/storage/seal_manager.h"

#include <cstdio>
#include <filesystem>

#include "appliance/core/files.h"

namespace cloister {
namespace {

void RemoveDatabaseFiles(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((path + suffix).c_str());
}

void Restrict(const std::string& path, mode_t allowed, const Logger& logger) {
  auto was = RestrictMode(path, allowed);
  if (!was.ok()) {
    logger.Warning(was.status().message() + "; other users may read it");
  } else if (*was) {
    logger.Warning("made " + path + " private: it was mode " + OctalMode(**was) + ", now " +
                   OctalMode(**was & allowed));
  }
}

// What the data directory holds is the appliance's alone: directories 0700
// and files 0600 at most, at every depth. Only the TLS certificate, which is
// public, may stay readable. Anything wider (a copy made by hand, an older
// release, a wide umask) is narrowed and named in the log.
void MakeDataDirectoryPrivate(const std::string& dir, const Logger& logger) {
  namespace fs = std::filesystem;
  Restrict(dir, 0700, logger);
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::file_status st = it->symlink_status(ec);
    if (ec) break;
    const std::string path = it->path().string();
    if (fs::is_directory(st)) {
      Restrict(path, 0700, logger);
    } else if (fs::is_regular_file(st) && it->path().filename() != "cert.pem") {
      Restrict(path, 0600, logger);
    }
  }
  if (ec) logger.Warning("checking the permissions under " + dir + ": " + ec.message());
}

}  // namespace

SealManager::SealManager(StorageOptions options, const Clock& clock, Random& random, const Logger& logger)
    : options_(std::move(options)), clock_(clock), random_(random), logger_(logger) {}

SealManager::~SealManager() = default;

Status SealManager::Recover() {
  MutexLock lock(mu_);
  CL_RETURN_IF_ERROR(MakeDirectories(options_.data_dir, 0700));
  MakeDataDirectoryPrivate(options_.data_dir, logger_);
  const bool has_keyring = PathExists(keyring_path());
  const bool has_db = PathExists(database_path());
  const bool has_init = PathExists(init_path());
  if (!has_keyring && has_init) {
    // The keyring was never written: the initialization was not acknowledged.
    logger_.Warning("discarding " + init_path() + " left by an interrupted initialization");
    RemoveDatabaseFiles(init_path());
  } else if (has_keyring && !has_db && has_init) {
    logger_.Warning("completing an interrupted initialization: renaming " + init_path());
    if (std::rename(init_path().c_str(), database_path().c_str()) != 0) {
      return Status::Unavailable("renaming " + init_path() + " to " + database_path());
    }
  }
  if (has_keyring) {
    CL_ASSIGN_OR_RETURN(Keyring k, LoadKeyring(keyring_path()));
    keyring_ = std::move(k);
    if (!PathExists(database_path())) {
      return Status::FailedPrecondition("keyring " + keyring_path() + " exists but database " + database_path() +
                                        " is missing; restore it from a backup");
    }
  } else if (has_db) {
    return Status::FailedPrecondition("database " + database_path() + " exists but keyring " + keyring_path() +
                                      " is missing; restore the keyring from a backup");
  }
  return Status::Ok();
}

SealStatus SealManager::CurrentStatus() const {
  MutexLock lock(mu_);
  return StatusLocked();
}

SealStatus SealManager::StatusLocked() const {
  SealStatus s;
  s.initialized = keyring_.has_value();
  s.sealed = store_ == nullptr;
  s.progress = static_cast<int>(progress_.size());
  if (keyring_) {
    s.seal_type = keyring_->seal_type;
    s.shares = keyring_->seal_type == SealType::kShamir ? keyring_->shares : 1;
    s.threshold = keyring_->seal_type == SealType::kShamir ? keyring_->threshold : 1;
    s.appliance_id = keyring_->appliance_id;
  }
  return s;
}

std::shared_ptr<Store> SealManager::store() const {
  MutexLock lock(mu_);
  return store_;
}

Result<InitResult> SealManager::Initialize(const InitRequest& request, const Bootstrap& bootstrap) {
  MutexLock lock(mu_);
  if (keyring_ || PathExists(keyring_path())) {
    return Status::AlreadyExists("the appliance is already initialized (" + keyring_path() + ")")
        .WithReason("already_initialized");
  }
  if (PathExists(database_path())) {
    return Status::FailedPrecondition("database " + database_path() +
                                      " exists without a keyring; move it away before initializing");
  }
  if (request.seal_type == SealType::kShamir) {
    if (request.shares < 1 || request.shares > 255 || request.threshold < 1 || request.threshold > request.shares ||
        (request.threshold == 1 && request.shares > 1)) {
      return Status::InvalidArgument("shares must be 1..255 and threshold 2..shares (or both 1); got shares " +
                                     std::to_string(request.shares) + ", threshold " +
                                     std::to_string(request.threshold));
    }
  } else if (request.key_file.empty() || request.key_file[0] != '/') {
    return Status::InvalidArgument("key_file must be an absolute path");
  } else if (PathExists(request.key_file)) {
    return Status::AlreadyExists("key file " + request.key_file + " already exists; refusing to overwrite it");
  }

  CL_ASSIGN_OR_RETURN(SecureBytes id_bytes, SecureBytes::Generate(random_, 16));
  CL_ASSIGN_OR_RETURN(SecureBytes data_key, SecureBytes::Generate(random_, 32));
  CL_ASSIGN_OR_RETURN(SecureBytes kek, SecureBytes::Generate(random_, 32));
  Keyring k;
  k.appliance_id = HexEncode(id_bytes.data(), id_bytes.size());
  k.created_at = FormatTimestamp(clock_.Now());
  k.seal_type = request.seal_type;
  CL_ASSIGN_OR_RETURN(k.data_key, WrapKey(kek, data_key, k.WrapAad(), random_));

  InitResult result;
  result.appliance_id = k.appliance_id;
  if (request.seal_type == SealType::kShamir) {
    CL_ASSIGN_OR_RETURN(auto shares, ShamirSplit(kek, request.shares, request.threshold, random_));
    k.shares = request.shares;
    k.threshold = request.threshold;
    for (const auto& s : shares) {
      result.shares.push_back(EncodeShare(k.appliance_id, request.threshold, s));
      k.share_digests.push_back(ShareDigest(k.appliance_id, s));
    }
  } else {
    k.key_file = request.key_file;
    result.key_file = request.key_file;
  }

  CL_RETURN_IF_ERROR(CreateDatabase(data_key, k.appliance_id, bootstrap));
  if (request.seal_type == SealType::kKeyFile) {
    Status st = CreateFileExclusive(request.key_file, EncodeKeyFile(kek), 0600);
    if (!st.ok()) {
      RemoveDatabaseFiles(init_path());
      return st;
    }
  }
  if (Status st = SaveKeyring(keyring_path(), k); !st.ok()) {
    RemoveDatabaseFiles(init_path());
    if (request.seal_type == SealType::kKeyFile) std::remove(request.key_file.c_str());
    return st;
  }
  // The keyring is durable: from here Recover() completes the rename.
  if (std::rename(init_path().c_str(), database_path().c_str()) != 0) {
    return Status::Unavailable("renaming " + init_path() + " to " + database_path());
  }
  keyring_ = std::move(k);
  logger_.Info("initialized appliance " + result.appliance_id + " (" +
               std::string(SealTypeName(request.seal_type)) + " seal)");
  return result;
}

Status SealManager::CreateDatabase(const SecureBytes& data_key, const std::string& appliance_id,
                                   const Bootstrap& bootstrap) {
  RemoveDatabaseFiles(init_path());
  ConnectionOptions options;
  options.create = true;
  Status st = [&]() -> Status {
    CL_ASSIGN_OR_RETURN(auto conn, Connection::Open(init_path(), data_key, options));
    CL_RETURN_IF_ERROR(Migrate(*conn, options_.migrations, clock_).status());
    CL_RETURN_IF_ERROR(conn->Exec("BEGIN IMMEDIATE"));
    Transaction tx(*conn);
    Status boot = bootstrap(tx, appliance_id);
    tx.ResetStatements();
    if (!boot.ok()) {
      conn->Exec("ROLLBACK");
      return boot.Annotate("initializing the database");
    }
    return conn->Exec("COMMIT");
  }();  // the connection closes here, folding the WAL into the file
  if (!st.ok()) RemoveDatabaseFiles(init_path());
  return st;
}

std::optional<Result<SealStatus>> SealManager::UnsealPreconditions(SealType method) const {
  if (!keyring_) return Status::FailedPrecondition("the appliance is not initialized").WithReason("not_initialized");
  if (store_) return StatusLocked();
  if (keyring_->seal_type != method) {
    return Status::FailedPrecondition(method == SealType::kShamir
                                          ? "this appliance unseals with its key file, not with shares"
                                          : "this appliance unseals with Shamir shares, not a key file")
        .WithReason("wrong_seal_type");
  }
  return std::nullopt;
}

Result<SealStatus> SealManager::SubmitShare(std::string_view text) {
  MutexLock lock(mu_);
  if (auto answer = UnsealPreconditions(SealType::kShamir)) return std::move(*answer);
  CL_ASSIGN_OR_RETURN(DecodedShare decoded, DecodeShare(text));
  const std::string own_tag = keyring_->appliance_id.substr(0, 8);
  if (decoded.appliance_tag != own_tag) {
    return Status::InvalidArgument("unseal share belongs to another appliance (its appliance id begins " +
                                   decoded.appliance_tag + ", this appliance's begins " + own_tag + ")")
        .WithReason("wrong_appliance");
  }
  const std::string digest = ShareDigest(keyring_->appliance_id, decoded.share);
  const auto& digests = keyring_->share_digests;
  if (decoded.threshold != keyring_->threshold || std::find(digests.begin(), digests.end(), digest) == digests.end()) {
    return Status::InvalidArgument(
               "unseal share is not one this appliance's keyring issued (it may be from an earlier "
               "initialization)")
        .WithReason("invalid_share");
  }
  for (const auto& s : progress_) {
    if (s.x == decoded.share.x) {
      return Status::InvalidArgument("unseal share " + std::to_string(decoded.share.x) + " was already provided")
          .WithReason("duplicate_share")
          .WithDetails({{"progress", progress_.size()}, {"threshold", keyring_->threshold}});
    }
  }
  progress_.push_back(std::move(decoded.share));
  if (static_cast<int>(progress_.size()) < keyring_->threshold) return StatusLocked();

  auto kek = ShamirCombine(progress_);
  progress_.clear();
  if (!kek.ok()) return kek.status();
  return UnsealWithKek(std::move(kek).value());
}

Result<SealStatus> SealManager::UnsealWithKeyFile() {
  MutexLock lock(mu_);
  if (auto answer = UnsealPreconditions(SealType::kKeyFile)) return std::move(*answer);
  CL_ASSIGN_OR_RETURN(SecureBytes kek, ReadKeyFile(keyring_->key_file));
  auto status = UnsealWithKek(std::move(kek));
  if (!status.ok() && status.status().reason() == "key_mismatch") {
    return Status::PermissionDenied("key file " + keyring_->key_file +
                                    " does not unwrap this appliance's data key (wrong key file)")
        .WithReason("key_mismatch");
  }
  return status;
}

Result<SealStatus> SealManager::UnsealWithKek(SecureBytes kek) {
  CL_ASSIGN_OR_RETURN(SecureBytes data_key, UnwrapKey(kek, keyring_->data_key, keyring_->WrapAad()));
  CL_RETURN_IF_ERROR(OpenStore(data_key));
  logger_.Info("unsealed appliance " + keyring_->appliance_id);
  return StatusLocked();
}

Status SealManager::OpenStore(const SecureBytes& data_key) {
  if (!options_.make_writer) {
    return Status::Internal("the storage options give no writer factory (make_writer); cloisterd's wiring provides it");
  }
  ConnectionOptions options;
  CL_ASSIGN_OR_RETURN(auto conn, Connection::Open(database_path(), data_key, options));
  CL_ASSIGN_OR_RETURN(auto applied, Migrate(*conn, options_.migrations, clock_));
  for (const auto& m : applied) {
    logger_.Info("applied schema migration " + std::to_string(m.version) + " (" + m.name + ")");
  }
  CL_ASSIGN_OR_RETURN(auto reads, ReadPool::Open(database_path(), data_key, options_.read_connections));
  CL_ASSIGN_OR_RETURN(std::unique_ptr<Writer> writer, options_.make_writer(std::move(conn), options_.writer));
  if (!writer) return Status::Internal("the storage options' writer factory returned no writer");
  store_ = std::make_shared<Store>(keyring_->appliance_id, data_key.Copy(), std::move(writer), std::move(reads),
                                   std::move(applied));
  return Status::Ok();
}

SealStatus SealManager::ResetProgress() {
  MutexLock lock(mu_);
  progress_.clear();
  return StatusLocked();
}

Status SealManager::Seal() {
  std::shared_ptr<Store> dropped;
  {
    MutexLock lock(mu_);
    if (!keyring_) return Status::FailedPrecondition("the appliance is not initialized").WithReason("not_initialized");
    dropped = std::move(store_);
    progress_.clear();
  }
  if (dropped) logger_.Info("sealed appliance");
  return Status::Ok();  // `dropped` drains the writer when the last request lets go
}

}  // namespace cloister
