#include "audit/backup.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "appliance/core/encoding.h"
#include "appliance/core/files.h"
#include "appliance/storage/appliance_info.h"
#include "appliance/storage/connection.h"
#include "appliance/storage/migrator.h"
#include "audit/audit_keys.h"
#include "audit/audit_ledger.h"
#include "audit/verify/merkle.h"

namespace cloister {
namespace {

constexpr char kMagic[] = "CLOISTER-BACKUP 1\n";
constexpr size_t kMaxManifest = 1 << 20;
constexpr size_t kTrailerSize = 1 + 7 + 64 + 1;  // "\nsha256 " + hex + "\n"

Status Invalid(const std::string& path, const std::string& what) {
  return Status::InvalidArgument("backup " + path + ": " + what).WithReason("backup_invalid");
}

// Streaming SHA-256.
class Sha256Stream {
 public:
  Sha256Stream() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }
  void Update(const char* data, size_t size) { EVP_DigestUpdate(ctx_.get(), data, size); }
  std::string Hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest, &len);
    return HexEncode(digest, len);
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

// Reads `size` bytes of `in` from where it is, handing each chunk to `sink`.
bool CopyRange(std::istream& in, uint64_t size, const std::function<void(const char*, size_t)>& sink) {
  char buf[1 << 16];
  while (size > 0) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(size, sizeof buf));
    if (!in.read(buf, static_cast<std::streamsize>(want))) return false;
    sink(buf, want);
    size -= want;
  }
  return true;
}

Result<std::string> FileSha256(const std::string& path, uint64_t* size) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read " + path);
  in.seekg(0, std::ios::end);
  *size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  Sha256Stream sha;
  if (!CopyRange(in, *size, [&](const char* d, size_t n) { sha.Update(d, n); })) {
    return Status::Internal("reading " + path + " failed");
  }
  return sha.Hex();
}

Status FsyncPath(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return Status::Internal("cannot open " + path + " to sync it");
  const int rc = fsync(fd);
  close(fd);
  return rc == 0 ? Status::Ok() : Status::Internal("fsync " + path + " failed");
}

Result<BackupManifest> ParseManifest(const std::string& path, std::string_view line) {
  auto parsed = ParseJsonObject(line);
  if (!parsed.ok()) return Invalid(path, "the manifest is not a JSON object: " + parsed.status().message());
  const Json& j = *parsed;
  BackupManifest m;
  try {
    if (j.at("format").get<std::string>() != "cloister-backup/1") return Invalid(path, "unknown manifest format");
    m.created_at = j.at("created_at").get<std::string>();
    m.appliance_id = j.at("appliance_id").get<std::string>();
    m.appliance_name = j.at("appliance_name").get<std::string>();
    m.version = j.at("version").get<std::string>();
    m.schema_version = j.at("schema_version").get<int>();
    const Json& l = j.at("ledger");
    m.ledger.size = l.at("size").get<uint64_t>();
    m.ledger.root_hash = l.at("root_hash").get<std::string>();
    m.ledger.checkpoint = l.at("checkpoint").get<std::string>();
    m.ledger.verifier_key = l.at("verifier_key").get<std::string>();
    for (const Json& f : j.at("files")) {
      BackupEntry e;
      e.name = f.at("name").get<std::string>();
      e.size = f.at("size").get<uint64_t>();
      e.sha256 = f.at("sha256").get<std::string>();
      m.files.push_back(std::move(e));
    }
  } catch (const std::exception& e) {
    return Invalid(path, std::string("the manifest is malformed: ") + e.what());
  }
  std::vector<std::string> names;
  for (const auto& f : m.files) names.push_back(f.name);
  std::sort(names.begin(), names.end());
  if (names != std::vector<std::string>{kBackupDatabase, kBackupKeyring}) {
    return Invalid(path, "the manifest must list exactly cloister.db and keyring.json");
  }
  for (const auto& f : m.files) {
    if (f.sha256.size() != 64 || !HexDecode(f.sha256).ok()) return Invalid(path, "bad checksum for " + f.name);
  }
  return m;
}

// The verifier key of the ledger in `conn`: its signing key, named by the
// appliance's audit origin.
Result<std::string> StoredVerifierKey(ReadView db, const ApplianceInfo& info) {
  CL_ASSIGN_OR_RETURN(AuditKeys keys, LoadAuditKeys(db));
  verify::NoteSigner signer;
  std::array<uint8_t, 32> seed;
  std::copy(keys.signing_seed.data(), keys.signing_seed.data() + 32, seed.begin());
  std::string error;
  const bool ok = signer.Init(info.name + "/audit", seed, &error);
  std::fill(seed.begin(), seed.end(), 0);
  if (!ok) return Status::Corruption("audit signing key: " + error);
  return signer.verifier_key();
}

}  // namespace

