// Runs a stored workflow up to an as-of date: the `run`, `resume` and `approve` commands.
//
// The state of a run is the database's facts (tasks, effects, outbox records); what to do
// next is recomputed from them on every call, never from a saved position (as ninja does).
// A batch records its per-account effects in transactions of many rows, each marking the
// batch's progress in the same transaction; outbox files are derived from the recorded
// effects and written atomically, so a batch killed at any point resumes without losing
// or repeating an effect, and rewrites the same bytes.
#pragma once

#include <optional>
#include <string>

#include "compiler/date.h"

namespace ccaflow {

struct RunRequest {
  std::optional<std::string> workflow;  // `run FILE`; empty for `resume`
  std::string db;
  std::optional<std::string> customers;
  Date as_of{};
  std::optional<std::string> outbox;
};

// Each returns the exit status and prints what happened (stdout) and problems (stderr).
int run_workflow(const RunRequest& request);
int resume_workflow(const RunRequest& request);
int approve_gate(const std::string& db, const std::string& task, const std::string& by, const std::string& note);

// Test knobs, read from the environment: CCAFLOW_CRASH_AFTER_EFFECTS=N kills the process
// (SIGKILL, no cleanup) once it has recorded N effects; CCAFLOW_CRASH_BEFORE_CLOSE=1 kills
// it when it comes to close the first batch whose mail merge, filled beside it, has a mark
// (every effect committed, the file not yet taken); CCAFLOW_BATCH_SIZE=N commits every N effects
// (default 10,000: a kill loses at most that much work).
struct RunKnobs {
  long crash_after_effects = 0;
  bool crash_before_close = false;
  long batch_size = 10000;
  long merge_chunk = 1 << 18;  // a mail merge's bytes written (and marked) at a time
  static RunKnobs from_environment();
};

}  // namespace ccaflow
