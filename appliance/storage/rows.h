// The one way to read rows. A ReadView is a read-only view of a connection
// (a read-pool connection, or the writer's inside a unit); Select() prepares
// a query on it, and ReadAll/ReadOne step the query, hand each row to a
// decoder, and reset the statement when the query goes out of scope, so no
// read is ever left holding a snapshot.
//
//   return db.Select("promotions", "SELECT id, state FROM promotions WHERE id = ?")
//       .Bind(1, id)
//       .ReadOne([](const Row& row) -> Result<Promotion> { ... });
//
// Damage is reported, never replaced: a decoder that cannot make sense of a
// row returns row.Corrupt(...) (or uses the checked readers, JsonAt and
// FixedBlob), which is corruption naming the table, the row's key and what
// was wrong. A database error while stepping is returned, never dropped.
//
// Thread safety: like the Connection it views, a ReadView and its queries
// belong to one thread at a time.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "appliance/core/json.h"
#include "appliance/core/status.h"
#include "appliance/storage/connection.h"

namespace cloister {

// One row, as a decoder sees it. Valid only during the decoder's call.
class Row {
 public:
  Row(const Statement& stmt, std::string_view table, int key_column)
      : stmt_(stmt), table_(table), key_column_(key_column) {}

  int64_t Int(int col) const { return stmt_.ColumnInt(col); }
  std::string Text(int col) const { return stmt_.ColumnText(col); }
  std::string Blob(int col) const { return stmt_.ColumnBlob(col); }
  std::string_view View(int col) const { return stmt_.ColumnView(col); }
  bool IsNull(int col) const { return stmt_.ColumnIsNull(col); }

  // The text of `col` parsed as JSON; `when_null` (by default a JSON null)
  // for SQL NULL. corruption naming `column` when the text does not parse.
  Result<Json> JsonAt(int col, std::string_view column, Json when_null = Json()) const;
  // The blob of `col`, which must be exactly `size` bytes: corruption naming
  // `column` otherwise (a short hash is damage, never zeros).
  Result<std::string> FixedBlob(int col, size_t size, std::string_view column) const;

  // corruption: "<table> row <key>: <what>", the key being the text of the
  // query's key column (column 0 unless the query says otherwise).
  Status Corrupt(std::string_view what) const;
  std::string Key() const;
  std::string_view table() const { return table_; }

 private:
  const Statement& stmt_;
  std::string_view table_;
  int key_column_;
};

namespace rows_internal {
template <typename R>
struct Decoded {
  using type = R;
  static Result<R> Wrap(R value) { return Result<R>(std::move(value)); }
};
template <typename T>
struct Decoded<Result<T>> {
  using type = T;
  static Result<T> Wrap(Result<T> value) { return value; }
};
// A decoder returning Status only checks its row: a row that passes reads as true.
template <>
struct Decoded<Status> {
  using type = bool;
  static Result<bool> Wrap(Status status) {
    if (!status.ok()) return status;
    return true;
  }
};
}  // namespace rows_internal

// A prepared read of one table. Built by ReadView::Select; binders chain
// like Statement's, and an error in preparing or binding is returned by the
// read. Resets its statement when destroyed.
class RowQuery {
 public:
  RowQuery(Result<Statement*> stmt, std::string_view table);
  ~RowQuery();
  RowQuery(const RowQuery&) = delete;
  RowQuery& operator=(const RowQuery&) = delete;
  // Takes over `other`'s statement (so a cursor can be kept, e.g. in a
  // container); `other` then reads nothing and resets nothing.
  RowQuery(RowQuery&& other) noexcept;
  RowQuery& operator=(RowQuery&&) = delete;

  RowQuery& Bind(int index, int64_t value);
  RowQuery& Bind(int index, std::string_view text);
  RowQuery& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  RowQuery& BindBlob(int index, std::string_view bytes);
  RowQuery& BindNull(int index);
  // The column whose text names a row in corruption reports (default 0).
  RowQuery& KeyColumn(int col) {
    key_column_ = col;
    return *this;
  }