Json BackupManifest::ToJson() const {
  Json files_json = Json::array();
  for (const auto& f : files) files_json.push_back({{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}});
  return {{"format", "cloister-backup/1"},
          {"created_at", created_at},
          {"appliance_id", appliance_id},
          {"appliance_name", appliance_name},
          {"version", version},
          {"schema_version", schema_version},
          {"ledger",
           {{"size", ledger.size},
            {"root_hash", ledger.root_hash},
            {"checkpoint", ledger.checkpoint},
            {"verifier_key", ledger.verifier_key}}},
          {"files", files_json}};
}

Status SnapshotDatabase(const std::string& db_path, const SecureBytes& data_key, const std::string& dest) {
  ConnectionOptions read;
  read.read_only = true;
  CL_ASSIGN_OR_RETURN(auto src, Connection::Open(db_path, data_key, read));
  ConnectionOptions create;
  create.create = true;
  CL_ASSIGN_OR_RETURN(auto out, Connection::Open(dest, data_key, create));
  sqlite3_backup* backup = sqlite3_backup_init(out->handle(), "main", src->handle(), "main");
  if (backup == nullptr) return Status::Internal(std::string("backup: ") + sqlite3_errmsg(out->handle()));
  int rc;
  // All pages in one step: one read transaction, so one consistent state.
  while ((rc = sqlite3_backup_step(backup, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(10);
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return Status::Internal(std::string("backup: ") + sqlite3_errstr(rc));
  return out->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

Result<BackupSummary> WriteBackup(const std::string& db_path, const std::string& keyring_path,
                                  const SecureBytes& data_key, const std::string& version,
                                  const std::string& created_at, const std::string& out_path) {
  const std::string snapshot = out_path + ".db.tmp";
  const std::string partial = out_path + ".tmp";
  struct Cleanup {
    std::vector<std::string> paths;
    ~Cleanup() {
      for (const auto& p : paths) {
        std::remove(p.c_str());
        std::remove((p + "-wal").c_str());
        std::remove((p + "-shm").c_str());
      }
    }
  } cleanup{{snapshot, partial}};

  CL_RETURN_IF_ERROR(SnapshotDatabase(db_path, data_key, snapshot));
  BackupManifest m;
  m.created_at = created_at;
  m.version = version;
  {
    ConnectionOptions read;
    read.read_only = true;
    CL_ASSIGN_OR_RETURN(auto conn, Connection::Open(snapshot, data_key, read));
    const ReadView db(*conn);
    CL_ASSIGN_OR_RETURN(ApplianceInfo info, ReadApplianceInfo(db));
    m.appliance_id = info.appliance_id;
    m.appliance_name = info.name;
    CL_ASSIGN_OR_RETURN(m.schema_version, SchemaVersion(*conn));
    CL_ASSIGN_OR_RETURN(auto checkpoint, AuditLedger::LatestCheckpoint(db));
    CL_ASSIGN_OR_RETURN(LedgerHead head, AuditLedger::Head(db));
    if (!checkpoint || checkpoint->size != head.size) {
      return Status::FailedPrecondition("the ledger's head has no signed checkpoint yet; try again in a second")
          .WithReason("checkpoint_pending");
    }
    m.ledger.size = checkpoint->size;
    m.ledger.root_hash = verify::Hex(checkpoint->root);
    m.ledger.checkpoint = checkpoint->note;
    CL_ASSIGN_OR_RETURN(m.ledger.verifier_key, StoredVerifierKey(db, info));
  }
  const std::vector<std::pair<std::string, std::string>> sources = {{kBackupDatabase, snapshot},
                                                                    {kBackupKeyring, keyring_path}};
  for (const auto& [name, source] : sources) {
    BackupEntry e{name, 0, "", 0};
    CL_ASSIGN_OR_RETURN(e.sha256, FileSha256(source, &e.size));
    m.files.push_back(e);
  }

  const int fd = open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return Status::Internal("cannot create " + partial);
  close(fd);
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  Sha256Stream whole;
  auto emit = [&](const char* d, size_t n) {
    whole.Update(d, n);
    out.write(d, static_cast<std::streamsize>(n));
  };
  const std::string header = std::string(kMagic) + m.ToJson().dump() + "\n";
  emit(header.data(), header.size());
  for (const auto& [name, source] : sources) {
    std::ifstream in(source, std::ios::binary);
    const std::string& wanted = name;  // a structured binding cannot be captured before C++20 in clang 14
    const auto& entry = *std::find_if(m.files.begin(), m.files.end(), [&](const auto& f) { return f.name == wanted; });
    if (!in || !CopyRange(in, entry.size, emit)) return Status::Internal("reading " + source + " failed");
  }
  const std::string sha = whole.Hex();
  out << "\nsha256 " << sha << "\n";
  out.close();
  if (!out) return Status::Internal("writing " + partial + " failed");
  CL_RETURN_IF_ERROR(FsyncPath(partial));
  if (std::rename(partial.c_str(), out_path.c_str()) != 0) return Status::Internal("cannot rename to " + out_path);
  const std::string dir = std::filesystem::path(out_path).parent_path().string();
  CL_RETURN_IF_ERROR(FsyncPath(dir.empty() ? "." : dir));
  return ReadBackup(out_path);
}

Result<BackupSummary> ReadBackup(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("backup " + path + " cannot be read");
  in.seekg(0, std::ios::end);
  const uint64_t total = static_cast<uint64_t>(in.tellg());
  in.seekg(0);

  const size_t magic_len = sizeof kMagic - 1;
  std::string magic(magic_len, '\0');
  if (total < magic_len + kTrailerSize || !in.read(magic.data(), static_cast<std::streamsize>(magic_len)) ||
      magic != kMagic) {
    return Invalid(path, "not a Cloister backup (no CLOISTER-BACKUP 1 header)");
  }
  std::string line;
  char c;
  while (in.get(c) && c != '\n') {
    if (line.size() >= kMaxManifest) return Invalid(path, "the manifest is larger than 1 MiB");
    line.push_back(c);
  }
  if (!in) return Invalid(path, "truncated in the manifest");
  CL_ASSIGN_OR_RETURN(BackupManifest m, ParseManifest(path, line));

  uint64_t offset = magic_len + line.size() + 1;
  for (auto& f : m.files) {
    f.offset = offset;
    if (f.size > total || offset > total - f.size) return Invalid(path, "truncated: " + f.name + " is cut short");
    offset += f.size;
  }
  if (offset + kTrailerSize != total) {
    return Invalid(path, offset + kTrailerSize > total ? "truncated: the checksum line is missing"
                                                       : "has " + std::to_string(total - offset - kTrailerSize) +
                                                             " bytes more than the manifest accounts for");
  }

  // One pass: the whole file's checksum and each file's.
  in.seekg(0);
  Sha256Stream whole;  // everything before the trailer
  Sha256Stream file;   // the whole file, trailer included
  auto feed = [&](uint64_t n, Sha256Stream* part) {
    return CopyRange(in, n, [&](const char* d, size_t k) {
      whole.Update(d, k);
      file.Update(d, k);
      if (part) part->Update(d, k);
    });
  };
  if (!feed(m.files.front().offset, nullptr)) return Invalid(path, "cannot be read");
  for (const auto& f : m.files) {
    Sha256Stream part;
    if (!feed(f.size, &part)) return Invalid(path, "cannot be read");
    if (part.Hex() != f.sha256) return Invalid(path, f.name + " does not match its checksum in the manifest");
  }
  std::string trailer(kTrailerSize, '\0');
  if (!in.read(trailer.data(), static_cast<std::streamsize>(kTrailerSize))) return Invalid(path, "cannot be read");
  file.Update(trailer.data(), trailer.size());
  const std::string sha = whole.Hex();
  if (trailer.compare(0, 8, "\nsha256 ") != 0 || trailer.back() != '\n') return Invalid(path, "the checksum line is malformed");
  if (trailer.substr(8, 64) != sha) return Invalid(path, "the file does not match its checksum (altered or damaged)");

  if (Status st = CheckBackupCheckpoint(m); !st.ok()) return Invalid(path, st.message());
  return BackupSummary{path, total, file.Hex(), std::move(m)};
}

Status CheckBackupCheckpoint(const BackupManifest& m) {
  verify::VerifierKey key;
  std::string error, text;
  verify::Checkpoint checkpoint;
  if (!verify::ParseVerifierKey(m.ledger.verifier_key, &key, &error)) {
    return Status::InvalidArgument("the manifest's verifier key is malformed: " + error).WithReason("backup_invalid");
  }
  if (!verify::VerifyNote(m.ledger.checkpoint, key, &text, &error) || !verify::ParseCheckpoint(text, &checkpoint, &error)) {
    return Status::InvalidArgument("the manifest's checkpoint does not verify: " + error).WithReason("backup_invalid");
  }
  if (checkpoint.size != m.ledger.size || verify::Hex(checkpoint.root) != m.ledger.root_hash ||
      checkpoint.origin != m.appliance_name + "/audit") {
    return Status::InvalidArgument("the manifest's checkpoint does not match its ledger size, root or appliance")
        .WithReason("backup_invalid");
  }
  return Status::Ok();
}

Status ExtractBackupFile(const BackupSummary& backup, const std::string& name, const std::string& dest) {
  const auto it = std::find_if(backup.manifest.files.begin(), backup.manifest.files.end(),
                               [&](const auto& f) { return f.name == name; });
  if (it == backup.manifest.files.end()) return Status::NotFound("backup has no " + name);
  std::ifstream in(backup.path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(it->offset));
  const int fd = open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return Status::AlreadyExists("cannot create " + dest + " (it exists or the directory is not writable)");
  close(fd);
  std::ofstream out(dest, std::ios::binary | std::ios::trunc);
  Sha256Stream sha;
  if (!CopyRange(in, it->size, [&](const char* d, size_t n) {
        sha.Update(d, n);
        out.write(d, static_cast<std::streamsize>(n));
      })) {
    return Status::Internal("reading " + backup.path + " failed");
  }
  out.close();
  if (!out || sha.Hex() != it->sha256) return Status::Internal("extracting " + name + " failed");
  return FsyncPath(dest);
}

Result<SecureBytes> KekFor(const Keyring& keyring, const std::string& key_file, const std::vector<std::string>& shares) {
  if (keyring.seal_type == SealType::kKeyFile) return ReadKeyFile(key_file.empty() ? keyring.key_file : key_file);
  std::vector<ShamirShare> decoded;
  for (const auto& text : shares) {
    CL_ASSIGN_OR_RETURN(DecodedShare d, DecodeShare(text));
    if (d.appliance_tag != keyring.appliance_id.substr(0, 8)) {
      return Status::InvalidArgument("an unseal share belongs to another appliance").WithReason("wrong_appliance");
    }
    decoded.push_back(std::move(d.share));
  }
  if (static_cast<int>(decoded.size()) < keyring.threshold) {
    return Status::InvalidArgument("the backup's keyring needs " + std::to_string(keyring.threshold) +
                                   " unseal shares, " + std::to_string(decoded.size()) + " given")
        .WithReason("shares_needed");
  }
  return ShamirCombine(decoded);
}

Result<std::unique_ptr<Connection>> OpenDatabaseWithKek(const std::string& db_path, const Keyring& keyring,
                                                        const SecureBytes& kek) {
  auto data_key = UnwrapKey(kek, keyring.data_key, keyring.WrapAad());
  if (!data_key.ok()) {
    return Status::PermissionDenied("the unseal key does not unwrap the keyring of appliance " + keyring.appliance_id)
        .WithReason("key_mismatch");
  }
  ConnectionOptions read;
  read.read_only = true;
  return Connection::Open(db_path, *data_key, read);
}

Result<LedgerReport> VerifyBackupLedger(const std::string& db_path, const Keyring& keyring, const SecureBytes& kek,
                                        const BackupManifest& manifest) {
  CL_ASSIGN_OR_RETURN(auto conn, OpenDatabaseWithKek(db_path, keyring, kek));
  verify::VerifierKey key;
  std::string error;
  if (!verify::ParseVerifierKey(manifest.ledger.verifier_key, &key, &error)) {
    return Status::FailedPrecondition("the manifest's verifier key is malformed: " + error)
        .WithReason("backup_ledger_invalid");
  }
  // The key must be the one the database itself signs with.
  const ReadView db(*conn);
  CL_ASSIGN_OR_RETURN(ApplianceInfo info, ReadApplianceInfo(db));
  CL_ASSIGN_OR_RETURN(std::string stored_key, StoredVerifierKey(db, info));
  if (stored_key != manifest.ledger.verifier_key || info.appliance_id != manifest.appliance_id) {
    return Status::FailedPrecondition("the manifest does not describe this database (appliance or audit key differ)")
        .WithReason("backup_ledger_invalid");
  }
  CL_ASSIGN_OR_RETURN(LedgerReport report, VerifyLedger(db, key, false));
  if (!report.ok) {
    return Status::FailedPrecondition("the backup's audit ledger does not verify at seq " +
                                      std::to_string(report.first_bad_seq) + ": " + report.problem)
        .WithReason("backup_ledger_invalid")
        .WithDetails(report.ToJson());
  }
  CL_ASSIGN_OR_RETURN(auto latest, AuditLedger::LatestCheckpoint(db));
  if (report.size != manifest.ledger.size || !latest || latest->size != manifest.ledger.size ||
      verify::Hex(latest->root) != manifest.ledger.root_hash || latest->note != manifest.ledger.checkpoint) {
    return Status::FailedPrecondition("the backup's ledger does not end at the checkpoint its manifest records")
        .WithReason("backup_ledger_invalid");
  }
  return report;
}

Result<uint64_t> LedgerSizeOf(const std::string& db_path, const Keyring& keyring, const SecureBytes& kek) {
  CL_ASSIGN_OR_RETURN(auto conn, OpenDatabaseWithKek(db_path, keyring, kek));
  return AuditLedger::Size(ReadView(*conn));
}

}  // namespace cloister
