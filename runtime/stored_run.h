// An existing run, opened for a command: its database, its stored workflow recompiled from
// the files it was started with (whatever happened on disk since), and its tasks checked
// against that workflow's graph.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "compiler/compiler.h"
#include "compiler/source_files.h"
#include "runtime/store.h"

namespace ccaflow {

struct StoredRun {
  Store store;
  RunInfo info;
  std::unique_ptr<StoredFiles> files;
  CompileResult compiled;
  std::vector<TaskRow> tasks;

  // Statements prepared once for the command's life (account_facts asks its questions for
  // every row of an ingest); after `store`, so they are finalized before it closes.
  std::unordered_map<std::string, sql::Statement> prepared = {};

  const Model& model() const { return compiled.program->model; }
  const TaskGraph& graph() const { return *compiled.graph; }
};

// Opens DB and recompiles its workflow. On failure prints why and sets `status` (4 for a
// database this ccaflow cannot use).
std::optional<StoredRun> open_stored_run(const std::string& db, bool read_only, int& status);

// One account's place in the plan: its row, phase and read cycle, and its switch date (the
// switch recorded for it, else its cycle's planned read).
struct AccountFacts {
  AccountRow row;
  int phase = -1;  // -1: excluded
  std::string excluded;
  Date switch_on{};
  bool switched = false;
  std::string switch_source;  // "response", "move-in", "retry" when the date is the account's own
  bool move_in = false;
  bool will_switch = true;       // false when a rejected Connect is held, or not retried
  bool connect_rejected = false;  // the mass enrollment's Connect was rejected
  bool connect_sent = false;      // the mass enrollment's Connect went out
  struct Retry {
    std::int64_t id;
    Date effective;
    std::string state;  // queued, sent, accepted, effective
  };
  std::optional<Retry> retry;     // the latest retried Connect
  std::string held;               // why it waits for an operator
  bool opted_out = false;
  std::optional<Date> connect_effective;  // the Connect sent for it, if any: its requested date
};
std::optional<AccountFacts> account_facts(StoredRun& run, const std::string& account);

// The first read of `cycle` after `after` that a CCASR sent on `from` can still reach (its
// submission date by the workflow's `submit` lead is on or after `from`), with that
// submission date: "a CCASR must reach the utility 5 days before a read to take effect on
// it, else it takes the following read". nullopt past the read schedule.
std::optional<std::pair<Date, Date>> reachable_read(const Program& program, int phase, int cycle, Date after, Date from);

// The first day any of the account's pre-enrollment notice windows opens, if it has any.
std::optional<Date> notice_period_opens(const Model& model, int phase, int cycle);

}  // namespace ccaflow
