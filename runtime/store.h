// The run database: one SQLite file per run (mode 0600; WAL, synchronous=FULL, foreign
// keys on; the schema version in PRAGMA user_version). It holds the run (the workflow's
// files and their hash, each as-of date it was run at), the accounts (integer ids inside,
// the utility's account number as an attribute), every task with its state, every
// per-account effect keyed by (task, account), the outbox files written, and an append-only
// event log of every state change with its time and actor.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "compiler/date.h"
#include "runtime/account_set.h"
#include "runtime/sqlite.h"

namespace ccaflow {

// The schema this ccaflow writes. A run of an older version it reads (kOldestSchemaVersion
// and on) is brought up to this one when opened to change; an older ccaflow refuses a run
// of a newer version, so it never changes a table it does not know.
inline constexpr int kSchemaVersion = 3;
inline constexpr int kOldestSchemaVersion = 1;

// The database is not a ccaflow run database this program can use (exit 4).
class SchemaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What to tell the operator when SQLite fails on a run database: damage is named as such,
// with what to do (ccaflow never repairs or starts over a run database).
// `then` is what to do once space is freed, when the disk was full.
std::string describe_failure(const std::string& path, const sql::Error& error, const char* then = "resume");
// What to free when a write failed for want of space.
std::string disk_full_hint(const std::string& path, const char* then = "resume");
// Exit status for such a failure: 4 for a busy or damaged database, else 3 (resumable).
int failure_status(const sql::Error& error);

enum class TaskState { kPending, kDue, kWaiting, kRunning, kDone, kFailed };
const char* task_state_name(TaskState state);
std::optional<TaskState> task_state_named(std::string_view name);

struct RunInfo {
  std::string workflow_path, stdlib_dir, inputs_hash;
  std::string customers_path, customers_hash, outbox_dir;
  std::string title, cca, utility, created_at;
};

struct TaskRow {
  int id = 0;  // the graph's node index + 1
  std::string key, kind;
  std::string phase;  // empty for milestones and gates
  int cycle = 0;
  Date earliest{}, latest{};
  TaskState state = TaskState::kPending;
  int attempts = 0;
  std::int64_t planned = 0;  // accounts it touches
  std::int64_t done = 0;     // effects recorded
  std::string error;
  std::vector<int> deps;
};

// One account's effect of a task: the account's id, and the date it took effect.
struct Effect {
  std::int64_t account;
  Date on;
};

struct AccountRow {
  std::int64_t id = 0;
  std::string account;
  int customer_class = 0;
  std::string rate_schedule, city, county;
  int read_cycle = 0;
  int flags = 0;
};

class Store {
 public:
  // Creates a new, empty run database; the file must not exist. Mode 0600.
  static Store create(const std::string& path);
  // Opens an existing run database; throws SchemaError for anything it cannot use.
  static Store open(const std::string& path, bool read_only = false);
  // Reads every page (SQLite's `PRAGMA quick_check`); throws SchemaError naming what is
  // damaged. `status` runs it; every other command meets damage as it reads.
  void check();

  sql::Database& db() { return db_; }
  const std::string& path() const { return path_; }

  // --- setup (inside the caller's transaction) ----------------------------------------
  void create_schema();
  void save_run(const RunInfo& run, const std::map<std::string, std::string>& inputs);
  void add_phase(int index, const std::string& name, Date enroll);
  void add_task(const TaskRow& task);
  // One account, with its id (a move-in, a test).
  void add_account(const AccountRow& account, std::optional<int> phase, std::optional<std::string> excluded);
  // The customer file's accounts, in file order (their ids are ignored): finish_setup
  // numbers them by phase, then read cycle, then file order.
  void stage_account(const AccountRow& account, std::optional<int> phase, std::optional<std::string> excluded);
  void finish_setup();  // the staged accounts stored, and the indexes built after the bulk load

  // --- reading --------------------------------------------------------------------------
  RunInfo run();
  std::map<std::string, std::string> inputs();
  std::vector<TaskRow> tasks();
  std::optional<std::string> last_as_of();
  // The accounts of a phase with a switch date of their own (an actual read, a retried
  // Connect, a move-in), in account order; and whether one of those dates has come by `on`.
  struct OwnSwitch {
    std::int64_t account;
    int cycle;
    std::optional<Date> on;  // nullopt if the stored date does not read as one
  };
  std::vector<OwnSwitch> own_switch_dates(int phase);
  bool own_switch_due(int phase, Date on);
  // Their SQL, for the test of its join order: switch_dates (few rows) first, accounts by id.
  static const char* const kOwnSwitchDatesSql;
  static const char* const kOwnSwitchDueSql;

