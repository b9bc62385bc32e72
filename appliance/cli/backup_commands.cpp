// cloisterctl backup create|list|verify|restore, and cloisterctl upgrade.
//
// create and list talk to the running appliance. verify and restore work on
// the file and the data directory alone (restore needs cloisterd stopped),
// with the unseal key file or shares to open the backup's database and
// re-verify its ledger.
#include <limits.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <iostream>

#include "appliance/cli/commands.h"
#include "appliance/core/clock.h"
#include "appliance/core/files.h"
#include "appliance/identity/token_changes.h"
#include "audit/backup.h"

namespace cloister {
namespace {

namespace fs = std::filesystem;

void PrintSummary(const Json& b) {
  std::cout << "Backup:      " << b.value("name", "") << "\n"
            << "Size:        " << b.value("size", 0) << " bytes\n"
            << "SHA-256:     " << b.value("sha256", "") << "\n"
            << "Ledger:      " << b["ledger"].value("size", 0) << " events, root " << b["ledger"].value("root_hash", "")
            << "\n";
}

// The unseal material for `keyring`: the key file, or shares read one per
// line (prompted when standard input is a terminal).
Result<SecureBytes> UnsealKey(const Keyring& keyring, const std::string& key_file) {
  std::vector<std::string> shares;
  if (keyring.seal_type == SealType::kShamir) {
    for (int i = 1; i <= keyring.threshold; ++i) {
      shares.push_back(ReadSecret("Unseal share " + std::to_string(i) + " of " + std::to_string(keyring.threshold)));
    }
  }
  return KekFor(keyring, key_file, shares);
}

struct Extracted {
  std::string dir;
  Keyring keyring;
  SecureBytes kek;  // unwraps the extracted keyring
  ~Extracted() {
    std::error_code ignored;
    if (!dir.empty()) fs::remove_all(dir, ignored);
  }
};

// Checks the backup, extracts it into a new directory under `under`, and
// re-verifies its ledger with the unseal material.
Status OpenAndVerify(const BackupSummary& backup, const std::string& under, const std::string& key_file,
                     Extracted& out, LedgerReport* report) {
  std::string templ = under + "/.restore.XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) return Status::Internal("cannot create a directory in " + under);
  out.dir = templ;
  CL_RETURN_IF_ERROR(ExtractBackupFile(backup, kBackupDatabase, out.dir + "/" + kBackupDatabase));
  CL_RETURN_IF_ERROR(ExtractBackupFile(backup, kBackupKeyring, out.dir + "/" + kBackupKeyring));
  CL_ASSIGN_OR_RETURN(out.keyring, LoadKeyring(out.dir + "/" + kBackupKeyring));
  if (out.keyring.appliance_id != backup.manifest.appliance_id) {
    return Status::InvalidArgument("the backup's keyring belongs to another appliance than its manifest");
  }
  CL_ASSIGN_OR_RETURN(out.kek, UnsealKey(out.keyring, key_file));
  CL_ASSIGN_OR_RETURN(*report,
                      VerifyBackupLedger(out.dir + "/" + kBackupDatabase, out.keyring, out.kek, backup.manifest));
  return Status::Ok();
}

Result<std::vector<TokenInfo>> TokensIn(const std::string& db, const Keyring& keyring, const SecureBytes& kek) {
  CL_ASSIGN_OR_RETURN(auto conn, OpenDatabaseWithKek(db, keyring, kek));
  return ListTokens(ReadView(*conn));
}

// The tokens the restore changes: the backup's against the current database's.
Result<TokenChanges> TokensChangedByRestore(const Extracted& backup, const std::string& current_db,
                                            const Keyring& current_keyring, const SecureBytes& current_kek) {
  CL_ASSIGN_OR_RETURN(auto in_backup, TokensIn(backup.dir + "/" + kBackupDatabase, backup.keyring, backup.kek));
  CL_ASSIGN_OR_RETURN(auto in_current, TokensIn(current_db, current_keyring, current_kek));
  return CompareTokens(in_backup, in_current);
}

void PrintTokens(const std::vector<TokenChange>& tokens, bool revoked) {
  for (const auto& t : tokens) {
    std::cout << "  " << TerminalSafe(t.id) << "  \"" << TerminalSafe(t.name) << "\"  owner "
              << TerminalSafe(t.owner_name.empty() ? "(none)" : t.owner_name) << " (" << TerminalSafe(t.owner_id)
              << ")  " << (revoked ? "revoked " + TerminalSafe(t.revoked_at) : "created " + TerminalSafe(t.created_at))
              << "\n";
  }
}

// What the restore does to sessions and tokens, for the administrator to act on.
void PrintTokenReport(const std::optional<TokenChanges>& changes, const std::string& not_compared) {
  std::cout << "Every login session ends at the first unseal: everyone logs in again.\n";
  if (!changes) {
    if (!not_compared.empty()) {
      std::cout << "WARNING: API tokens were not compared with the replaced database (" << TerminalSafe(not_compared)
                << "): tokens revoked after the backup was taken are live again; review `cloisterctl token list`.\n";
    }
    return;
  }
  const auto& revived = changes->revoked_after_backup;
  const auto& created = changes->created_after_backup;
  if (!revived.empty()) {
    std::cout << "WARNING: " << revived.size() << " API token(s) were revoked after the backup was taken and are "
              << "live in it; the first unseal revokes them again:\n";
    PrintTokens(revived, true);
  }
  if (!created.empty()) {
    std::cout << created.size() << " API token(s) were created after the backup was taken and no longer exist; "
              << "issue them again if they are still needed:\n";
    PrintTokens(created, false);
  }
  if (revived.empty() && created.empty()) std::cout << "No API token was created or revoked after the backup.\n";
}

std::string UtcStamp() {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", std::gmtime(&now));
  return buf;
}

struct RestoreFlags {
  std::string file, data_dir, key_file;
  bool allow_older = false, replace_other = false;
};

int Restore(const RestoreFlags& f) {
  if (!fs::is_directory(f.data_dir)) return Fail("data directory " + f.data_dir + " does not exist");
  auto lock = FileLock::TryAcquire(f.data_dir + "/" + kDataDirLock);
  if (!lock.ok()) {
    return Fail(lock.status().reason() == "locked" ? "cloisterd is running on " + f.data_dir + "; stop it first"
                                                   : lock.status().message());
  }
  auto backup = ReadBackup(f.file);
  if (!backup.ok()) return Fail("REFUSED: " + backup.status().message());
  Extracted extracted;
  LedgerReport report;
  if (Status st = OpenAndVerify(*backup, f.data_dir, f.key_file, extracted, &report); !st.ok()) {
    return Fail("REFUSED: " + st.message());
  }
  std::cout << "Backup verified: " << report.events_checked << " events, " << report.checkpoints_checked
            << " checkpoints, ending at the signed checkpoint of size " << backup->manifest.ledger.size << ".\n";

  // What the data directory holds now, and whether the backup may replace it.
  const std::string current_db = f.data_dir + "/" + kBackupDatabase;
  const std::string current_keyring = f.data_dir + "/" + kBackupKeyring;
  Json replaced = nullptr;
  std::optional<TokenChanges> tokens;
  std::string tokens_not_compared;
  if (fs::exists(current_keyring) || fs::exists(current_db)) {
    tokens_not_compared = "the data directory holds another appliance's or unreadable data";
    auto keyring = LoadKeyring(current_keyring);
    const bool same = keyring.ok() && keyring->appliance_id == backup->manifest.appliance_id;
    if (!same && !f.replace_other) {
      return Fail("REFUSED: " + f.data_dir + " holds another appliance's data (" +
                  (keyring.ok() ? "appliance " + keyring->appliance_id : "unreadable keyring") +
                  "); pass --replace-other to restore over it (its files are kept aside)");
    }
    if (same) {
      // Same appliance: the same unseal material opens the current database.
      auto kek = UnsealKey(*keyring, f.key_file);
      auto size = kek.ok() ? LedgerSizeOf(current_db, *keyring, *kek) : Result<uint64_t>(kek.status());
      if (!size.ok()) {
        if (!f.replace_other) {
          return Fail("REFUSED: cannot read the current ledger in " + f.data_dir + " (" + size.status().message() +
                      "); pass --replace-other to restore over it (its files are kept aside)");
        }
      } else if (*size > backup->manifest.ledger.size && !f.allow_older) {
        return Fail("REFUSED: the data directory's ledger has " + std::to_string(*size) + " events and the backup's " +
                    std::to_string(backup->manifest.ledger.size) + ": restoring would drop the " +
                    std::to_string(*size - backup->manifest.ledger.size) +
                    " newest audit events. Pass --allow-older to restore it anyway (the current files are kept aside).");
      }
      if (size.ok()) {
        replaced = {{"ledger_size", *size}};
        auto changes = TokensChangedByRestore(extracted, current_db, *keyring, *kek);
        if (changes.ok()) {
          tokens = std::move(changes).value();
        } else {
          tokens_not_compared = changes.status().message();
        }
      } else {
        tokens_not_compared = size.status().message();
      }
    }
  }

  // Move what is there aside (never deleted), then move the backup in.
  const std::string aside = f.data_dir + "/replaced-" + UtcStamp();
  std::error_code ec;
  for (const char* name : {"cloister.db", "cloister.db-wal", "cloister.db-shm", "keyring.json"}) {
    const std::string path = f.data_dir + "/" + name;
    if (!fs::exists(path)) continue;
    fs::create_directories(aside, ec);
    fs::permissions(aside, fs::perms::owner_all, ec);
    fs::rename(path, aside + "/" + name, ec);
    if (ec) return Fail("cannot move " + path + " aside: " + ec.message());
  }
  for (const char* name : {kBackupKeyring, kBackupDatabase}) {
    fs::rename(extracted.dir + "/" + name, f.data_dir + "/" + name, ec);
    if (ec) return Fail("cannot move the restored " + std::string(name) + " into place: " + ec.message());
  }
  Json marker = {{"backup", fs::path(f.file).filename().string()},
                 {"backup_sha256", backup->sha256},
                 {"backup_created_at", backup->manifest.created_at},
                 {"ledger_size", backup->manifest.ledger.size},
                 {"root_hash", backup->manifest.ledger.root_hash},
                 {"restored_at", FormatTimestamp(std::chrono::system_clock::now())},
                 {"allow_older", f.allow_older}};
  if (fs::exists(aside)) {
    marker["replaced"] = aside;
    if (!replaced.is_null()) marker["replaced_ledger_size"] = replaced["ledger_size"];
  }
  // The first unseal revokes every session, and the tokens listed here as
  // revoked after the backup, in the unit that records the restore.
  if (tokens) {
    marker["tokens"] = TokenChangesToJson(*tokens);
  } else if (!tokens_not_compared.empty()) {
    marker["tokens_not_compared"] = tokens_not_compared;
  }
  if (Status st = WriteFileAtomic(f.data_dir + "/" + kRestoreMarker, marker.dump() + "\n", 0600); !st.ok()) {
    return Fail(st.message());
  }
  std::cout << "Restored " << TerminalSafe(f.file) << " into " << TerminalSafe(f.data_dir) << ".\n";
  if (fs::exists(aside)) std::cout << "The files it replaced are kept in " << TerminalSafe(aside) << ".\n";
  PrintTokenReport(tokens, tokens_not_compared);
  std::cout << "Start cloisterd and unseal it; the unseal records the restore in the audit ledger.\n";
  return 0;
}

// The installation prefix of this cloisterctl when it runs from
// <prefix>/opt/cloister/releases/<version>/bin; "" when it does not.
std::string InstalledPrefix() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  fs::path p = fs::path(std::string(buf, static_cast<size_t>(n)));
  p = p.parent_path().parent_path();  // releases/<version>
  if (p.parent_path().filename() != "releases" || p.parent_path().parent_path().filename() != "cloister") return "";
  const fs::path opt = p.parent_path().parent_path().parent_path();
  return opt.filename() == "opt" ? opt.parent_path().string() : "";
}

struct BackupFlags {
  std::string out;                                     // create
  std::string verify_file, verify_key_file, verifier_key;  // verify
  bool deep = false;
  RestoreFlags restore;
  std::string bundle, prefix, trusted_key;             // upgrade
  bool force = false;
  int health_timeout = 60;
};

}  // namespace

