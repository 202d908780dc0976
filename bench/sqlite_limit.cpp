// The raw limit the runtime's effect writes are measured against: rows of the effects
// table's shape (task, account, kind, date; keyed by task and account, in key order),
// inserted by prepared statements in batched transactions with the run database's
// durability settings (WAL, synchronous=FULL).
//   build/sqlite_limit DB ROWS [BATCH]  -> prints rows/s
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: sqlite_limit DB ROWS [BATCH]\n");
    return 2;
  }
  std::string path = argv[1];
  long rows = std::atol(argv[2]);
  long batch = argc > 3 ? std::atol(argv[3]) : 50000;
  std::remove(path.c_str());
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db, "open");
  check(sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
                         "CREATE TABLE effects (task INTEGER NOT NULL, account INTEGER NOT NULL, kind TEXT NOT NULL,"
                         " on_date TEXT NOT NULL, PRIMARY KEY (task, account)) WITHOUT ROWID;",
                     nullptr, nullptr, nullptr),
        db, "schema");
  sqlite3_stmt* insert = nullptr;
  check(sqlite3_prepare_v2(db, "INSERT INTO effects VALUES (?, ?, ?, ?)", -1, &insert, nullptr), db, "prepare");
  auto start = std::chrono::steady_clock::now();
  for (long done = 0; done < rows;) {
    check(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), db, "begin");
    long end = std::min(rows, done + batch);
    for (long i = done; i < end; ++i) {
      sqlite3_bind_int64(insert, 1, 7);
      sqlite3_bind_int64(insert, 2, i + 1);
      sqlite3_bind_text(insert, 3, "notice", -1, SQLITE_STATIC);
      sqlite3_bind_text(insert, 4, "2027-01-04", -1, SQLITE_STATIC);
      check(sqlite3_step(insert), db, "insert");
      sqlite3_reset(insert);
    }
    check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
    done = end;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("rows=%ld batch=%ld seconds=%.3f rows_per_s=%.0f\n", rows, batch, seconds, static_cast<double>(rows) / seconds);
  sqlite3_finalize(insert);
  sqlite3_close(db);
  return 0;
}
