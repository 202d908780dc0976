#include "runtime/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include "runtime/exit_codes.h"

namespace ccaflow {

const char* task_state_name(TaskState state) {
  switch (state) {
    case TaskState::kPending: return "pending";
    case TaskState::kDue: return "due";
    case TaskState::kWaiting: return "waiting";
    case TaskState::kRunning: return "running";
    case TaskState::kDone: return "done";
    case TaskState::kFailed: return "failed";
  }
  return "pending";
}

std::optional<TaskState> task_state_named(std::string_view name) {
  for (TaskState s : {TaskState::kPending, TaskState::kDue, TaskState::kWaiting, TaskState::kRunning, TaskState::kDone,
                      TaskState::kFailed}) {
    if (name == task_state_name(s)) return s;
  }
  return std::nullopt;
}

std::string now_text() {
  // (fmt formats a system_clock time in the local time zone: the UTC fields are asked for.)
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z", fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));
}

Store Store::create(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw sql::Error(SQLITE_CANTOPEN, fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  ::close(fd);
  Store store(path, sql::Database::open(path));
  store.configure();
  return store;
}

namespace {

// Binds an account's columns, account .. excluded in the order of the accounts table, to
// parameters `first` and on (the insert of one account, and of a staged one).
sql::Statement& bind_account(sql::Statement& s, int first, const AccountRow& a, const std::optional<int>& phase,
                             const std::optional<std::string>& excluded) {
  return s.bind(first, a.account).bind(first + 1, a.customer_class).bind(first + 2, a.rate_schedule).bind(first + 3, a.city)
      .bind(first + 4, a.county).bind(first + 5, a.read_cycle).bind(first + 6, a.flags).bind(first + 7, phase)
      .bind(first + 8, excluded);
}

std::string damaged(const std::string& path, const std::string& detail) {
  return fmt::format("{} is damaged ({}): it may have been truncated, overwritten or corrupted on disk. ccaflow never "
                     "repairs a run database: restore it from a backup, then resume", path, detail);
}

// Indexes and tables added after the first runs were created: a run created before one
// gets it on its next change. The latest as-of date is read by every ingest row's account
// facts, and an ingest appends an event per row: without events_by_kind each read walked
// back over the rows before it. Every run's first step sends the queued CCASRs, switches
// the accounts of retried Connects and checks the request files: without the three request
// indexes it read every request there is. (They index only the requests those steps read:
// an index of every request by state would compete, for SQLite without statistics, with
// the account's own index in the per-account checks.) A day's notices read the opt-outs in
// force from optouts_in_force: the table's rows carry the rule's text, about 150 bytes each.
//
// notice_cycles: the read cycles a post-enrollment notice has covered. A row says that when
// the cycle's switch task had switched `switched` accounts, each of them had the notice, or
// was passed over as opted out (as of `as_of`) or as having a switch date of its own. Those
// effects are never removed and opt-outs in force only grow with the date, so the row holds
// while the switch task has the same count, the date has not gone back and `withdrawals`
// has not grown: the cycle then has no account for the notice and is not read again.
// withdrawals: every change that can return a passed-over account, counted by triggers
// on the tables, whatever statement makes it: an opt-out in force removed or changed, an
// own switch date removed. (A REPLACE that deletes a row fires no DELETE trigger; none of
// these tables is written with REPLACE but switch_dates, whose account stays in it.) Its
// numbers come from AUTOINCREMENT, so the count never goes back.
// open_accounts: an account each task could still reach, found by its last check of
// whether any remains: checked first, alone, the next time.
// import_ranges: the ids the run's creation gave the imported accounts of each phase and
// read cycle. It numbers them by phase, then cycle, so each (phase, cycle) is one range, and
// stays one: an imported account keeps its phase, cycle and origin, and later accounts
// (move-ins) get later ids. A run created before this table has no rows in it.
// merge_marks: how far the FILE.tmp of a mail merge not yet renamed into place holds whole
// lines of committed effects: its first `rows` rows (those of the date's effects up to
// account `through`) are its first `bytes` bytes, whose SHA-256 is `sha256`. Recorded with
// the effects, so a resumed batch goes on after those rows instead of writing them again;
// the file's bytes are checked before they are kept: against their XXH3-64 `xxh3`, and
// the digest, going on from `sha256_state` (the SHA-256's state after their whole 64-byte
// blocks) over the bytes after those blocks, against `sha256`; or, in a mark without those
// two, all of them against `sha256`. `done` is the task's effects then. (`done` is a
// column since schema version 2, `sha256_state` and `xxh3` since 3.) Removed when the file
// is recorded in the outbox.
// request_files: each day's 814 of queued CCASRs and how many requests it holds, kept in
// the transaction that sends them, so finding the files still to write reads this table
// instead of grouping every request. Filled from the requests of a run made before it, when
// it is created.
// reached: the accounts each task has reached, a bit per account in blocks of
// kReachedBlockBytes (block b, byte j, bit k: account 8 * (kReachedBlockBytes * b + j) + k),
// kept in the transaction that records the effects. A selection reads a task's bits (a few
// hundred rows) instead of its effects (one row per account). Built from the effects when
// a run of schema version 1 is brought up to version 2.
constexpr const char* kLaterSchema =
    "CREATE INDEX IF NOT EXISTS events_by_kind ON events(kind, seq);"
    "CREATE INDEX IF NOT EXISTS requests_queued ON requests(type, id) WHERE state = 'queued';"
    "CREATE INDEX IF NOT EXISTS requests_connects ON requests(state, effective_on) WHERE type = 'connect';"
    "CREATE INDEX IF NOT EXISTS requests_by_file ON requests(file) WHERE file IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS requests_cancels_sent ON requests(account) WHERE type = 'cancel' AND state = 'sent';"
    "CREATE INDEX IF NOT EXISTS responses_rejected_connects ON responses(account) WHERE type = 'connect' AND accepted = 0;"
    "CREATE INDEX IF NOT EXISTS optouts_in_force ON optouts(taken_on, kind) WHERE kind <> 'rejected';"
    "CREATE TABLE IF NOT EXISTS notice_cycles (task INTEGER NOT NULL, cycle INTEGER NOT NULL, switch_task INTEGER NOT NULL, "
    "  switched INTEGER NOT NULL, withdrawals INTEGER NOT NULL, as_of TEXT NOT NULL, PRIMARY KEY (task, cycle)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS withdrawals (seq INTEGER PRIMARY KEY AUTOINCREMENT, account INTEGER NOT NULL, what TEXT NOT NULL);"
    "CREATE TRIGGER IF NOT EXISTS optout_removed AFTER DELETE ON optouts WHEN old.kind <> 'rejected' BEGIN "
    "  INSERT INTO withdrawals (account, what) VALUES (old.account, 'opt-out removed'); END;"
    "CREATE TRIGGER IF NOT EXISTS optout_changed AFTER UPDATE OF account, kind, taken_on ON optouts WHEN old.kind <> 'rejected' BEGIN "
    "  INSERT INTO withdrawals (account, what) VALUES (old.account, 'opt-out changed'); END;"
    "CREATE TRIGGER IF NOT EXISTS own_switch_removed AFTER DELETE ON switch_dates BEGIN "
    "  INSERT INTO withdrawals (account, what) VALUES (old.account, 'own switch date removed'); END;"
    "CREATE TRIGGER IF NOT EXISTS own_switch_moved AFTER UPDATE OF account ON switch_dates BEGIN "
    "  INSERT INTO withdrawals (account, what) VALUES (old.account, 'own switch date moved'); END;"
    "CREATE TABLE IF NOT EXISTS open_accounts (task INTEGER PRIMARY KEY, account INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS import_ranges (phase INTEGER NOT NULL, read_cycle INTEGER NOT NULL, first INTEGER NOT NULL, "
    "  last INTEGER NOT NULL, PRIMARY KEY (phase, read_cycle)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS merge_marks (name TEXT PRIMARY KEY, task INTEGER NOT NULL, rows INTEGER NOT NULL, "
    "  through INTEGER NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL, done INTEGER, sha256_state TEXT, xxh3 TEXT);"
    "CREATE TABLE IF NOT EXISTS request_files (name TEXT PRIMARY KEY, rows INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS reached (task INTEGER NOT NULL, block INTEGER NOT NULL, bits BLOB NOT NULL, "
    "  PRIMARY KEY (task, block)) WITHOUT ROWID";

bool has_sqlite_header(const std::string& path) {
  char magic[16] = {};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::read(fd, magic, sizeof magic) == static_cast<ssize_t>(sizeof magic);
  ::close(fd);
  return ok && std::memcmp(magic, "SQLite format 3", 16) == 0;
}

}  // namespace

std::string describe_failure(const std::string& path, const sql::Error& error, const char* then) {
  if (error.not_a_database()) {
    return has_sqlite_header(path) ? damaged(path, error.what())
                                   : fmt::format("{} is not a ccaflow run database (not an SQLite file)", path);
  }
  if (error.disk_full()) return fmt::format("{}: {}: {}", path, error.what(), disk_full_hint(path, then));
  return fmt::format("{}: {}", path, error.what());
}

std::string disk_full_hint(const std::string& path, const char* then) {
  std::error_code ec;
  std::filesystem::path folder = std::filesystem::absolute(path, ec).parent_path();
  return fmt::format("if the disk is full, free space in {} (the run database and its outbox), then {}", folder.string(), then);
}

int failure_status(const sql::Error& error) {
  return error.busy() || error.not_a_database() ? exit_code::kDatabase : exit_code::kTaskFailed;
}

void Store::check() {
  auto check = db_.prepare("PRAGMA quick_check(5)");
  std::vector<std::string> problems;
  while (check.step()) problems.push_back(check.text(0));
  if (problems.size() == 1 && problems.front() == "ok") return;
  std::string detail = "PRAGMA quick_check: ";
  for (std::size_t i = 0; i < problems.size(); ++i) detail += (i ? "; " : "") + problems[i];
  std::replace(detail.begin(), detail.end(), '\n', ' ');
  throw SchemaError(damaged(path_, detail));
}

Store Store::open(const std::string& path, bool read_only) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    throw SchemaError(fmt::format("{}: no such run database ({})", path, std::strerror(errno)));
  }
  Store store(path, sql::Database::open(path, read_only));
  auto has_table = [&store](const char* name) {
    auto s = store.db_.prepare("SELECT count(*) FROM sqlite_schema WHERE name = ?");
    s.bind(1, name);
    s.step();
    return s.integer(0) == 1;
  };
  int version = 0;
  std::int64_t tables = 0;
  try {
    version = store.db_.user_version();
    auto count = store.db_.prepare("SELECT count(*) FROM sqlite_schema");
    count.step();
    tables = count.integer(0);
    if (version >= kOldestSchemaVersion && version <= kSchemaVersion && !has_table("run")) version = -1;
  } catch (const sql::Error& e) {
    if (e.not_a_database()) throw SchemaError(describe_failure(path, e));
    throw;
  }
  if (version == 0 && tables == 0) {
    // A first run builds its database aside and renames it whole, so an empty file here is
    // a run database that was lost or truncated, never one to start over in.
    throw SchemaError(fmt::format("{} is empty: it holds no run (a lost or truncated run database?); restore it, or "
                                  "start a new run under another name", path));
  }
  if (version == 0) throw SchemaError(fmt::format("{} is not a ccaflow run database (it holds no run)", path));
  if (version < 0) throw SchemaError(fmt::format("{} is not a ccaflow run database (its tables are not ccaflow's)", path));
  if (version < kOldestSchemaVersion || version > kSchemaVersion) {
    throw SchemaError(fmt::format("{} has schema version {}, and this ccaflow reads versions {} to {}: use the ccaflow that "
                                  "created it{}",
                                  path, version, kOldestSchemaVersion, kSchemaVersion, version > kSchemaVersion ? " (a newer one)" : ""));
  }
  if (!read_only) {
    store.configure();
    sql::Transaction t(store.db_);
    // A run of version 1 may have been changed last by a ccaflow that kept neither table
    // (request_files, reached): both are built again from the rows they count.
    bool rebuild = version < 2 || !has_table("request_files") || !has_table("reached");
    store.db_.exec(kLaterSchema);
    if (version < kSchemaVersion || rebuild) {
      for (const char* column : {"done INTEGER", "sha256_state TEXT", "xxh3 TEXT"}) {
        std::string_view name(column, std::strchr(column, ' ') - column);
        auto has = store.db_.prepare("SELECT count(*) FROM pragma_table_info('merge_marks') WHERE name = ?");
        has.bind(1, name);
        has.step();
        if (has.integer(0) == 0) store.db_.exec(fmt::format("ALTER TABLE merge_marks ADD COLUMN {}", column).c_str());
      }
      if (rebuild) store.rebuild_derived_tables();
      store.db_.exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion).c_str());
    }
    t.commit();
  }
  return store;
}

