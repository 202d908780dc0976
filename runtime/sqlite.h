// A thin RAII layer over the SQLite C API: a connection, prepared statements, transactions.
// Every statement is prepared and bound; no SQL is ever built from user text.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ccaflow::sql {

// An SQLite failure, with the primary result code kept so callers can tell a full disk
// (SQLITE_FULL) or a busy database (SQLITE_BUSY) from the rest.
class Error : public std::runtime_error {
 public:
  Error(int code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int code() const { return code_ & 0xFF; }
  bool disk_full() const { return code() == SQLITE_FULL || code() == SQLITE_IOERR; }
  bool busy() const { return code() == SQLITE_BUSY || code() == SQLITE_LOCKED; }
  // The file is not SQLite's, or SQLite found a damaged page.
  bool not_a_database() const { return code() == SQLITE_NOTADB || code() == SQLITE_CORRUPT; }

 private:
  int code_;
};

class Statement;

class Database {
 public:
  Database() = default;
  // Opens (never creates) an existing file read-write, or read-only.
  static Database open(const std::string& path, bool read_only = false);
  Database(Database&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Database& operator=(Database&& other) noexcept;
  ~Database();

  void exec(const char* sql);
  Statement prepare(std::string_view sql);
  std::int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
  int user_version();
  sqlite3* handle() const { return db_; }
  [[noreturn]] void fail(int code, const std::string& what) const;

 private:
  sqlite3* db_ = nullptr;
};

class Statement {
 public:
  // Knows its connection through SQLite, not through the Database object, so statements
  // kept by an object that moves (a Store, a StoredRun) stay valid.
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Statement(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind_null(int index);
  Statement& bind_blob(int index, std::string_view bytes);  // (copied, as text is)
  // Text SQLite does not copy: it must stay as it is until the statement is reset.
  Statement& bind_unchanging(int index, std::string_view value);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // Steps once: true while a row is available.
  bool step();
  // Runs a statement that returns no rows, then resets it for reuse.
  void run();
  void reset();

  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  std::string text(int column) const;
  // The column's text without a copy; valid until the next step, reset or finalize.
  std::string_view view(int column) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return p == nullptr ? std::string_view() : std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  // The column's bytes as a blob, without a copy; valid as `view` is.
  std::string_view blob(int column) const {
    const void* p = sqlite3_column_blob(stmt_, column);
    return p == nullptr ? std::string_view() : std::string_view(static_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  bool is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

 private:
  [[noreturn]] void fail(int code, const char* what) const;

  sqlite3_stmt* stmt_;
};

// BEGIN IMMEDIATE on construction; ROLLBACK unless commit() was called.
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

// One snapshot for many reads: BEGIN (deferred, so it takes no write lock and works on a
// read-only connection); ended when it goes out of scope.
class ReadTransaction {
 public:
  explicit ReadTransaction(Database& db) : db_(db) { db_.exec("BEGIN"); }
  ~ReadTransaction() { sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr); }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;

 private:
  Database& db_;
};

}  // namespace ccaflow::sql
