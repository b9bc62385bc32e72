#include "appliance/storage/rows.h"

#include <sqlite3.h>

#include <cctype>

namespace cloister {

// ---- Row ----

std::string Row::Key() const { return stmt_.ColumnText(key_column_); }

Status Row::Corrupt(std::string_view what) const {
  return Status::Corruption(std::string(table_) + " row " + Key() + ": " + std::string(what));
}

Result<Json> Row::JsonAt(int col, std::string_view column, Json when_null) const {
  if (stmt_.ColumnIsNull(col)) return when_null;
  auto parsed = ParseJson(stmt_.ColumnText(col));
  if (!parsed.ok()) return Corrupt(std::string(column) + " is not JSON (" + parsed.status().message() + ")");
  return std::move(parsed).value();
}

Result<std::string> Row::FixedBlob(int col, size_t size, std::string_view column) const {
  const std::string_view bytes = stmt_.ColumnView(col);
  if (bytes.size() != size) {
    return Corrupt(std::string(column) + " is " + std::to_string(bytes.size()) + " bytes, not " +
                   std::to_string(size));
  }
  return std::string(bytes);
}

// ---- RowQuery ----

RowQuery::RowQuery(Result<Statement*> stmt, std::string_view table) : table_(table) {
  if (stmt.ok()) {
    stmt_ = *stmt;
  } else {
    error_ = stmt.status();
  }
}

RowQuery::RowQuery(RowQuery&& other) noexcept
    : stmt_(other.stmt_), error_(std::move(other.error_)), table_(std::move(other.table_)), key_column_(other.key_column_) {
  other.stmt_ = nullptr;
  other.error_ = Status::Internal("a query was read after it was moved from");
}

RowQuery::~RowQuery() {
  if (stmt_ != nullptr) stmt_->Reset();
}

RowQuery& RowQuery::Bind(int index, int64_t value) {
  if (stmt_ != nullptr) stmt_->Bind(index, value);
  return *this;
}

RowQuery& RowQuery::Bind(int index, std::string_view text) {
  if (stmt_ != nullptr) stmt_->Bind(index, text);
  return *this;
}

RowQuery& RowQuery::BindBlob(int index, std::string_view bytes) {
  if (stmt_ != nullptr) stmt_->BindBlob(index, bytes);
  return *this;
}

RowQuery& RowQuery::BindNull(int index) {
  if (stmt_ != nullptr) stmt_->BindNull(index);
  return *this;
}

Result<bool> RowQuery::Next() {
  if (!error_.ok()) return error_;
  return stmt_->Step();
}

Result<int64_t> RowQuery::ReadInt(int64_t when_none) {
  CL_ASSIGN_OR_RETURN(const bool found, Next());
  if (!found || stmt_->ColumnIsNull(0)) return when_none;
  return stmt_->ColumnInt(0);
}

// ---- ReadView ----

namespace {

// Whether `sql` is a query: SELECT or WITH, after any leading whitespace.
// (sqlite3_stmt_readonly also passes BEGIN, COMMIT, SAVEPOINT, RELEASE and
// setting PRAGMAs, which would end or change the writer's transaction.)
bool IsQuery(std::string_view sql) {
  const size_t start = sql.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return false;
  const auto starts = [&](std::string_view word) {
    if (sql.size() - start < word.size()) return false;
    for (size_t i = 0; i < word.size(); ++i) {
      if (std::toupper(static_cast<unsigned char>(sql[start + i])) != word[i]) return false;
    }
    return true;
  };
  return starts("SELECT") || starts("WITH");
}

}  // namespace

RowQuery ReadView::Select(std::string_view table, std::string_view sql) const {
  if (!IsQuery(sql)) {
    return RowQuery(Status::Internal("a read-only view runs queries only (SELECT or WITH), not: " + std::string(sql)),
                    table);
  }
  Result<Statement*> stmt = conn_->CachedIdle(sql);
  if (stmt.ok() && !(*stmt)->ReadOnly()) {
    return RowQuery(Status::Internal("a read-only view was asked to run SQL that writes: " + std::string(sql)), table);
  }
  return RowQuery(std::move(stmt), table);
}

}  // namespace cloister
