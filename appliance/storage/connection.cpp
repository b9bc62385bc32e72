#include "appliance/storage/connection.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "appliance/core/files.h"

namespace cloister {
namespace {

// SQLite creates a database 0644 less the umask and gives its -wal and -shm
// files the database's own mode, whatever the umask. So the database is
// created 0600 before SQLite sees it, and an existing one made 0600 before
// the connection can create its -wal and -shm.
Status MakeDatabasePrivate(const std::string& path, bool create) {
  if (create) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) {
      return Status::Unavailable("creating database " + path + ": " + std::strerror(errno));
    }
    if (fd >= 0) {
      const int rc = ::fchmod(fd, 0600);
      ::close(fd);
      if (rc != 0) return Status::Unavailable("chmod database " + path + ": " + std::strerror(errno));
    }
  }
  for (const char* suffix : {"", "-wal", "-shm"}) {
    auto restricted = RestrictMode(path + suffix, 0600);
    if (!restricted.ok()) return restricted.status();
  }
  return Status::Ok();
}

}  // namespace

// ---- Statement ----

Statement::Statement(Connection* conn, sqlite3_stmt* stmt, std::string sql)
    : conn_(conn), stmt_(stmt), sql_(std::move(sql)) {}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::Bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  const int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
  const int rc = sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Statement& Statement::BindBlobNoCopy(int index, std::string_view bytes) {
  const int rc = sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_STATIC);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Statement& Statement::BindNull(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_error_ == 0) bind_error_ = rc;
  return *this;
}

Result<bool> Statement::Step() {
  if (bind_error_ != 0) return conn_->Error(bind_error_, sql_).Annotate("binding parameters");
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return conn_->Error(rc, sql_);
}

Status Statement::Run() {
  for (;;) {
    CL_ASSIGN_OR_RETURN(const bool row, Step());
    if (!row) return Status::Ok();
  }
}

void Statement::Reset() {
  sqlite3_reset(stmt_);  // returns the last step's error, already reported by Step()
  sqlite3_clear_bindings(stmt_);
  bind_error_ = 0;
}

int64_t Statement::ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::ColumnText(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  return text ? std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, col)) : std::string();
}

std::string Statement::ColumnBlob(int col) const {
  const void* blob = sqlite3_column_blob(stmt_, col);
  return blob ? std::string(static_cast<const char*>(blob), sqlite3_column_bytes(stmt_, col)) : std::string();
}

std::string_view Statement::ColumnView(int col) const {
  const void* blob = sqlite3_column_blob(stmt_, col);
  return blob ? std::string_view(static_cast<const char*>(blob), static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
              : std::string_view();
}

bool Statement::ColumnIsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

bool Statement::ReadOnly() const { return sqlite3_stmt_readonly(stmt_) != 0; }

bool Statement::Busy() const { return sqlite3_stmt_busy(stmt_) != 0; }

// ---- Connection ----

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, const SecureBytes& key,
                                                     const ConnectionOptions& options) {
  if (key.size() != 32) return Status::InvalidArgument("database key must be 32 bytes");
  if (!options.create && !PathExists(path)) return Status::NotFound("database " + path + " does not exist");
  if (!options.read_only) CL_RETURN_IF_ERROR(MakeDatabasePrivate(path, options.create));
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (options.create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  std::unique_ptr<Connection> conn(new Connection(db, path));
  if (rc != SQLITE_OK) return conn->Error(rc, "open");

  // Raw key form x'<64 hex>': SQLCipher uses the bytes as the key, no PBKDF2.
  static constexpr char kHex[] = "0123456789abcdef";
  SecureBytes keyspec(67);
  keyspec[0] = 'x';
  keyspec[1] = '\'';
  for (size_t i = 0; i < 32; ++i) {
    keyspec[2 + 2 * i] = static_cast<uint8_t>(kHex[key[i] >> 4]);
    keyspec[3 + 2 * i] = static_cast<uint8_t>(kHex[key[i] & 15]);
  }
  keyspec[66] = '\'';
  rc = sqlite3_key(db, keyspec.data(), static_cast<int>(keyspec.size()));
  if (rc != SQLITE_OK) return conn->Error(rc, "sqlite3_key");
  CL_RETURN_IF_ERROR(conn->ApplyPragmas(options));
  return conn;
}

Status Connection::ApplyPragmas(const ConnectionOptions& options) {
  // cipher_page_size must precede the first read of the file.
  CL_RETURN_IF_ERROR(Exec("PRAGMA cipher_page_size = 4096;"));
  sqlite3_busy_timeout(db_, options.busy_timeout_ms);
  // The first real read: fails with SQLITE_NOTADB when the key is wrong.
  const int rc = sqlite3_exec(db_, "SELECT count(*) FROM sqlite_master;", nullptr, nullptr, nullptr);
  if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT) {
    return Status::Corruption("database " + path_ +
                              " does not decrypt with this key: the key is wrong, or the file is "
                              "damaged or not a Cloister database")
        .WithReason("database_undecryptable");
  }
  if (rc != SQLITE_OK) return Error(rc, "SELECT count(*) FROM sqlite_master");
  CL_RETURN_IF_ERROR(Exec(
      "PRAGMA journal_mode = WAL;"
      "PRAGMA synchronous = FULL;"
      "PRAGMA secure_delete = ON;"
      "PRAGMA foreign_keys = ON;"
      // Temporary tables, sorts and savepoint journals stay in memory: they
      // are not encrypted, so they must never reach a file. It also keeps
      // per-unit savepoints cheap.
      "PRAGMA temp_store = MEMORY;"));
  if (options.read_only) CL_RETURN_IF_ERROR(Exec("PRAGMA query_only = ON;"));
  return Status::Ok();
}

Connection::~Connection() {
  cache_.clear();  // statements must be finalized before close
  sqlite3_close_v2(db_);
}

Status Connection::Exec(std::string_view sql) {
  const std::string text(sql);
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  const std::string message = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  Status st = Error(rc, sql);
  return Status(st).WithDetails({{"sqlite", message}});
}

Result<std::unique_ptr<Statement>> Connection::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return Error(rc, sql);
  }
  return std::make_unique<Statement>(this, stmt, std::string(sql));
}

Result<Statement*> Connection::Cached(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    CL_ASSIGN_OR_RETURN(auto stmt, Prepare(sql));
    it = cache_.emplace(std::string(sql), std::move(stmt)).first;
  }
  it->second->Reset();
  return it->second.get();
}

Result<Statement*> Connection::CachedIdle(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end() && it->second->Busy()) {
    return Status::Internal("a query was started while the same query was still being read: " + std::string(sql));
  }
  return Cached(sql);
}

void Connection::ResetBusyStatements() {
  for (sqlite3_stmt* s = sqlite3_next_stmt(db_, nullptr); s; s = sqlite3_next_stmt(db_, s)) {
    if (sqlite3_stmt_busy(s)) sqlite3_reset(s);
  }
}

int64_t Connection::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }
int64_t Connection::Changes() const { return sqlite3_changes(db_); }

Status Connection::Error(int rc, std::string_view sql) const {
  const int primary = rc & 0xff;
  std::string message = path_ + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)) + " (" +
                        std::to_string(rc) + ") in: " + std::string(sql.substr(0, 200));
  switch (primary) {
    case SQLITE_CONSTRAINT: return Status::Conflict(std::move(message));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Status::Corruption(std::move(message));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY: return Status::Unavailable(std::move(message));
    default: return Status::Internal(std::move(message));
  }
}

}  // namespace cloister