  // Every row, each through `decode`: a callable taking const Row& and
  // returning T or Result<T> (or Status, which reads a passing row as
  // true). The first row that does not decode ends the read with its Status.
  template <typename F>
  auto ReadAll(F&& decode) -> Result<std::vector<typename rows_internal::Decoded<std::invoke_result_t<F, const Row&>>::type>>;
  // The first row, or nullopt when there is none.
  template <typename F>
  auto ReadOne(F&& decode) -> Result<std::optional<typename rows_internal::Decoded<std::invoke_result_t<F, const Row&>>::type>> {
    return ReadNext(std::forward<F>(decode));
  }
  // The row after the last one read (the first, on a fresh query), or
  // nullopt when none is left: a cursor, for a caller that walks several
  // queries in step. Views a decoder returns stay valid until the next read.
  template <typename F>
  auto ReadNext(F&& decode) -> Result<std::optional<typename rows_internal::Decoded<std::invoke_result_t<F, const Row&>>::type>>;
  // Every row, in order, handed to `visit` without being collected (for
  // reads too long to hold, or that stop early): a callable taking const
  // Row& and returning bool or Result<bool>, true to read on, false to stop.
  // The first error, the database's or `visit`'s, ends the read.
  template <typename F>
  Status ForEach(F&& visit);
  // Column 0 of the first row as an integer (COUNT, MAX...); `when_none` when
  // there is no row or the value is NULL.
  Result<int64_t> ReadInt(int64_t when_none = 0);

 private:
  // Steps once: true when a row is ready.
  Result<bool> Next();

  Statement* stmt_ = nullptr;
  Status error_;
  std::string table_;
  int key_column_ = 0;
};

// A read-only view of a connection. Select runs queries only (SELECT or
// WITH that do not write; anything else is internal), so code holding a
// view cannot change the database or end a unit's transaction; and it
// refuses (internal) a query started while the same query is still being
// read on this connection, which would silently restart the outer read.
class ReadView {
 public:
  explicit ReadView(Connection& conn) : conn_(&conn) {}
  // A query on `table` (the name used in corruption reports).
  RowQuery Select(std::string_view table, std::string_view sql) const;
  // The database file, for messages.
  const std::string& path() const { return conn_->path(); }

 private:
  Connection* conn_;
};

template <typename F>
auto RowQuery::ReadAll(F&& decode)
    -> Result<std::vector<typename rows_internal::Decoded<std::invoke_result_t<F, const Row&>>::type>> {
  using D = rows_internal::Decoded<std::invoke_result_t<F, const Row&>>;
  std::vector<typename D::type> out;
  for (;;) {
    CL_ASSIGN_OR_RETURN(const bool more, Next());
    if (!more) return out;
    CL_ASSIGN_OR_RETURN(auto value, D::Wrap(decode(Row(*stmt_, table_, key_column_))));
    out.push_back(std::move(value));
  }
}

template <typename F>
auto RowQuery::ReadNext(F&& decode)
    -> Result<std::optional<typename rows_internal::Decoded<std::invoke_result_t<F, const Row&>>::type>> {
  using D = rows_internal::Decoded<std::invoke_result_t<F, const Row&>>;
  std::optional<typename D::type> out;
  CL_ASSIGN_OR_RETURN(const bool found, Next());
  if (!found) return out;
  CL_ASSIGN_OR_RETURN(auto value, D::Wrap(decode(Row(*stmt_, table_, key_column_))));
  out.emplace(std::move(value));
  return out;
}

template <typename F>
Status RowQuery::ForEach(F&& visit) {
  for (;;) {
    CL_ASSIGN_OR_RETURN(const bool more, Next());
    if (!more) return Status::Ok();
    const Result<bool> go_on = visit(Row(*stmt_, table_, key_column_));
    if (!go_on.ok()) return go_on.status();
    if (!*go_on) return Status::Ok();
  }
}

}  // namespace cloister