void Store::rebuild_derived_tables() {
  db_.exec("DELETE FROM request_files;"
           "INSERT INTO request_files (name, rows) SELECT file, count(*) FROM requests WHERE file IS NOT NULL GROUP BY file;"
           "DELETE FROM reached");
  auto s = db_.prepare("SELECT task, account FROM effects ORDER BY task, account");
  std::vector<std::int64_t> accounts;
  std::optional<int> task;
  auto flush = [&] {
    if (task) mark_reached(*task, accounts, [](std::int64_t account) { return account; });
    accounts.clear();
  };
  while (s.step()) {
    int t = static_cast<int>(s.integer(0));
    if (task != t) {
      flush();
      task = t;
    }
    accounts.push_back(s.integer(1));
  }
  flush();
}

void Store::configure() {
  db_.exec("PRAGMA journal_mode = WAL");
  db_.exec("PRAGMA synchronous = FULL");
  db_.exec("PRAGMA foreign_keys = ON");
  // A commit copies the WAL into the database once it holds this many pages (SQLite's
  // default is 1,000): a day's largest batch, whose prepared file's reader keeps its frames
  // in the WAL anyway, is not held up at its start by a killed run's WAL. The executor copies
  // what it can while it waits for a file (checkpoint_while_waiting), and the last
  // connection's close copies the rest.
  db_.exec("PRAGMA wal_autocheckpoint = 10000");
}

