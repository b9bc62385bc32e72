// A thin RAII layer over one SQLCipher connection and its prepared
// statements. Every SQLite return code is checked where it is returned and
// becomes a Status that names the database file and the statement.
//
// Thread safety: a Connection and its Statements belong to one thread at a
// time (connections are opened with SQLITE_OPEN_NOMUTEX). The single writer
// owns one; the ReadPool hands out the others.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "appliance/core/secure_bytes.h"
#include "appliance/core/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cloister {

class Connection;

class Statement {
 public:
  Statement(Connection* conn, sqlite3_stmt* stmt, std::string sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binders are 1-based like SQLite. A failed bind is remembered and
  // reported by the next Step()/Run(), so call sites stay linear.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Statement& BindBlob(int index, std::string_view bytes);
  // Binds without copying: `bytes` must stay valid and unchanged until the
  // statement is stepped to completion or reset.
  Statement& BindBlobNoCopy(int index, std::string_view bytes);
  Statement& BindNull(int index);

  // true when a row is available, false when done.
  Result<bool> Step();
  // Steps to completion, ignoring rows.
  Status Run();
  // Clears bindings and rewinds, ready for reuse.
  void Reset();

  int64_t ColumnInt(int col) const;
  std::string ColumnText(int col) const;
  std::string ColumnBlob(int col) const;
  // The column's bytes without a copy; valid until the next Step or Reset.
  std::string_view ColumnView(int col) const;
  bool ColumnIsNull(int col) const;
  // Whether the statement cannot write to the database (sqlite3_stmt_readonly).
  bool ReadOnly() const;
  // Whether the statement was stepped and not yet reset or finished.
  bool Busy() const;

 private:
  Connection* conn_;
  sqlite3_stmt* stmt_;
  std::string sql_;
  int bind_error_ = 0;
};

struct ConnectionOptions {
  bool create = false;     // create the file if missing
  bool read_only = false;  // query_only connection for the read pool
  int busy_timeout_ms = 5000;
};

class Connection {
 public:
  // Opens `path` with the 256-bit raw `key` (no KDF runs) and applies the
  // appliance's pragmas: 4096-byte cipher pages, WAL, synchronous=FULL,
  // secure_delete, foreign keys. Returns corruption when the file does not
  // decrypt with the key (wrong key, damaged file, or not a Cloister database),
  // not_found when it is missing and `create` is false. Unless `read_only`,
  // the database and its -wal and -shm files are made mode 0600 (created so,
  // or narrowed) before the connection writes anything; permission_denied
  // naming the file when that fails.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, const SecureBytes& key,
                                                  const ConnectionOptions& options);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements with no results.
  Status Exec(std::string_view sql);
  // A fresh prepared statement owned by the caller.
  Result<std::unique_ptr<Statement>> Prepare(std::string_view sql);
  // A prepared statement cached on this connection by its SQL text, reset
  // and ready to bind. Valid until the connection closes.
  Result<Statement*> Cached(std::string_view sql);
  // The same, but internal instead of resetting a cached statement that is
  // mid-read (a nested use of one query would silently restart the outer).
  Result<Statement*> CachedIdle(std::string_view sql);

  // Resets every statement left mid-step, ending the read transaction it
  // holds (in WAL mode an open read keeps its snapshot and sees no later commit).
  void ResetBusyStatements();

  int64_t LastInsertRowId() const;
  int64_t Changes() const;
  const std::string& path() const { return path_; }
  sqlite3* handle() { return db_; }

  // "<path>: <sqlite message> (<code>) in: <sql>"
  Status Error(int rc, std::string_view sql) const;

 private:
  Connection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status ApplyPragmas(const ConnectionOptions& options);

  sqlite3* db_;
  std::string path_;
  std::map<std::string, std::unique_ptr<Statement>, std::less<>> cache_;
};

}  // namespace cloister