void AddBackupCommands(CLI::App& app, GlobalOptions& g, int& exit_code) {
  auto f = std::make_shared<BackupFlags>();
  CLI::App* backup = app.add_subcommand("backup", "Create, list, verify and restore backups");
  backup->require_subcommand(1);

  CLI::App* create = backup->add_subcommand("create", "Back up the running appliance (database and keyring, still encrypted)");
  create->add_option("--out", f->out, "Also download the backup to this file");
  create->callback([&g, &exit_code, f] {
    auto r = Call(g, exit_code, "POST", "/v1/sys/backups", Json::object());
    if (!r) return;
    if (!r->printed) PrintSummary(r->json);
    if (f->out.empty()) return;
    ApiClient client(g.client);
    auto d = client.Download(r->raw.value("download", ""), f->out);
    if (!Succeeded(d)) {
      exit_code = ReportFailure(d);
      return;
    }
    auto check = ReadBackup(f->out);
    if (!check.ok() || check->sha256 != r->raw.value("sha256", "")) {
      exit_code = Fail("the downloaded " + f->out + " does not match the backup: " +
                       (check.ok() ? "checksum differs" : check.status().message()));
      return;
    }
    if (!g.json) std::cout << "Saved:       " << f->out << "\n";
  });

  CLI::App* list = backup->add_subcommand("list", "List the backups kept by the appliance");
  list->callback([&g, &exit_code, f] {
    auto r = Call(g, exit_code, "GET", "/v1/sys/backups");
    if (!r || r->printed) return;
    SayIfEmpty(r->json["backups"], "backups");
    for (const auto& b : r->json["backups"]) {
      std::cout << b.value("name", "") << "  "
                << (b.contains("problem") ? "PROBLEM: " + b.value("problem", "")
                                          : std::to_string(b.value("size", 0)) + " bytes, ledger " +
                                                std::to_string(b["ledger"].value("size", 0)) + " events")
                << "\n";
    }
  });

  CLI::App* verify = backup->add_subcommand("verify", "Check a backup file offline; with the unseal material, re-verify its ledger");
  verify->add_option("file", f->verify_file, "The backup file")->required();
  verify->add_option("--verifier-key", f->verifier_key, "The appliance's audit verifier key; the backup must be signed by it");
  verify->add_flag("--ledger", f->deep, "Also open the database and re-verify the whole ledger (needs the unseal key file or shares)");
  verify->add_option("--key-file", f->verify_key_file, "Unseal key file (default: the path the backup's keyring records)");
  verify->callback([&exit_code, f] {
    auto b = ReadBackup(f->verify_file);
    if (!b.ok()) {
      exit_code = Fail(b.status().message());
      return;
    }
    if (!f->verifier_key.empty() && f->verifier_key != b->manifest.ledger.verifier_key) {
      exit_code = Fail("the backup's checkpoint is signed by " + b->manifest.ledger.verifier_key + ", not the given key");
      return;
    }
    const auto& m = b->manifest;  // read from the file: printed TerminalSafe
    std::cout << "File:        ok (" << b->size << " bytes, SHA-256 " << b->sha256 << ")\n"
              << "Appliance:   " << TerminalSafe(m.appliance_name) << " (" << TerminalSafe(m.appliance_id) << ")\n"
              << "Created:     " << TerminalSafe(m.created_at) << " by Cloister " << TerminalSafe(m.version) << "\n"
              << "Checkpoint:  ok, " << m.ledger.size << " events, signed by " << TerminalSafe(m.ledger.verifier_key)
              << "\n";
    if (!f->deep) return;
    LedgerReport report;
    Status st;
    {
      Extracted extracted;  // removes its directory
      st = OpenAndVerify(*b, fs::temp_directory_path().string(), f->verify_key_file, extracted, &report);
    }
    if (!st.ok()) {
      exit_code = Fail(st.message());
      return;
    }
    std::cout << "Ledger:      ok, " << report.events_checked << " events and " << report.checkpoints_checked
              << " checkpoints re-verified\n";
  });

  CLI::App* restore = backup->add_subcommand("restore", "Restore a backup into a data directory (cloisterd stopped)");
  restore->add_option("file", f->restore.file, "The backup file")->required();
  restore->add_option("--data-dir", f->restore.data_dir, "The appliance's data directory")->required();
  restore->add_option("--key-file", f->restore.key_file, "Unseal key file (default: the path the backup's keyring records)");
  restore->add_flag("--allow-older", f->restore.allow_older, "Restore even though the current ledger is newer (it is kept aside)");
  restore->add_flag("--replace-other", f->restore.replace_other,
                    "Restore over another appliance's or unreadable data (it is kept aside)");
  restore->callback([&exit_code, f] { exit_code = Restore(f->restore); });

  CLI::App* upgrade = app.add_subcommand("upgrade", "Upgrade this installation to a bundle; rolls back on its own if it fails");
  upgrade->add_option("bundle", f->bundle, "cloister-<version>-linux-x86_64.tar.gz")->required()->check(CLI::ExistingFile);
  upgrade->add_option("--prefix", f->prefix, "The installation's prefix (default: the one this cloisterctl runs from)");
  upgrade->add_option("--trusted-key", f->trusted_key, "Release key (default: the one kept at install)");
  upgrade->add_flag("--force", f->force, "Allow a downgrade or a reinstall of the same version");
  upgrade->add_option("--health-timeout", f->health_timeout, "Seconds to wait for the new release's health check");
  upgrade->callback([&exit_code, f] {
    if (f->prefix.empty()) f->prefix = InstalledPrefix();
    const std::string root = f->prefix.empty() ? "" : f->prefix;
    const std::string installer = root + "/opt/cloister/current/installer/install.sh";
    if (!fs::exists(installer)) {
      exit_code = Fail("no installation found (" + installer + " is missing); give --prefix");
      return;
    }
    // The installed (already trusted) installer verifies the new bundle
    // before anything from it runs.
    std::vector<std::string> args = {installer, "--upgrade", "--bundle", fs::absolute(f->bundle).string(),
                                     "--health-timeout", std::to_string(f->health_timeout)};
    if (!root.empty()) args.insert(args.end(), {"--prefix", root});
    if (!f->trusted_key.empty()) args.insert(args.end(), {"--trusted-key", f->trusted_key});
    if (f->force) args.push_back("--force");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(installer.c_str(), argv.data());
    exit_code = Fail("cannot run " + installer + ": " + std::strerror(errno));
  });
}

}  // namespace cloister