int Store::checkpoint_while_waiting() {
  int logged = 0, copied = 0;
  if (sqlite3_wal_checkpoint_v2(db_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &logged, &copied) != SQLITE_OK) return 0;
  return copied;
}

void Store::create_schema() {
  db_.exec(R"sql(
    CREATE TABLE run (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      workflow_path TEXT NOT NULL, stdlib_dir TEXT NOT NULL, inputs_hash TEXT NOT NULL,
      customers_path TEXT NOT NULL, customers_hash TEXT NOT NULL, outbox_dir TEXT NOT NULL,
      title TEXT NOT NULL, cca TEXT NOT NULL, utility TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE TABLE inputs (path TEXT PRIMARY KEY, text BLOB NOT NULL);
    CREATE TABLE phases (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, enroll TEXT NOT NULL);
    CREATE TABLE accounts (
      id INTEGER PRIMARY KEY, account TEXT NOT NULL, customer_class INTEGER NOT NULL,
      rate_schedule TEXT NOT NULL, city TEXT NOT NULL, county TEXT NOT NULL, read_cycle INTEGER NOT NULL,
      flags INTEGER NOT NULL, phase INTEGER REFERENCES phases(id), excluded TEXT,
      origin TEXT NOT NULL DEFAULT 'import',  -- import, or move-in
      held TEXT);                              -- a reject reason waiting for an operator
    CREATE TABLE tasks (
      id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, phase TEXT, cycle INTEGER NOT NULL,
      earliest TEXT NOT NULL, latest TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
      planned INTEGER NOT NULL, done INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',
      started_at TEXT, finished_at TEXT);
    CREATE TABLE task_deps (task INTEGER NOT NULL REFERENCES tasks(id), dep INTEGER NOT NULL REFERENCES tasks(id),
      PRIMARY KEY (task, dep)) WITHOUT ROWID;
    -- The run's largest table, written the most: its task and account are ids the executor
    -- has just read from tasks and accounts, whose rows are never deleted, so it declares no
    -- foreign keys (checking them cost a look-up in accounts for every effect).
    CREATE TABLE effects (
      task INTEGER NOT NULL, account INTEGER NOT NULL,
      kind TEXT NOT NULL, on_date TEXT NOT NULL, PRIMARY KEY (task, account)) WITHOUT ROWID;
    CREATE TABLE outbox (name TEXT PRIMARY KEY, task INTEGER REFERENCES tasks(id), rows INTEGER NOT NULL, bytes INTEGER NOT NULL,
      sha256 TEXT NOT NULL, written_at TEXT NOT NULL);
    CREATE TABLE ingests (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL,
      rows INTEGER NOT NULL, at TEXT NOT NULL, UNIQUE (kind, sha256));
    CREATE TABLE optouts (
      account INTEGER PRIMARY KEY REFERENCES accounts(id), received_on TEXT NOT NULL, channel TEXT NOT NULL,
      kind TEXT NOT NULL, taken_on TEXT NOT NULL, fee_cents INTEGER NOT NULL, cycle_end TEXT, return_on TEXT,
      rule TEXT NOT NULL, ingest INTEGER NOT NULL REFERENCES ingests(id), line INTEGER NOT NULL);
    CREATE TABLE requests (
      id INTEGER PRIMARY KEY, account INTEGER NOT NULL REFERENCES accounts(id), type TEXT NOT NULL,
      effective_on TEXT NOT NULL, not_before TEXT NOT NULL, state TEXT NOT NULL, sent_on TEXT, file TEXT,
      reason TEXT NOT NULL, UNIQUE (account, type, effective_on));
    -- An account's own switch date, when it is not its cycle's planned read: the actual read
    -- an accepted Connect reports, a move-in's service start, a retried Connect's read.
    CREATE TABLE switch_dates (account INTEGER PRIMARY KEY REFERENCES accounts(id), on_date TEXT NOT NULL,
      source TEXT NOT NULL);
    CREATE TABLE responses (id INTEGER PRIMARY KEY, account INTEGER NOT NULL REFERENCES accounts(id),
      type TEXT NOT NULL, accepted INTEGER NOT NULL, reason TEXT NOT NULL, actual_on TEXT,
      disposition TEXT NOT NULL, ingest INTEGER NOT NULL REFERENCES ingests(id), reference TEXT NOT NULL);
    CREATE TABLE events (seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL,
      task INTEGER REFERENCES tasks(id), kind TEXT NOT NULL, detail TEXT NOT NULL);
  )sql");
  db_.exec(fmt::format("PRAGMA user_version = {}", kSchemaVersion).c_str());
}

void Store::save_run(const RunInfo& r, const std::map<std::string, std::string>& inputs) {
  db_.prepare("INSERT INTO run VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(1, r.workflow_path).bind(2, r.stdlib_dir).bind(3, r.inputs_hash).bind(4, r.customers_path)
      .bind(5, r.customers_hash).bind(6, r.outbox_dir).bind(7, r.title).bind(8, r.cca).bind(9, r.utility)
      .bind(10, now_text()).run();
  auto insert = db_.prepare("INSERT INTO inputs VALUES (?, ?)");
  for (const auto& [path, text] : inputs) insert.bind(1, path).bind(2, text).run();
}

void Store::add_phase(int index, const std::string& name, Date enroll) {
  db_.prepare("INSERT INTO phases VALUES (?, ?, ?)").bind(1, index).bind(2, name).bind(3, format_date(enroll)).run();
}

void Store::add_task(const TaskRow& t) {
  db_.prepare("INSERT INTO tasks (id, key, kind, phase, cycle, earliest, latest, state, planned) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(1, t.id).bind(2, t.key).bind(3, t.kind).bind(4, t.phase.empty() ? std::optional<std::string>() : t.phase)
      .bind(5, t.cycle).bind(6, format_date(t.earliest)).bind(7, format_date(t.latest))
      .bind(8, task_state_name(t.state)).bind(9, t.planned).run();
  auto dep = db_.prepare("INSERT INTO task_deps VALUES (?, ?)");
  for (int d : t.deps) dep.bind(1, t.id).bind(2, d).run();
}

void Store::add_account(const AccountRow& a, std::optional<int> phase, std::optional<std::string> excluded) {
  if (!insert_account_) {
    insert_account_.emplace(db_.prepare("INSERT INTO accounts (id, account, customer_class, rate_schedule, city, county, "
                                        "read_cycle, flags, phase, excluded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  }
  bind_account(insert_account_->bind(1, a.id), 2, a, phase, excluded).run();
}

void Store::stage_account(const AccountRow& a, std::optional<int> phase, std::optional<std::string> excluded) {
  if (!stage_account_) {
    db_.exec("CREATE TEMP TABLE staged_accounts (seq INTEGER PRIMARY KEY, account TEXT NOT NULL, customer_class INTEGER NOT NULL, "
             "rate_schedule TEXT NOT NULL, city TEXT NOT NULL, county TEXT NOT NULL, read_cycle INTEGER NOT NULL, "
             "flags INTEGER NOT NULL, phase INTEGER, excluded TEXT)");
    stage_account_.emplace(db_.prepare("INSERT INTO temp.staged_accounts (account, customer_class, rate_schedule, city, county, "
                                       "read_cycle, flags, phase, excluded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  }
  bind_account(*stage_account_, 1, a, phase, excluded).run();
}

void Store::finish_setup() {
  insert_account_.reset();
  if (stage_account_) {
    // Ids in the order the run reads accounts: a day's notices and a cycle's Connect take
    // a phase's accounts of some read cycles, so numbered by phase, then cycle (then file
    // order), their effects are appended side by side and their rows read page by page.
    stage_account_.reset();
    db_.exec("INSERT INTO accounts (account, customer_class, rate_schedule, city, county, read_cycle, flags, phase, excluded) "
             "SELECT account, customer_class, rate_schedule, city, county, read_cycle, flags, phase, excluded "
             "FROM temp.staged_accounts ORDER BY phase IS NULL, phase, read_cycle, seq");
    db_.exec("DROP TABLE temp.staged_accounts");
  }
  db_.exec("CREATE UNIQUE INDEX accounts_by_number ON accounts(account)");
  // Origin in the index: a notice or Connect selects the imported accounts of a phase (and
  // cycle) without reading each account's row.
  db_.exec("CREATE INDEX accounts_by_phase ON accounts(phase, origin, read_cycle, id)");
  db_.exec("CREATE INDEX responses_by_account ON responses(account)");
  db_.exec(kLaterSchema);
  // Numbered as above, each phase's cycle is one range of ids. The ranges are stored only
  // when every one is whole (accounts added with ids of their own may leave gaps): a run
  // without them reads the phase index instead.
  auto groups = db_.prepare("SELECT phase, read_cycle, min(id), max(id), count(*) FROM accounts "
                            "WHERE phase IS NOT NULL AND origin = 'import' GROUP BY phase, read_cycle");
  std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t>> ranges;
  while (groups.step()) {
    if (groups.integer(4) != groups.integer(3) - groups.integer(2) + 1) return;
    ranges.emplace_back(groups.integer(0), groups.integer(1), groups.integer(2), groups.integer(3));
  }
  auto insert = db_.prepare("INSERT INTO import_ranges VALUES (?, ?, ?, ?)");
  for (const auto& [phase, cycle, first, last] : ranges) insert.bind(1, phase).bind(2, cycle).bind(3, first).bind(4, last).run();
}

std::vector<Store::CycleIds> Store::import_ranges(int phase) {
  auto s = db_.prepare("SELECT read_cycle, first, last FROM import_ranges WHERE phase = ? ORDER BY first");
  s.bind(1, phase);
  std::vector<CycleIds> out;
  while (s.step()) out.push_back({static_cast<int>(s.integer(0)), s.integer(1), s.integer(2)});
  return out;
}

RunInfo Store::run() {
  auto s = db_.prepare("SELECT workflow_path, stdlib_dir, inputs_hash, customers_path, customers_hash, outbox_dir, "
                       "title, cca, utility, created_at FROM run");
  if (!s.step()) throw SchemaError(fmt::format("{} holds no run", path_));
  return RunInfo{s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6), s.text(7), s.text(8), s.text(9)};
}

std::map<std::string, std::string> Store::inputs() {
  std::map<std::string, std::string> out;
  auto s = db_.prepare("SELECT path, text FROM inputs");
  while (s.step()) out[s.text(0)] = s.text(1);
  return out;
}

std::vector<TaskRow> Store::tasks() {
  std::vector<TaskRow> out;
  auto s = db_.prepare("SELECT id, key, kind, coalesce(phase, ''), cycle, earliest, latest, state, attempts, planned, "
                       "done, error FROM tasks ORDER BY id");
  while (s.step()) {
    TaskRow t;
    t.id = static_cast<int>(s.integer(0));
    t.key = s.text(1);
    t.kind = s.text(2);
    t.phase = s.text(3);
    t.cycle = static_cast<int>(s.integer(4));
    t.earliest = parse_date(s.text(5)).value_or(Date{});
    t.latest = parse_date(s.text(6)).value_or(Date{});
    t.state = task_state_named(s.text(7)).value_or(TaskState::kPending);
    t.attempts = static_cast<int>(s.integer(8));
    t.planned = s.integer(9);
    t.done = s.integer(10);
    t.error = s.text(11);
    out.push_back(std::move(t));
  }
  auto d = db_.prepare("SELECT task, dep FROM task_deps ORDER BY task, dep");
  while (d.step()) {
    auto task = static_cast<std::size_t>(d.integer(0));
    if (task >= 1 && task <= out.size()) out[task - 1].deps.push_back(static_cast<int>(d.integer(1)));
  }
  return out;
}

std::optional<std::string> Store::last_as_of() {
  if (!last_as_of_) last_as_of_.emplace(db_.prepare("SELECT detail FROM events WHERE kind = 'as_of' ORDER BY seq DESC LIMIT 1"));
  std::optional<std::string> out;
  if (last_as_of_->step()) out = last_as_of_->text(0);
  last_as_of_->reset();
  return out;
}

void Store::event(const std::string& actor, std::optional<int> task, const std::string& kind, const std::string& detail) {
  if (!insert_event_) insert_event_.emplace(db_.prepare("INSERT INTO events (at, actor, task, kind, detail) VALUES (?, ?, ?, ?, ?)"));
  insert_event_->bind(1, now_text()).bind(2, actor).bind(3, task).bind(4, kind).bind(5, detail).run();
}

void Store::set_state(int task, TaskState state, const std::string& error) {
  if (!set_state_) {
    set_state_.emplace(db_.prepare(
        "UPDATE tasks SET state = ?1, error = ?2, "
        "started_at = CASE WHEN ?1 = 'running' AND started_at IS NULL THEN ?3 ELSE started_at END, "
        "finished_at = CASE WHEN ?1 IN ('done', 'failed') THEN ?3 ELSE NULL END WHERE id = ?4"));
  }
  set_state_->bind(1, task_state_name(state)).bind(2, error).bind(3, now_text()).bind(4, task).run();
}

void Store::start_attempt(int task) {
  db_.prepare("UPDATE tasks SET attempts = attempts + 1 WHERE id = ?").bind(1, task).run();
}

void Store::add_effect(int task, std::int64_t account, const char* kind, Date on) {
  Effect effect{account, on};
  add_effects(task, kind, std::span(&effect, 1));
}

void Store::insert_effect(int task, std::int64_t account, const char* kind, Date on) {
  if (!insert_effect_) insert_effect_.emplace(db_.prepare("INSERT INTO effects VALUES (?, ?, ?, ?)"));
  insert_effect_->bind(1, task).bind(2, account).bind(3, kind).bind(4, format_date(on)).run();
}

void Store::add_effects(int task, const char* kind, std::span<const Effect> effects) {
  if (!insert_effects_) {
    std::string sql = "INSERT INTO effects VALUES ";
    for (std::size_t i = 0; i < kEffectsPerInsert; ++i) sql += fmt::format("{}(?1, ?{}, ?2, ?{})", i ? ", " : "", 3 + 2 * i, 4 + 2 * i);
    insert_effects_.emplace(db_.prepare(sql));
  }
  std::size_t whole = effects.size() - effects.size() % kEffectsPerInsert;
  // The dates repeat: each is formatted once, and bound without a copy (a map's strings
  // stay where they are until it goes, after the last statement).
  std::map<Date, std::string> dates;
  std::pair<const Date, std::string>* last = nullptr;
  auto date = [&](Date on) -> const std::string& {
    if (last == nullptr || last->first != on) last = &*dates.try_emplace(on, format_date(on)).first;
    return last->second;
  };
  for (std::size_t at = 0; at < whole; at += kEffectsPerInsert) {
    insert_effects_->bind(1, task).bind(2, kind);
    for (std::size_t i = 0; i < kEffectsPerInsert; ++i) {
      const Effect& e = effects[at + i];
      insert_effects_->bind(static_cast<int>(3 + 2 * i), e.account).bind_unchanging(static_cast<int>(4 + 2 * i), date(e.on));
    }
    insert_effects_->run();
  }
  for (const Effect& e : effects.subspan(whole)) insert_effect(task, e.account, kind, e.on);
  mark_reached(task, effects, [](const Effect& e) { return e.account; });
}

// Sets the accounts' bits in the task's blocks of the reached table: a block is read, its
// bits set for the accounts in it, and written back when the next account is in another.
template <typename Items, typename AccountOf>
void Store::mark_reached(int task, const Items& items, const AccountOf& account_of) {
  constexpr std::int64_t per_block = 8 * kReachedBlockBytes;
  if (!read_reached_) {
    read_reached_.emplace(db_.prepare("SELECT bits FROM reached WHERE task = ? AND block = ?"));
    write_reached_.emplace(db_.prepare("INSERT OR REPLACE INTO reached VALUES (?, ?, ?)"));
  }
  std::optional<std::int64_t> block;
  std::string bits;
  auto write = [&] {
    if (block) write_reached_->bind(1, task).bind(2, *block).bind_blob(3, bits).run();
  };
  for (const auto& item : items) {
    std::int64_t account = account_of(item);
    if (account < 0) continue;  // (ids are positive)
    std::int64_t b = account / per_block;
    if (block != b) {
      write();
      block = b;
      bits.assign(static_cast<std::size_t>(kReachedBlockBytes), '\0');
      read_reached_->bind(1, task).bind(2, b);
      if (read_reached_->step()) {
        std::string_view stored = read_reached_->blob(0);
        std::copy_n(stored.begin(), std::min(stored.size(), bits.size()), bits.begin());
      }
      read_reached_->reset();
    }
    std::int64_t bit = account % per_block;
    bits[static_cast<std::size_t>(bit / 8)] = static_cast<char>(bits[static_cast<std::size_t>(bit / 8)] | (1 << (bit % 8)));
  }
  write();
}

void Store::reached(int task, AccountSet& into) {
  auto s = db_.prepare("SELECT block, bits FROM reached WHERE task = ? ORDER BY block");
  s.bind(1, task);
  while (s.step()) into.add_bits(s.integer(0) * 8 * kReachedBlockBytes, s.blob(1));
}

void Store::add_done(int task, std::int64_t count) {
  db_.prepare("UPDATE tasks SET done = done + ? WHERE id = ?").bind(1, count).bind(2, task).run();
}

void Store::record_outbox(const std::string& name, std::optional<int> task, std::int64_t rows, std::int64_t bytes,
                          const std::string& sha256) {
  db_.prepare("INSERT OR REPLACE INTO outbox VALUES (?, ?, ?, ?, ?, ?)")
      .bind(1, name).bind(2, task).bind(3, rows).bind(4, bytes).bind(5, sha256).bind(6, now_text()).run();
  db_.prepare("DELETE FROM merge_marks WHERE name = ?").bind(1, name).run();
}

std::optional<Store::MergeMark> Store::merge_mark(const std::string& name) {
  auto s = db_.prepare("SELECT rows, through, bytes, sha256, done, sha256_state, xxh3 FROM merge_marks WHERE name = ?");
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  MergeMark mark{s.integer(0), s.integer(1), s.integer(2), s.text(3), {}, {}, std::nullopt};
  if (!s.is_null(4)) mark.done = s.integer(4);
  if (!s.is_null(5) && !s.is_null(6)) {
    mark.sha256_state = s.text(5);
    mark.xxh3 = s.text(6);
  }
  return mark;
}

std::vector<std::string> Store::marked_merges() {
  auto s = db_.prepare("SELECT name FROM merge_marks ORDER BY name");
  std::vector<std::string> names;
  while (s.step()) names.push_back(s.text(0));
  return names;
}

void Store::set_merge_mark(const std::string& name, int task, const MergeMark& mark) {
  auto s = db_.prepare("INSERT OR REPLACE INTO merge_marks (name, task, rows, through, bytes, sha256, done, sha256_state, xxh3) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, name).bind(2, task).bind(3, mark.rows).bind(4, mark.through).bind(5, mark.bytes).bind(6, mark.sha256).bind(7, mark.done);
  if (mark.xxh3.empty() || mark.sha256_state.empty()) s.bind_null(8).bind_null(9);  // both, or neither
  else s.bind(8, mark.sha256_state).bind(9, mark.xxh3);
  s.run();
}

// CROSS JOIN keeps switch_dates the outer table. Without it SQLite, which has no statistics
// here, would scan the phase's accounts in accounts_by_phase and probe switch_dates for
// each: a million look-ups on every day's run, to find the few accounts it holds.
const char* const Store::kOwnSwitchDatesSql =
    "SELECT d.account, a.read_cycle, d.on_date FROM switch_dates d CROSS JOIN accounts a ON a.id = d.account "
    "WHERE a.phase = ? ORDER BY d.account";
const char* const Store::kOwnSwitchDueSql =
    "SELECT 1 FROM switch_dates d CROSS JOIN accounts a ON a.id = d.account WHERE a.phase = ? AND d.on_date <= ? LIMIT 1";

std::vector<Store::OwnSwitch> Store::own_switch_dates(int phase) {
  std::vector<OwnSwitch> out;
  auto s = db_.prepare(kOwnSwitchDatesSql);
  s.bind(1, phase);
  while (s.step()) {
    out.push_back({s.integer(0), static_cast<int>(s.integer(1)), parse_date(s.text(2))});
  }
  return out;
}

bool Store::own_switch_due(int phase, Date on) {
  auto s = db_.prepare(kOwnSwitchDueSql);
  s.bind(1, phase).bind(2, format_date(on));
  return s.step();
}

std::vector<Store::CoveredCycle> Store::covered_cycles(int task) {
  std::vector<CoveredCycle> out;
  auto s = db_.prepare("SELECT cycle, switch_task, switched, withdrawals, as_of FROM notice_cycles WHERE task = ? ORDER BY cycle");
  s.bind(1, task);
  while (s.step()) {
    auto as_of = parse_date(s.text(4));
    if (!as_of) continue;  // unreadable: as if not covered
    out.push_back({static_cast<int>(s.integer(0)), static_cast<int>(s.integer(1)), s.integer(2), s.integer(3), *as_of});
  }
  return out;
}

void Store::cover_cycle(int task, const CoveredCycle& c) {
  db_.prepare("INSERT OR REPLACE INTO notice_cycles VALUES (?, ?, ?, ?, ?, ?)")
      .bind(1, task).bind(2, c.cycle).bind(3, c.switch_task).bind(4, c.switched).bind(5, c.withdrawals)
      .bind(6, format_date(c.as_of)).run();
}

std::int64_t Store::withdrawals() {
  auto s = db_.prepare("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'withdrawals'), "
                       "(SELECT max(seq) FROM withdrawals), 0)");
  s.step();
  return s.integer(0);
}

std::optional<std::int64_t> Store::open_account(int task) {
  auto s = db_.prepare("SELECT account FROM open_accounts WHERE task = ?");
  s.bind(1, task);
  if (!s.step()) return std::nullopt;
  return s.integer(0);
}

void Store::set_open_account(int task, std::int64_t account) {
  db_.prepare("INSERT OR REPLACE INTO open_accounts VALUES (?, ?)").bind(1, task).bind(2, account).run();
}

std::int64_t Store::outbox_rows_of_task(int task) {
  auto s = db_.prepare("SELECT coalesce(sum(rows), 0) FROM outbox WHERE task = ?");
  s.bind(1, task);
  s.step();
  return s.integer(0);
}

std::int64_t Store::max_account_id() {
  auto s = db_.prepare("SELECT coalesce(max(id), 0) FROM accounts");
  s.step();
  return s.integer(0);
}

std::optional<std::int64_t> Store::outbox_rows(const std::string& name) {
  auto s = db_.prepare("SELECT rows FROM outbox WHERE name = ?");
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  return s.integer(0);
}

}  // namespace ccaflow