  // What a post-enrollment notice has covered of its read cycles (the notice_cycles table:
  // see the schema), and how many withdrawals (changes that can return an account passed
  // over) the run has seen.
  struct CoveredCycle {
    int cycle;
    int switch_task;
    std::int64_t switched;     // the switch task's effects the cover is for
    std::int64_t withdrawals;  // withdrawals() then
    Date as_of;
  };
  std::vector<CoveredCycle> covered_cycles(int task);
  std::int64_t withdrawals();
  // The account a task's last check found it could still reach, if it found one.
  std::optional<std::int64_t> open_account(int task);
  // The highest account id (0 when there is none): the size of a set of accounts by id.
  std::int64_t max_account_id();
  // The ids of a phase's imported accounts, one range for each read cycle, in id order
  // (the import_ranges table: see the schema); none for a run created before it.
  struct CycleIds {
    int cycle;
    std::int64_t first, last;
  };
  std::vector<CycleIds> import_ranges(int phase);
  // How far an unfinished mail merge (FILE.tmp) holds committed effects' lines (the
  // merge_marks table: see the schema).
  struct MergeMark {
    std::int64_t rows = 0;     // its first rows (after the header)
    std::int64_t through = 0;  // the account of the last of them
    std::int64_t bytes = 0;    // the file's first bytes, which hold them
    std::string sha256;        // of those bytes
    // Their XXH3-64, and the SHA-256's state after their whole 64-byte blocks (see
    // WrittenSoFar): empty for a mark of schema version 2 or older.
    std::string sha256_state, xxh3;
    // The task's effects (of every day) when the mark was committed: while the task still
    // has that many, none was recorded after the mark, and its rows are today's effects up
    // to `through` without counting them again. None for a mark of schema version 1.
    std::optional<std::int64_t> done;
  };
  std::optional<MergeMark> merge_mark(const std::string& name);
  std::vector<std::string> marked_merges();  // their files' names
  // The accounts a task has reached (those with its effect), added to `into`: read from the
  // reached table, a bit per account kept with the effects, instead of from the effects.
  void reached(int task, AccountSet& into);
  static constexpr std::int64_t kReachedBlockBytes = 512;  // a block's accounts: 8 a byte

  // --- changes ------------------------------------------------------------------------
  void event(const std::string& actor, std::optional<int> task, const std::string& kind, const std::string& detail);
  void set_state(int task, TaskState state, const std::string& error = {});
  void start_attempt(int task);
  void add_effect(int task, std::int64_t account, const char* kind, Date on);
  // Many effects of one task, kEffectsPerInsert to a statement (one statement's fixed cost,
  // spread over many rows), and their bits in the reached table. In account order, each
  // block of bits is read and written once.
  void add_effects(int task, const char* kind, std::span<const Effect> effects);
  static constexpr std::size_t kEffectsPerInsert = 64;
  void add_done(int task, std::int64_t count);
  void cover_cycle(int task, const CoveredCycle& cycle);
  void set_open_account(int task, std::int64_t account);
  // A file written to the outbox (its mark, if it had one, removed).
  void record_outbox(const std::string& name, std::optional<int> task, std::int64_t rows, std::int64_t bytes,
                     const std::string& sha256);
  void set_merge_mark(const std::string& name, int task, const MergeMark& mark);
  // Copies what the WAL holds that no reader still needs into the database (a passive
  // checkpoint, outside any transaction), while waiting for something else; a failure is
  // left to the next commit's checkpoint. Returns the WAL's pages copied so far.
  int checkpoint_while_waiting();
  // How many rows the outbox file was written with, if it was.
  std::optional<std::int64_t> outbox_rows(const std::string& name);
  // The rows of every outbox file a task has written.
  std::int64_t outbox_rows_of_task(int task);

 private:
  Store(std::string path, sql::Database db) : path_(std::move(path)), db_(std::move(db)) {}
  void configure();
  void insert_effect(int task, std::int64_t account, const char* kind, Date on);
  template <typename Items, typename AccountOf>
  void mark_reached(int task, const Items& items, const AccountOf& account_of);
  void rebuild_derived_tables();

  std::string path_;
  sql::Database db_;
  std::optional<sql::Statement> insert_account_, stage_account_, insert_effect_, insert_effects_, insert_event_, set_state_, last_as_of_,
      read_reached_, write_reached_;
};

std::string now_text();  // the wall-clock time for the event log, UTC

}  // namespace ccaflow
