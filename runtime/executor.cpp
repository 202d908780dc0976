#include "runtime/executor.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <fmt/format.h>
#include <iostream>
#include <set>
#include <span>
#include <stdexcept>

#include "compiler/compiler.h"
#include "compiler/eval.h"
#include "compiler/source_files.h"
#include "compiler/suggest.h"
#include "runtime/assign.h"
#include "runtime/exit_codes.h"
#include "runtime/hash.h"
#include "runtime/lock.h"
#include "runtime/outbox.h"
#include "runtime/plan.h"
#include "runtime/store.h"
#include "runtime/stored_run.h"

namespace ccaflow {
namespace fs = std::filesystem;
using namespace exit_code;

RunKnobs RunKnobs::from_environment() {
  RunKnobs knobs;
  if (const char* crash = std::getenv("CCAFLOW_CRASH_AFTER_EFFECTS")) knobs.crash_after_effects = std::atol(crash);
  if (const char* crash = std::getenv("CCAFLOW_CRASH_BEFORE_CLOSE")) knobs.crash_before_close = std::string_view(crash) == "1";
  if (const char* batch = std::getenv("CCAFLOW_BATCH_SIZE")) knobs.batch_size = std::max(1L, std::atol(batch));
  if (const char* chunk = std::getenv("CCAFLOW_MERGE_CHUNK")) knobs.merge_chunk = std::max(1L, std::atol(chunk));
  return knobs;
}

namespace {

constexpr const char* kSystem = "system";

// The workflow's fingerprint: its files' contents, by file name (not folder), so the same
// workflow run from another folder is the same workflow.
std::string inputs_hash(const std::map<std::string, std::string>& inputs) {
  std::vector<std::pair<std::string, const std::string*>> files;
  for (const auto& [path, text] : inputs) files.emplace_back(fs::path(path).filename().string(), &text);
  std::sort(files.begin(), files.end());
  Sha256 h;
  for (const auto& [name, text] : files) {
    h.update(name);
    h.update(std::string_view("\0", 1));
    h.update(fmt::format("{}:", text->size()));
    h.update(*text);
  }
  return h.hex();
}

bool is_gate(const TaskRow& row) { return row.kind == "gate" || row.kind == "milestone"; }

// A progress line on stderr, only on a terminal.
class Progress {
 public:
  Progress() : tty_(isatty(STDERR_FILENO) != 0) {}
  void show(const std::string& task, std::int64_t done, std::int64_t total) {
    if (!tty_) return;
    int width = 30;
    int filled = total > 0 ? static_cast<int>(width * done / total) : width;
    std::cerr << fmt::format("\r  {:<40} [{}{}] {}/{}", task.substr(0, 40), std::string(static_cast<std::size_t>(filled), '#'),
                             std::string(static_cast<std::size_t>(width - filled), ' '), with_commas(static_cast<std::size_t>(done)),
                             with_commas(static_cast<std::size_t>(total)))
              << std::flush;
    shown_ = true;
  }
  void clear() {
    if (shown_) std::cerr << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  bool tty_;
  bool shown_ = false;
};

// Makes waiting every milestone or gate whose dependencies are all done (inside the
// caller's transaction). Returns the keys that changed.
std::vector<std::string> promote_gates(Store& store, std::vector<TaskRow>& rows) {
  std::vector<std::string> promoted;
  for (TaskRow& row : rows) {
    if (!is_gate(row) || row.state != TaskState::kPending) continue;
    bool ready = std::all_of(row.deps.begin(), row.deps.end(),
                             [&](int d) { return rows[static_cast<std::size_t>(d - 1)].state == TaskState::kDone; });
    if (!ready) continue;
    row.state = TaskState::kWaiting;
    store.set_state(row.id, row.state);
    store.event(kSystem, row.id, "waiting", "waiting for approval");
    promoted.push_back(row.key);
  }
  return promoted;
}

class Executor {
 public:
  Executor(Store& store, const Program& program, const TaskGraph& graph, Outbox& outbox, Date as_of, RunKnobs knobs)
      : store_(store), program_(program), model_(program.model), graph_(graph), outbox_(outbox), as_of_(as_of),
        knobs_(knobs) {}

  // Runs every task due by the as-of date, in dependency order. False when a task failed.
  bool run() {
    // A batch prepares its file beside its effects: a kill before they were committed can
    // leave that FILE.tmp behind, under a date no later run may write again. A mail merge
    // marked as holding committed effects' lines is kept: a resumed batch goes on with it.
    outbox_.remove_unfinished(store_.marked_merges());
    rows_ = store_.tasks();
    start_checks();
    {
      sql::Transaction t(store_.db());
      for (const std::string& key : promote_gates(store_, rows_)) std::cout << fmt::format("  waiting   {}: needs approval\n", key);
      t.commit();
    }
    bool ok = send_requests() && retried_switches();
    for (int v : graph_.order()) {
      TaskRow& row = rows_[static_cast<std::size_t>(v)];
      const TaskNode& node = graph_.nodes()[static_cast<std::size_t>(v)];
      if (row.state == TaskState::kDone || is_gate(row)) continue;
      if (row.state == TaskState::kFailed) {
        ok = false;
        continue;
      }
      if (pending_ && std::find(node.deps.begin(), node.deps.end(), pending_->v) != node.deps.end()) close_pending();
      if ((node.earliest > as_of_ && !own_date_due(node)) || !task_deps_done(node)) continue;
      ok &= execute(v);
    }
    close_pending();
    ok &= pending_ok_;
    {
      sql::Transaction t(store_.db());
      for (const std::string& key : promote_gates(store_, rows_)) std::cout << fmt::format("  waiting   {}: needs approval\n", key);
      t.commit();
    }
    return ok;
  }

 private:
  // The lifecycle's CCASRs (Cancel, Disconnect, ...) queued by ingests: sent on business
  // days once due, all of a day's in one 814 file. A Cancel that would reach the utility on
  // or after its Connect's effective date is refused; a Disconnect returns the account
  // instead, at the end of its billing cycle.
  bool send_requests() {
    if (!model_.calendar.is_business_day(as_of_)) return true;
    std::string today = format_date(as_of_);
    std::string name = fmt::format("ccasr/requests.{}.814", today);
    try {
      sql::Transaction t(store_.db());
      auto cancels = store_.db().prepare(
          "SELECT r.id, r.account, r.effective_on, a.read_cycle, a.account, coalesce(a.phase, 0), "
          "EXISTS (SELECT 1 FROM tasks k JOIN effects e ON e.task = k.id AND e.account = r.account "
          "WHERE k.key = (SELECT p.name FROM phases p WHERE p.id = a.phase) || '.switch.c' || printf('%02d', a.read_cycle)) "
          "OR EXISTS (SELECT 1 FROM switch_dates d WHERE d.account = r.account AND d.on_date <= ?1) "
          "FROM requests r JOIN accounts a ON a.id = r.account "
          "WHERE r.state = 'queued' AND r.type = 'cancel' AND r.not_before <= ?1 ORDER BY r.id");
      cancels.bind(1, today);
      struct Late {
        std::int64_t id, account;
        std::string effective, number;
        int cycle, phase;
      };
      std::vector<Late> late;
      while (cancels.step()) {
        if (cancels.text(2) <= today || cancels.integer(6) != 0) {
          late.push_back({cancels.integer(0), cancels.integer(1), cancels.text(2), cancels.text(4), static_cast<int>(cancels.integer(3)),
                          static_cast<int>(cancels.integer(5))});
        }
      }
      for (const Late& l : late) {
        auto reach = reachable_read(program_, l.phase, l.cycle, as_of_, as_of_);
        Date back = reach ? reach->first : model_.reads.last_date();
        std::string why = fmt::format("refused: on {} the Connect is already effective ({}); a Disconnect is the way back", today, l.effective);
        store_.db().prepare("UPDATE requests SET state = 'refused', reason = reason || '; ' || ? WHERE id = ?").bind(1, why).bind(2, l.id).run();
        store_.db().prepare("INSERT OR IGNORE INTO requests (account, type, effective_on, not_before, state, reason) "
                            "VALUES (?, 'disconnect', ?, ?, 'queued', ?)")
            .bind(1, l.account).bind(2, format_date(back)).bind(3, today)
            .bind(4, fmt::format("the Cancel came too late; back to bundled service at the end of the billing cycle")).run();
        store_.db().prepare("UPDATE optouts SET cycle_end = ?1, return_on = ?1, rule = rule || ?2 WHERE account = ?3")
            .bind(1, format_date(back))
            .bind(2, fmt::format("; the Cancel could not reach the utility before the Connect took effect ({}), so a Disconnect "
                                 "returns the account on {}, without a fee", l.effective, format_date(back)))
            .bind(3, l.account).run();
        store_.event(kSystem, std::nullopt, "request", fmt::format("account {}: Cancel {}", l.number, why));
      }
      // A Connect is never sent for a customer who has opted out.
      store_.db().prepare("UPDATE requests SET state = 'refused', reason = reason || '; refused: the customer opted out' "
                          "WHERE state = 'queued' AND type = 'connect' AND not_before <= ?1 AND EXISTS "
                          "(SELECT 1 FROM optouts o WHERE o.account = requests.account AND o.kind <> 'rejected')")
          .bind(1, today).run();
      store_.db().prepare("UPDATE requests SET state = 'sent', sent_on = ?1, file = ?2 WHERE state = 'queued' AND not_before <= ?1")
          .bind(1, today).bind(2, name).run();
      store_.db().prepare("INSERT INTO request_files (name, rows) SELECT file, count(*) FROM requests WHERE file = ?1 "
                          "GROUP BY file ON CONFLICT (name) DO UPDATE SET rows = excluded.rows")
          .bind(1, name).run();
      t.commit();
    } catch (const std::exception& e) {
      std::cerr << fmt::format("ccaflow: error: cannot send the queued CCASRs: {}\n", e.what());
      return false;
    }
    // Every request file whose recorded rows are not all in the outbox's copy: new, or a day
    // whose requests grew after its file was written (an ingest between two runs).
    std::vector<std::string> files;
    auto pending = store_.db().prepare(
        "SELECT f.name FROM request_files f WHERE f.rows <> coalesce((SELECT o.rows FROM outbox o WHERE o.name = f.name), -1) "
        "ORDER BY f.name");
    while (pending.step()) files.push_back(pending.text(0));
    for (const std::string& file : files) {
      try {
        Ccasr814 b = parties();
        std::string day = file.substr(file.size() - 14, 10);
        b.created = parse_date(day).value_or(as_of_);
        b.control_number = static_cast<int>(900000000 + b.created.time_since_epoch().count() % 99999999);
        b.reference_prefix = fmt::format("{}R{}", model_.cca, day.substr(2, 2) + day.substr(5, 2) + day.substr(8, 2));
        auto s = store_.db().prepare("SELECT a.account, r.effective_on, r.type FROM requests r JOIN accounts a ON a.id = r.account "
                                     "WHERE r.file = ? ORDER BY r.id");
        s.bind(1, file);
        std::map<std::string, int> counts;
        while (s.step()) {
          b.lines.push_back({s.text(0), parse_date(s.text(1)).value_or(as_of_), ccasr_type_named(s.text(2)).value_or(Ccasr814::Type::kConnect)});
          ++counts[s.text(2)];
        }
        Written written = outbox_.write(file, x12_814(b));
        sql::Transaction t(store_.db());
        store_.record_outbox(file, std::nullopt, static_cast<std::int64_t>(b.lines.size()), written.bytes, written.sha256);
        std::vector<std::string> parts;
        for (const auto& [type, n] : counts) parts.push_back(fmt::format("{} {}", n, type));
        store_.event(kSystem, std::nullopt, "requests", fmt::format("{}: {}", file, fmt::join(parts, ", ")));
        t.commit();
        std::cout << fmt::format("  sent      {} CCASRs ({}) -> {}\n", b.lines.size(), fmt::join(parts, ", "), file);
      } catch (const std::exception& e) {
        std::cerr << fmt::format("ccaflow: error: cannot write {}: {}\n", file, e.what());
        return false;
      }
    }
    return true;
  }

  // A retried Connect takes effect on its read: the account switches then (its own date).
  bool retried_switches() {
    try {
      sql::Transaction t(store_.db());
      auto due = store_.db().prepare(
          "SELECT r.id, r.account, r.effective_on, a.account FROM requests r JOIN accounts a ON a.id = r.account "
          "WHERE r.type = 'connect' AND r.state IN ('sent', 'accepted') AND r.effective_on <= ? ORDER BY r.id");
      due.bind(1, format_date(as_of_));
      std::vector<std::tuple<std::int64_t, std::int64_t, std::string, std::string>> rows;
      while (due.step()) rows.emplace_back(due.integer(0), due.integer(1), due.text(2), due.text(3));
      for (const auto& [id, account, on, number] : rows) {
        store_.db().prepare("INSERT OR IGNORE INTO switch_dates VALUES (?, ?, 'retry')").bind(1, account).bind(2, on).run();
        store_.db().prepare("UPDATE requests SET state = 'effective' WHERE id = ?").bind(1, id).run();
        store_.event(kSystem, std::nullopt, "switch", fmt::format("account {}: switched on {} by its retried Connect", number, on));
      }
      t.commit();
      return true;
    } catch (const std::exception& e) {
      std::cerr << fmt::format("ccaflow: error: cannot record the retried Connects' switches: {}\n", e.what());
      return false;
    }
  }

  // The sender and receiver of every 814 this run writes: the CCA and the utility.
  Ccasr814 parties() const {
    Ccasr814 b;
    b.cca_code = model_.cca;
    b.cca_name = model_.title;
    b.cca_duns = model_.cca_duns;
    b.utility_code = model_.utility;
    b.utility_name = model_.utility_name;
    b.utility_duns = model_.utility_duns;
    return b;
  }

  bool task_deps_done(const TaskNode& node) const {
    for (int d : node.deps) {
      if (node.waits_per_account(d)) continue;
      if (rows_[static_cast<std::size_t>(d)].state != TaskState::kDone) return false;
    }
    return true;
  }

  // Runs one batch, retrying up to the task's `retry`; a failure is recorded, not thrown.
  bool execute(int v) {
    return attempt(v, [&] { batch(v); });
  }
  // Runs `first` for task v (its batch, or the closing of one), then the task's batch
  // again after a failure, up to its `retry`; a failure is recorded, not thrown.
  template <typename First>
  bool attempt(int v, const First& first) {
    TaskRow& row = rows_[static_cast<std::size_t>(v)];
    const TaskNode& node = graph_.nodes()[static_cast<std::size_t>(v)];
    for (bool again = false;;) {
      std::string error;
      try {
        if (again) batch(v);
        else first();
        return true;
      } catch (const sql::Error& e) {
        if (e.busy() || e.not_a_database()) throw;  // another writer, or a damaged file: nothing to record in it
        error = e.disk_full() ? fmt::format("{}: {}", e.what(), disk_full_hint(store_.path())) : e.what();
      } catch (const std::exception& e) {
        error = e.what();
      }
      progress_.clear();
      again = row.attempts <= node.retry;
      std::cerr << fmt::format("ccaflow: error: task {} failed (attempt {}): {}{}\n", row.key, row.attempts, error,
                               again ? "; trying again" : "");
      try {
        sql::Transaction t(store_.db());
        row.state = again ? TaskState::kDue : TaskState::kFailed;
        row.error = error;
        store_.set_state(row.id, row.state, error);
        store_.event(kSystem, row.id, again ? "retry" : "failed", error);
        t.commit();
      } catch (const std::exception& e) {
        std::cerr << fmt::format("ccaflow: error: cannot record the failure of {} either: {}\n", row.key, e.what());
        row.state = TaskState::kFailed;
        return false;
      }
      if (!again) return false;
    }
  }

  // What an effect of the task is called in the effects table.
  static const char* effect_kind(const TaskNode& node) {
    return node.kind == NodeKind::kNotice ? "notice" : node.kind == NodeKind::kCcasr ? "ccasr" : "switch";
  }

  // Per-account work of one task: which accounts, with which date.
  using Work = Effect;
  static bool by_account(const Work& a, const Work& b) { return a.account < b.account; }
  // Sorts work by account; a selection read in id order (the usual case) is left as it is.
  static void in_account_order(std::vector<Work>& work) {
    if (!std::is_sorted(work.begin(), work.end(), by_account)) std::sort(work.begin(), work.end(), by_account);
  }

  void batch(int v) {
    TaskRow& row = rows_[static_cast<std::size_t>(v)];
    const TaskNode& node = graph_.nodes()[static_cast<std::size_t>(v)];
    if (row.state != TaskState::kRunning) {
      sql::Transaction t(store_.db());
      store_.start_attempt(row.id);
      store_.set_state(row.id, TaskState::kRunning);
      store_.event(kSystem, row.id, "running", fmt::format("as of {}", format_date(as_of_)));
      t.commit();
      row.state = TaskState::kRunning;
      ++row.attempts;
    }
    bool skipped = false;
    std::optional<AccountSet> reached;  // the accounts with this task's effect, if the selection read them
    covering_.clear();
    open_found_.reset();
    // A notice's mail merge an interrupted batch began today is checked while the accounts are chosen.
    std::optional<TodaysMerge> merge = todays_merge(node, row);
    std::optional<Interrupted> interrupted = check_interrupted(row, merge);
    Closing closing{v, std::make_unique<std::vector<Work>>(select_work(node, row, skipped, reached)), std::nullopt, false, 0, {}, std::nullopt};
    closing.covering = std::move(covering_);
    const std::vector<Work>& work = *closing.work;
    // Its thread reads `work`: the closing holds both, and destroying it waits for the
    // thread first, on every way out of this function.
    std::optional<Prepared>& prepared = closing.prepared = prepare_file(node, row, work, skipped, merge, interrupted);
    // A check the prepared file did not take (no work today: the file is written the usual
    // way when the batch closes) is waited for now, and the FILE.tmp it reopened removed:
    // never two writers on one FILE.tmp.
    interrupted.reset();
    const char* kind = effect_kind(node);
    std::int64_t total = row.done + static_cast<std::int64_t>(work.size());
    auto started = std::chrono::steady_clock::now();
    for (std::size_t at = 0; at < work.size();) {
      // The batch before, once its file is written, is closed between two chunks rather
      // than after the last: a batch killed halfway leaves it done, not to do again.
      if (pending_ && pending_->prepared && pending_->prepared->filled.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
        progress_.clear();
        close_pending();
      }
      std::size_t end = std::min(work.size(), at + static_cast<std::size_t>(knobs_.batch_size));
      sql::Transaction t(store_.db());
      std::span<const Work> chunk(work.data() + at, end - at);
      long left = knobs_.crash_after_effects - effects_;  // the test knob: stop after exactly that many
      bool crash = knobs_.crash_after_effects > 0 && left <= static_cast<long>(chunk.size());
      if (crash) chunk = chunk.first(static_cast<std::size_t>(std::max(left, 0L)));
      store_.add_effects(row.id, kind, chunk);
      effects_ += static_cast<long>(chunk.size());
      if (crash) ::kill(::getpid(), SIGKILL);
      store_.add_done(row.id, static_cast<std::int64_t>(end - at));
      // How far today's mail merge holds these effects' lines, committed with them.
      if (prepared && prepared->progress) {
        if (auto mark = prepared->progress->through(work[end - 1].account)) {
          mark->done = row.done + static_cast<std::int64_t>(end - at);
          store_.set_merge_mark(prepared->name, row.id, *mark);
        }
      }
      t.commit();
      row.done += static_cast<std::int64_t>(end - at);
      at = end;
      progress_.show(row.key, row.done, total);
    }
    progress_.clear();
    closing.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    // When the selection passed over no account, every account it could find now has its
    // effect, so none remains (any_remaining looks among those accounts).
    if (reached) {
      for (const Work& w : work) reached->add(w.account);
    }
    open_found_.reset();  // (a batch retried while closing the one before, between chunks, may have set it)
    closing.complete = !skipped || !any_remaining(node, row, reached);
    closing.open_found = open_found_;
    // The batch before, whose file had the time of this one's effects to be written, is
    // closed first (its line comes before this one's); this one, when a file is being
    // written beside it, waits in turn.
    close_pending();
    if (prepared) {
      pending_.emplace(std::move(closing));
      return;
    }
    close_batch(closing);
  }

  // Accounts of the task with no effect yet that are due by the as-of date, in account order.
  // `skipped` tells whether the query passed over any account as not due yet; `reached`
  // receives the accounts the task had reached before, when the selection reads them.
  std::vector<Work> select_work(const TaskNode& node, const TaskRow& row, bool& skipped, std::optional<AccountSet>& reached) {
    std::vector<Work> out;
    const PhaseInfo& phase = model_.phases.at(static_cast<std::size_t>(node.phase));
    if (node.kind == NodeKind::kSwitch) {
      int ccasr = graph_.find(fmt::format("{}.connect.c{:02}", phase.id, node.cycle)) + 1;
      // A Connect that was cancelled in time, or rejected, never takes effect; an accepted
      // one switches on the actual read date the utility reported. The accounts this task
      // has reached, and the few whose Connect was cancelled or rejected, are a bit each:
      // the Connects are read in account order with no look-up of their own.
      const AccountSet& switched = reached.emplace(sent_to(row));
      AccountSet stopped(max_account_id());
      auto cancelled = store_.db().prepare("SELECT account FROM requests WHERE type = 'cancel' AND state = 'sent'");
      stopped.add_all(cancelled);
      auto rejected = store_.db().prepare("SELECT account FROM responses WHERE type = 'connect' AND accepted = 0");
      stopped.add_all(rejected);
      auto s = store_.db().prepare("SELECT e.account, d.on_date FROM effects e LEFT JOIN switch_dates d ON d.account = e.account "
                                   "WHERE e.task = ? ORDER BY e.account");
      s.bind(1, ccasr);
      Date read = phase.cycles.at(static_cast<std::size_t>(node.cycle - 1)).read;
      while (s.step()) {
        std::int64_t account = s.integer(0);
        if (switched.contains(account) || stopped.contains(account)) continue;
        Date on = s.is_null(1) ? read : parse_date(s.text(1)).value_or(read);
        if (on <= as_of_) out.push_back({account, on});
        else skipped = true;
      }
      return out;
    }
    if (node.kind == NodeKind::kCcasr) {
      // The cycle's imported accounts (from the phase index alone) that this task has not
      // reached (none, on its first batch), and no Connect for an account that opted out
      // before it was sent: a bit each, not two look-ups.
      const AccountSet& sent = reached.emplace(sent_to(row));
      const AccountSet& opted_out = opted_out_by_now();
      Date read = phase.cycles.at(static_cast<std::size_t>(node.cycle - 1)).read;
      each_imported(node.phase, node.cycle, out, [&](std::int64_t account, int) {
        if (!sent.contains(account) && !opted_out.contains(account)) out.push_back({account, read});
      });
      in_account_order(out);
      return out;
    }
    // A notice goes out on business days only, to each account once its read cycle's
    // window has opened (and, after enrollment, once that account has switched).
    if (!model_.calendar.is_business_day(as_of_)) {
      skipped = true;
      return out;
    }
    const NoticeInfo& notice = model_.notices.at(static_cast<std::size_t>(node.notice));
    std::vector<bool> due_cycle(phase.cycles.size() + 1, false);
    for (const CycleInfo& c : phase.cycles) {
      due_cycle[static_cast<std::size_t>(c.cycle)] = c.windows.at(static_cast<std::size_t>(node.notice)).send <= as_of_;
    }
    if (notice.decl->stage != ast::Stage::kPre) {
      skipped = true;  // accounts not switched yet are not even looked at
      return select_after_switch(node, row, due_cycle);
    }
    // Before enrollment: the accounts of the mass enrollment (read from the phase index
    // alone) that this notice has not reached and that have not opted out.
    const AccountSet& sent = reached.emplace(sent_to(row));
    const AccountSet& opted_out = opted_out_by_now();
    each_imported(node.phase, std::nullopt, out, [&](std::int64_t account, int cycle) {
      if (sent.contains(account) || opted_out.contains(account)) return;
      if (static_cast<std::size_t>(cycle) < due_cycle.size() && due_cycle[static_cast<std::size_t>(cycle)]) out.push_back({account, as_of_});
      else skipped = true;
    });
    in_account_order(out);
    return out;
  }

  // Whether `found(id, read cycle)` holds for any of a phase's imported accounts (of one
  // read cycle, if given), asked by cycle and id (`last_first`: from the last cycle's last
  // account back): each cycle's range of ids as the run's creation numbered them
  // (import_ranges), or, for a run created without those, the phase index's entries.
  template <typename Found>
  bool any_imported(int phase, std::optional<int> cycle, bool last_first, const Found& found) {
    return any_imported_in(store_.import_ranges(phase), phase, cycle, last_first, found);
  }
  // The same, given the phase's import_ranges.
  template <typename Found>
  bool any_imported_in(std::vector<Store::CycleIds> ranges, int phase, std::optional<int> cycle, bool last_first, const Found& found) {
    if (!ranges.empty()) {
      if (last_first) std::reverse(ranges.begin(), ranges.end());
      for (const Store::CycleIds& r : ranges) {
        if (cycle && r.cycle != *cycle) continue;
        for (std::int64_t i = 0, n = r.last - r.first + 1; i < n; ++i) {
          if (found(last_first ? r.last - i : r.first + i, r.cycle)) return true;
        }
      }
      return false;
    }
    auto s = store_.db().prepare(fmt::format("SELECT id, read_cycle FROM accounts WHERE phase = ? AND origin = 'import' {} {}",
                                             cycle ? "AND read_cycle = ?" : "", last_first ? "ORDER BY read_cycle DESC, id DESC" : ""));
    s.bind(1, phase);
    if (cycle) s.bind(2, *cycle);
    while (s.step()) {
      if (found(s.integer(0), static_cast<int>(s.integer(1)))) return true;
    }
    return false;
  }
  // Hands `each(id, read cycle)` those accounts, first to last, once `out` has room for as
  // many more (none made for a run created without import_ranges): a selection made at
  // once, not grown as it fills (at a million accounts, 6 MB copied and touched anew as it
  // doubled: half the time of the selection).
  template <typename Each>
  void each_imported(int phase, std::optional<int> cycle, std::vector<Work>& out, const Each& each) {
    std::vector<Store::CycleIds> ranges = store_.import_ranges(phase);
    std::size_t count = 0;
    for (const Store::CycleIds& r : ranges) {
      if (!cycle || r.cycle == *cycle) count += static_cast<std::size_t>(r.last - r.first + 1);
    }
    out.reserve(out.size() + count);
    any_imported_in(std::move(ranges), phase, cycle, false, [&](std::int64_t id, int c) {
      each(id, c);
      return false;
    });
  }

  std::int64_t max_account_id() {
    if (!max_account_id_) max_account_id_ = store_.max_account_id();
    return *max_account_id_;
  }
  // The accounts a task has reached, and those whose opt-out has taken effect.
  AccountSet sent_to(const TaskRow& row) {
    AccountSet reached(max_account_id());
    store_.reached(row.id, reached);
    return reached;
  }
  // Read once a run: only ingests add or withdraw opt-outs, and the as-of date is the run's.
  const AccountSet& opted_out_by_now() {
    if (!opted_out_) {
      auto s = store_.db().prepare("SELECT account FROM optouts WHERE kind <> 'rejected' AND taken_on <= ?");
      s.bind(1, format_date(as_of_));
      opted_out_.emplace(max_account_id());
      opted_out_->add_all(s);
    }
    return *opted_out_;
  }

  // After enrollment a notice goes to an account once it has switched (its cycle's switch
  // task holds its effect) and its cycle's window has opened. Each open cycle's switch
  // effects are read in account order beside this notice's effects in the same range of
  // ids and the opt-outs in force: sorted runs read in order, not a look-up per account. A
  // cycle the notice has covered (notice_cycles) and that nothing has changed since is not
  // read again. Accounts with a switch date of their own (an actual read that differs from
  // the schedule, a retried Connect, a move-in: few) have windows of their own, and count
  // as switched from that date when no switch task switches them.
  std::vector<Work> select_after_switch(const TaskNode& node, const TaskRow& row, const std::vector<bool>& due_cycle) {
    std::vector<Store::OwnSwitch> own = store_.own_switch_dates(node.phase);
    AccountSet own_accounts(max_account_id());
    for (const Store::OwnSwitch& o : own) own_accounts.add(o.account);
    std::vector<int> switch_task(due_cycle.size(), 0);  // read cycle -> its switch task's id
    for (int dep : node.account_deps) {
      auto cycle = static_cast<std::size_t>(graph_.nodes().at(static_cast<std::size_t>(dep)).cycle);
      if (cycle < switch_task.size()) switch_task[cycle] = dep + 1;
    }
    std::int64_t withdrawals = store_.withdrawals();
    std::vector<bool> covered(due_cycle.size(), false);
    for (const Store::CoveredCycle& c : store_.covered_cycles(row.id)) {
      auto cycle = static_cast<std::size_t>(c.cycle);
      if (cycle >= covered.size()) continue;
      covered[cycle] = c.switch_task == switch_task[cycle] && c.switch_task != 0 &&
                       c.switched == rows_[static_cast<std::size_t>(c.switch_task - 1)].done && c.withdrawals == withdrawals &&
                       c.as_of <= as_of_;
    }

    std::vector<Work> out;
    auto switched = store_.db().prepare("SELECT account FROM effects WHERE task = ? ORDER BY account");
    auto sent = store_.db().prepare("SELECT account FROM effects WHERE task = ? AND account BETWEEN ? AND ? ORDER BY account");
    std::vector<std::int64_t> accounts;
    for (std::size_t cycle = 0; cycle < switch_task.size(); ++cycle) {
      if (!due_cycle[cycle] || switch_task[cycle] == 0 || covered[cycle]) continue;
      accounts.clear();
      switched.bind(1, switch_task[cycle]);
      while (switched.step()) accounts.push_back(switched.integer(0));
      switched.reset();
      covering_.push_back({static_cast<int>(cycle), switch_task[cycle], static_cast<std::int64_t>(accounts.size()), withdrawals, as_of_});
      if (accounts.empty()) continue;
      const AccountSet& opted_out = opted_out_by_now();  // (read once a run, when first needed)
      // Both in account order: a merge.
      sent.bind(1, row.id).bind(2, accounts.front()).bind(3, accounts.back());
      bool more = sent.step();
      for (std::int64_t account : accounts) {
        while (more && sent.integer(0) < account) more = sent.step();
        if (more && sent.integer(0) == account) continue;
        if (!opted_out.contains(account) && !own_accounts.contains(account)) out.push_back({account, as_of_});
      }
      sent.reset();
    }
    auto probe = store_.db().prepare("SELECT 1 FROM effects WHERE task = ? AND account = ?");
    auto has = [&](int task, std::int64_t account) {
      probe.bind(1, task).bind(2, account);
      bool found = probe.step();
      probe.reset();
      return found;
    };
    for (const Store::OwnSwitch& o : own) {
      if (opted_out_by_now().contains(o.account) || has(row.id, o.account)) continue;
      auto cycle = static_cast<std::size_t>(o.cycle);
      Date on = o.on.value_or(as_of_);
      bool switched_here = on > as_of_ && cycle < switch_task.size() && switch_task[cycle] != 0 && has(switch_task[cycle], o.account);
      if ((on <= as_of_ || switched_here) && own_send_due(node, o.cycle, on)) out.push_back({o.account, as_of_});
    }
    in_account_order(out);
    return out;
  }

  // Whether an account of a post-enrollment notice's phase has a switch date of its own that
  // has come (an actual read earlier than planned, a move-in), before the task's own dates.
  bool own_date_due(const TaskNode& node) {
    if (node.kind != NodeKind::kNotice || node.account_deps.empty()) return false;
    return store_.own_switch_due(node.phase, as_of_);
  }

  // Whether a notice is due for an account with a switch date of its own.
  bool own_send_due(const TaskNode& node, int cycle, Date switch_on) {
    const NoticeInfo& notice = model_.notices.at(static_cast<std::size_t>(node.notice));
    EvalScope scope;
    scope.phase = node.phase;
    scope.cycle = cycle;
    scope.switch_on = switch_on;
    try {
      WindowDates w = program_.evaluator->window(notice.decl->window, scope);
      auto send = program_.evaluator->first_send(notice, w);
      return send && *send <= as_of_;
    } catch (const EvalError&) {
      return false;  // a window past the read schedule's end: not yet
    }
  }

  // Whether any account could still get an effect from this task: one without one that has
  // not opted out (and, after enrollment, whose Connect was not cancelled). The account the
  // last check found (open_accounts) is checked first, alone: it usually still is open. If
  // it is not, the task's accounts without an effect come from the phase's accounts (the
  // imported ones by their id ranges, as the selection takes them) and a bit each
  // (`reached`: the task's effects, read here unless the selection read them), and only
  // those get the whole check, from the last read cycle down (the last to open, so the
  // account found stays open longest). An account found is kept for the next check.
  bool any_remaining(const TaskNode& node, const TaskRow& row, std::optional<AccountSet>& reached) {
    const char* opted_out =
        "(EXISTS (SELECT 1 FROM optouts o WHERE o.account = a.id AND o.kind <> 'rejected') OR a.held IS NOT NULL)";
    const char* cancelled =
        "(EXISTS (SELECT 1 FROM requests r WHERE r.account = a.id AND r.type = 'cancel' AND r.state = 'sent') OR "
        "EXISTS (SELECT 1 FROM responses p WHERE p.account = a.id AND p.type = 'connect' AND p.accepted = 0 "
        "AND p.disposition = 'hold'))";
    std::optional<std::int64_t> last = store_.open_account(row.id);
    if (node.kind == NodeKind::kSwitch) {
      int ccasr = graph_.find(fmt::format("{}.connect.c{:02}", model_.phases.at(static_cast<std::size_t>(node.phase)).id, node.cycle)) + 1;
      auto find = [&](std::optional<std::int64_t> only) {
        auto s = store_.db().prepare(fmt::format(
            "SELECT c.account FROM effects c JOIN accounts a ON a.id = c.account WHERE c.task = {} {} AND NOT EXISTS "
            "(SELECT 1 FROM effects e WHERE e.task = ?1 AND e.account = a.id) AND NOT {} AND NOT EXISTS "
            "(SELECT 1 FROM responses p WHERE p.account = a.id AND p.type = 'connect' AND p.accepted = 0) LIMIT 1",
            ccasr, only ? "AND c.account = ?2" : "", cancelled));
        s.bind(1, row.id);
        if (only) s.bind(2, *only);
        if (!s.step()) return false;
        open_found_ = s.integer(0);
        return true;
      };
      return (last && find(last)) || find(std::nullopt);
    }
    bool pre = node.kind == NodeKind::kNotice &&
               model_.notices.at(static_cast<std::size_t>(node.notice)).decl->stage == ast::Stage::kPre;
    std::string accounts = fmt::format("a.phase = ?2 {} {}", node.kind == NodeKind::kCcasr ? "AND a.read_cycle = ?3" : "",
                                       node.kind == NodeKind::kCcasr || pre ? "AND a.origin = 'import'" : "");
    auto bind = [&](sql::Statement& s) {
      s.bind(2, node.phase);
      if (node.kind == NodeKind::kCcasr) s.bind(3, node.cycle);
    };
    // The whole check of one account (?4), the same for the one kept and for those the
    // bitset lets through.
    auto open = store_.db().prepare(fmt::format("SELECT 1 FROM accounts a WHERE a.id = ?4 AND {} AND NOT EXISTS "
                                                "(SELECT 1 FROM effects e WHERE e.task = ?1 AND e.account = a.id) "
                                                "AND NOT {} AND NOT {}", accounts, opted_out, cancelled));
    auto is_open = [&](std::int64_t id) {
      open.bind(1, row.id).bind(4, id);  // (reset clears every binding)
      bind(open);
      bool found = open.step();
      open.reset();
      if (found) open_found_ = id;
      return found;
    };
    if (last && is_open(*last)) return true;
    if (!reached) reached.emplace(sent_to(row));
    // An opt-out in force is an opt-out here too: those accounts need no check.
    const AccountSet& in_force = opted_out_by_now();
    auto open_here = [&](std::int64_t id, int) { return !reached->contains(id) && !in_force.contains(id) && is_open(id); };
    if (node.kind == NodeKind::kNotice && !pre) {  // after enrollment, the phase's move-ins too (first: the last to come)
      auto ids = store_.db().prepare("SELECT id FROM accounts WHERE phase = ? AND origin <> 'import' ORDER BY origin DESC, read_cycle DESC, id DESC");
      ids.bind(1, node.phase);
      while (ids.step()) {
        if (open_here(ids.integer(0), 0)) return true;
      }
    }
    return any_imported(node.phase, node.kind == NodeKind::kCcasr ? std::optional<int>(node.cycle) : std::nullopt, true, open_here);
  }

  // The files a task's recorded effects call for and the outbox does not hold yet, written
  // (one mail-merge CSV per notice and send date, one X12 814 per completed CCASR batch).
  struct OutboxFile {
    std::string name;
    std::int64_t rows;
    Written written;
    std::int64_t kept = 0;  // its first rows, as an interrupted run had written them
  };

  // A file of this batch filled on the second core while the batch's effects are recorded:
  // the thread reads the accounts through a read-only connection of its own, writes
  // FILE.tmp and flushes it to disk. The file is renamed into place only after the effects
  // it lists are committed, and only when the books still call for exactly that file;
  // otherwise it is dropped (dropping it waits for the thread and removes FILE.tmp) and
  // written the usual way.
  //
  // A mail merge's thread also marks how far FILE.tmp holds whole lines, after each chunk it
  // writes; the batch records the furthest mark its committed effects cover in the same
  // transaction (merge_marks). A batch killed and resumed the same day keeps those lines
  // and goes on after them, instead of writing the whole file again.
  class MergeProgress {
   public:
    void reached(Store::MergeMark mark) {
      std::lock_guard<std::mutex> hold(lock_);
      marks_.push_back(std::move(mark));
    }
    // The furthest new mark whose lines are all of accounts up to `account`.
    std::optional<Store::MergeMark> through(std::int64_t account) {
      std::lock_guard<std::mutex> hold(lock_);
      std::optional<Store::MergeMark> furthest;
      for (; !marks_.empty() && marks_.front().through <= account; marks_.pop_front()) furthest = std::move(marks_.front());
      return furthest;
    }

   private:
    std::mutex lock_;
    std::deque<Store::MergeMark> marks_;
  };
  struct Filled {
    OutboxWriter file;
    std::int64_t rows;
    std::int64_t kept = 0;  // rows an interrupted run had written, kept
  };
  struct Prepared {
    std::string name;
    std::future<Filled> filled;
    std::shared_ptr<MergeProgress> progress;  // a mail merge's marks
  };
  // What closing a batch takes, once its effects are recorded: its files written (or the
  // one prepared beside them taken), then its state, in one transaction.
  struct Closing {
    int v;
    std::unique_ptr<const std::vector<Work>> work;
    std::optional<Prepared> prepared;  // destroyed (waiting for its thread) before `work`
    bool complete = false;
    double seconds = 0;
    std::vector<Store::CoveredCycle> covering;  // the cycles its selection covers
    std::optional<std::int64_t> open_found;     // the account any_remaining found open
  };

  // Closes the batch left open, if any (and the one a retry of it may leave open in turn).
  void close_pending() {
    while (pending_) {
      Closing closing = std::move(*pending_);
      pending_.reset();
      pending_ok_ &= attempt(closing.v, [&] {
        try {
          close_batch(closing);
        } catch (...) {
          closing.prepared.reset();  // its thread waited for and its FILE.tmp removed before the batch is retried
          throw;
        }
      });
    }
  }

  void close_batch(Closing& closing) {
    if (knobs_.crash_before_close && closing.prepared && closing.prepared->progress && store_.merge_mark(closing.prepared->name)) {
      ::kill(::getpid(), SIGKILL);  // (test knob)
    }
    TaskRow& row = rows_[static_cast<std::size_t>(closing.v)];
    const TaskNode& node = graph_.nodes()[static_cast<std::size_t>(closing.v)];
    const char* kind = effect_kind(node);
    const std::vector<Work>& work = *closing.work;
    bool complete = closing.complete;
    double seconds = closing.seconds;
    std::vector<OutboxFile> files = write_outbox_files(node, row, complete, work, closing.prepared);
    sql::Transaction t(store_.db());
    for (const OutboxFile& f : files) {
      store_.record_outbox(f.name, row.id, f.rows, f.written.bytes, f.written.sha256);
      if (f.kept > 0) {
        store_.event(kSystem, row.id, "file",
                     fmt::format("{}: kept the first {} rows an interrupted run had written", f.name, f.kept));
      }
    }
    for (const Store::CoveredCycle& c : closing.covering) store_.cover_cycle(row.id, c);  // their effects are all in
    if (closing.open_found) store_.set_open_account(row.id, *closing.open_found);
    if (!work.empty()) {
      store_.event(kSystem, row.id, "effects",
                   fmt::format("{} {} effects recorded in {:.3f} s ({:.0f}/s)", work.size(), kind, seconds,
                               static_cast<double>(work.size()) / std::max(seconds, 1e-9)));
    }
    if (complete) {
      row.state = TaskState::kDone;
      row.error.clear();
      store_.set_state(row.id, row.state);
      store_.event(kSystem, row.id, "done", fmt::format("{} {} effects", row.done, kind));
    }
    t.commit();
    if (!work.empty() || !files.empty()) {
      std::string where = files.empty() ? "" : fmt::format(" -> {}", files.back().name);
      std::cout << fmt::format("  {:<9} {}: {} of {} accounts{}\n", complete ? "done" : "running", row.key,
                               with_commas(static_cast<std::size_t>(row.done)), with_commas(static_cast<std::size_t>(row.planned)),
                               where);
    }
  }

  // Today's mail merge of a notice as a batch interrupted today left it: its mark, and its
  // FILE.tmp reopened after the marked rows, on another thread (see check_interrupted). The
  // rows are kept when they are exactly those of the effects recorded up to the mark's
  // account and FILE.tmp still begins with their bytes (Outbox::reopen checks them);
  // otherwise the check gives no file.
  struct Interrupted {
    Store::MergeMark mark;
    std::future<std::optional<OutboxWriter>> file;
  };
  // What a notice's prepared mail merge's thread needs.
  struct MergeJob {
    std::string db;
    Outbox outbox;
    std::string name;
    const NoticeInfo* notice;
    Date today;
    const std::vector<Work>* work;
    bool outside_files;                                   // the task has effects no file lists
    std::optional<Interrupted> interrupted;               // today's file as an interrupted batch left it
    std::optional<OutboxWriter> file;                     // the file, started afresh (when there is none)
    std::string key;
    int task;
    std::size_t chunk;
    std::shared_ptr<MergeProgress> progress;
  };

  std::string merge_name(const TaskRow& row, const std::string& date) const { return fmt::format("notices/{}.{}.csv", row.key, date); }
  std::string ccasr_name(const TaskRow& row) const { return fmt::format("ccasr/{}.814", row.key); }

  // Today's mail merge of a notice's batch, when it can be filled beside the batch: not
  // written yet (once it is, the usual way adds to it), and whether the task has effects
  // no file lists. Looked up once for both the check of an interrupted file and the start
  // of the file; a look-up that fails leaves the file to the usual way.
  struct TodaysMerge {
    std::string name;
    bool outside_files;
  };
  std::optional<TodaysMerge> todays_merge(const TaskNode& node, const TaskRow& row) {
    if (node.kind != NodeKind::kNotice || sqlite3_threadsafe() == 0) return std::nullopt;
    try {
      std::string name = merge_name(row, format_date(as_of_));
      if (store_.outbox_rows(name)) return std::nullopt;
      return TodaysMerge{name, store_.outbox_rows_of_task(row.id) != row.done};
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  // Starts filling the file this batch's work calls for: today's mail merge of a notice
  // (`merge`), or the 814 of a Connect batch that is its task's first and whole batch. A
  // file that cannot even be started here is left to the usual way, whose error comes
  // where it always has: after the effects are recorded.
  std::optional<Prepared> prepare_file(const TaskNode& node, const TaskRow& row, const std::vector<Work>& work, bool skipped,
                                       const std::optional<TodaysMerge>& merge, std::optional<Interrupted>& interrupted) {
    try {
      return start_file(node, row, work, skipped, merge, interrupted);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  std::optional<Prepared> start_file(const TaskNode& node, const TaskRow& row, const std::vector<Work>& work, bool skipped,
                                     const std::optional<TodaysMerge>& merge, std::optional<Interrupted>& interrupted) {
    if (work.empty() || sqlite3_threadsafe() == 0) return std::nullopt;
    if (node.kind == NodeKind::kNotice) {
      if (!merge) return std::nullopt;
      const std::string& name = merge->name;
      bool outside_files = merge->outside_files;
      auto progress = std::make_shared<MergeProgress>();
      std::optional<OutboxWriter> fresh;
      if (!interrupted) fresh.emplace(outbox_.create(name));
      MergeJob job{store_.path(), outbox_, name, &model_.notices.at(static_cast<std::size_t>(node.notice)), as_of_, &work,
                   outside_files, std::move(interrupted), std::move(fresh), row.key, row.id, static_cast<std::size_t>(knobs_.merge_chunk),
                   progress};
      return Prepared{name, std::async(std::launch::async, fill_todays_merge, std::move(job)), progress};
    }
    if (node.kind == NodeKind::kCcasr) {
      std::string name = ccasr_name(row);
      if (row.done != 0 || skipped || store_.outbox_rows(name)) return std::nullopt;
      return Prepared{name, std::async(std::launch::async, fill_connect_814, store_.path(), outbox_.create(name),
                                       connect_batch(node, row), std::cref(work), row.key), nullptr};
    }
    return std::nullopt;
  }

  // What a prepared mail merge tells the batch after each chunk: how far the file holds it.
  static auto marks(MergeJob& job) {
    return [&job](OutboxWriter& file, std::int64_t written, std::int64_t through) {
      WrittenSoFar so_far = file.written_so_far();
      job.progress->reached({written, through, so_far.bytes, so_far.sha256, so_far.sha256_state, so_far.xxh3, std::nullopt});
    };
  }

  // The thread of a notice's prepared file: today's mail merge of `work`. When the task
  // has effects outside the files (a batch killed before its file was written, resumed
  // today), the file lists the effects recorded today too, joined with the work in account
  // order; the thread's snapshot may already hold some of this batch's effects, and the
  // join keeps each account once. Effects of other days leave the file short of what the
  // books call for, and it is dropped.
  //
  // The rows an interrupted batch's file holds by its mark are kept (see check_interrupted)
  // when none of this batch's accounts comes before them; the file goes on after them
  // (go_on).
  static Filled fill_todays_merge(MergeJob job) {
    const std::vector<Work>& work = *job.work;
    sql::Database read = sql::Database::open(job.db, true);
    sql::ReadTransaction snapshot(read);  // one snapshot for every range
    if (job.interrupted) {
      Interrupted& before = *job.interrupted;
      if (work.empty() || work.front().account > before.mark.through) {
        try {
          return go_on(job, read, before);
        } catch (const NotKept&) {
        }
      } else {
        before.file.get();  // dropped (removing FILE.tmp) before the file is written afresh
      }
      return fill_todays_lines(job, read, recorded_today(read, job.task, job.today), job.outbox.create(job.name));
    }
    std::vector<Work> recorded = job.outside_files ? recorded_today(read, job.task, job.today) : std::vector<Work>{};
    return fill_todays_lines(job, read, recorded, job.file ? std::move(*job.file) : job.outbox.create(job.name));
  }

  // The mail merge of today's effects recorded before this batch (`recorded`) and of its work,
  // in account order, from its start.
  static Filled fill_todays_lines(MergeJob& job, sql::Database& read, const std::vector<Work>& recorded, OutboxWriter file) {
    std::int64_t rows = fill_lines(job, read, recorded, 0, [&file](bool) { return &file; });
    file.sync();  // here, beside the effects, rather than in the batch's commit
    return Filled{std::move(file), rows};
  }

  // The lines of today's effects recorded before this batch (`recorded`, each account once
  // with the work: the thread's snapshot may already hold some of this batch's effects) and
  // of its work, in account order, after the file's first `after` rows, to the file
  // `file(must)` gives (see fill_merge). Returns the file's rows.
  template <typename File>
  static std::int64_t fill_lines(MergeJob& job, sql::Database& read, const std::vector<Work>& recorded, std::int64_t after,
                                 const File& file) {
    const std::vector<Work>& work = *job.work;
    std::vector<Work> joined;
    if (!recorded.empty()) {
      joined.reserve(recorded.size() + work.size());
      std::set_union(recorded.begin(), recorded.end(), work.begin(), work.end(), std::back_inserter(joined), by_account);
    }
    const std::vector<Work>& lines = recorded.empty() ? work : joined;
    MailMerge merge = mail_merge(*job.notice, job.today, after);
    return fill_merge(file, merge, job.chunk, [&](const auto& add) { read_accounts(read, lines, job.key, add); }, marks(job));
  }

  // An interrupted batch's file gone on with after its marked rows: the lines after them
  // (today's effects recorded after the mark's account, and the work) are made while the
  // check reads the marked bytes, and held until it ends. When it does not keep them
  // (NotKept), the file is made again from its start.
  struct NotKept {};
  static Filled go_on(MergeJob& job, sql::Database& read, Interrupted& before) {
    std::optional<OutboxWriter> file;
    auto checked = [&](bool must) -> OutboxWriter* {
      if (!file) {
        if (!must && before.file.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return nullptr;
        std::optional<OutboxWriter> kept = before.file.get();
        if (!kept) throw NotKept{};
        file.emplace(std::move(*kept));
      }
      return &*file;
    };
    std::int64_t rows = fill_lines(job, read, recorded_today(read, job.task, job.today, before.mark.through), before.mark.rows, checked);
    file->sync();
    return Filled{std::move(*file), rows, before.mark.rows};
  }

  // A task's effects recorded on `day` (of the accounts after `after`), in account order.
  static std::vector<Work> recorded_today(sql::Database& db, int task, Date day,
                                          std::int64_t after = std::numeric_limits<std::int64_t>::min()) {
    auto s = db.prepare("SELECT account FROM effects WHERE task = ? AND account > ? AND on_date = ? ORDER BY account");
    s.bind(1, task).bind(2, after).bind(3, format_date(day));
    std::vector<Work> recorded;
    while (s.step()) recorded.push_back({s.integer(0), day});
    return recorded;
  }

  // Started (on the second core, while the batch chooses its accounts) when a notice's
  // task has effects no file lists and today's file has a mark.
  std::optional<Interrupted> check_interrupted(const TaskRow& row, const std::optional<TodaysMerge>& merge) {
    {
      auto early = early_checks_.extract(row.id);
      if (!early.empty() && merge && merge->outside_files && early.mapped().done == row.done) return std::move(early.mapped().check);
    }  // (one no longer wanted is dropped here, before anything else touches the file: its
       // thread is waited for, and the FILE.tmp it reopened is removed)
    if (!merge || !merge->outside_files) return std::nullopt;
    try {
      const std::string& name = merge->name;
      std::optional<Store::MergeMark> mark = store_.merge_mark(name);
      if (!mark || mark->rows <= 0) return std::nullopt;
      auto check = std::async(std::launch::async, [db = store_.path(), outbox = outbox_, name, mark = *mark, task = row.id, done = row.done,
                                                   today = as_of_]() mutable -> std::optional<OutboxWriter> {
        sql::Database read = sql::Database::open(db, true);
        sql::ReadTransaction snapshot(read);
        // The mark's rows are today's effects up to its account when the task has recorded
        // none since the mark; otherwise they are counted.
        bool unchanged = mark.done == done;
        if (!unchanged) {
          auto count = read.prepare("SELECT count(*) FROM effects WHERE task = ? AND account <= ? AND on_date = ?");
          count.bind(1, task).bind(2, mark.through).bind(3, format_date(today));
          count.step();
          unchanged = count.integer(0) == mark.rows;
        }
        return unchanged ? outbox.reopen(name, WrittenSoFar{mark.bytes, mark.sha256, mark.sha256_state, mark.xxh3}) : std::nullopt;
      });
      return Interrupted{*mark, std::move(check)};
    } catch (const std::exception&) {
      return std::nullopt;  // the file is written afresh
    }
  }

  // The check of each notice batch a killed run left unfinished today starts with the run,
  // beside the steps before that batch (the second core is idle then), instead of when the
  // batch begins. The batch takes it while the task has recorded no effect since.
  struct EarlyCheck {
    std::int64_t done;  // the task's effects when it started
    Interrupted check;
  };
  void start_checks() {
    for (const TaskRow& row : rows_) {
      if (row.state != TaskState::kRunning) continue;
      const TaskNode& node = graph_.nodes().at(static_cast<std::size_t>(row.id - 1));
      if (auto check = check_interrupted(row, todays_merge(node, row))) early_checks_.emplace(row.id, EarlyCheck{row.done, std::move(*check)});
    }
  }

  // The thread of a Connect batch's prepared 814.
  static Filled fill_connect_814(const std::string& db, OutboxWriter file, Ccasr814 batch, const std::vector<Work>& work,
                                 const std::string& key) {
    sql::Database read = sql::Database::open(db, true);
    {
      sql::ReadTransaction snapshot(read);
      fill_814(read, batch, work, key);
    }
    write_x12_814(batch, [&file](std::string_view piece) { file.append(piece); });
    file.sync();
    return Filled{std::move(file), static_cast<std::int64_t>(batch.lines.size())};
  }

  // A notice's mail merge for one send date (going on after `after` rows a file holds).
  static MailMerge mail_merge(const NoticeInfo& notice, Date send, std::int64_t after = 0) {
    return MailMerge(notice.id, notice.decl->template_path.value_or(""), notice.decl->sender.value_or("cca"), send, after);
  }

  // A mail merge's rows, from the rows `fill` reads (columns 0..6: account, customer_class,
  // rate_schedule, city, county, read_cycle, id), written a chunk at a time to the file
  // `file(must)` gives; after each chunk, `drained(file, rows, through)` is told the merge's
  // rows so far and the last one's account. `file(false)` may give none yet: the chunks
  // wait, up to kHeldChunks of them, and then `file(true)` waits for it. Returns the
  // merge's rows.
  static constexpr std::size_t kHeldChunks = 16;
  template <typename File, typename Fill, typename Drained>
  static std::int64_t fill_merge(const File& file, MailMerge& merge, std::size_t chunk, const Fill& fill, const Drained& drained) {
    std::optional<std::int64_t> through;  // the last row's account, since the last chunk
    std::size_t due = chunk;              // the buffer's size at which to try to drain it next
    auto drain = [&](bool must) {
      OutboxWriter* out = file(must);
      if (out == nullptr) {
        due += chunk;  // asked again a chunk later
        return;
      }
      merge.drain([out](std::string_view text) { out->append(text); });
      due = chunk;
      if (through) drained(*out, merge.rows(), *std::exchange(through, std::nullopt));
    };
    fill([&](const sql::Statement& s) {
      merge.add(s.view(0), static_cast<int>(s.integer(1)), s.view(2), s.view(3), s.view(4), static_cast<int>(s.integer(5)));
      through = s.integer(6);
      if (merge.buffered() >= due) drain(merge.buffered() >= kHeldChunks * chunk);
    });
    drain(true);
    return merge.rows();
  }

  // The 814 of a completed Connect batch, but for its lines.
  Ccasr814 connect_batch(const TaskNode& node, const TaskRow& row) const {
    Ccasr814 b = parties();
    b.control_number = row.id;
    b.created = node.send;
    b.reference_prefix = fmt::format("{}{:05}", model_.cca, row.id);
    return b;
  }
  // Its lines: each effect's account number (read as ranges of neighbouring ids) and date.
  static void fill_814(sql::Database& db, Ccasr814& b, const std::vector<Work>& effects, const std::string& task) {
    b.lines.reserve(effects.size());
    std::size_t i = 0;
    read_accounts(db, effects, task, [&](const sql::Statement& a) { b.lines.push_back({a.text(0), effects[i++].on}); });
  }

  std::vector<OutboxFile> write_outbox_files(const TaskNode& node, const TaskRow& row, bool complete, const std::vector<Work>& work,
                                             std::optional<Prepared>& prepared) {
    std::vector<OutboxFile> files;
    // The prepared file, when it is the one called for: renamed into place.
    // It must list exactly the effects the books call for. (A thread that failed leaves the
    // file to the usual way, which meets the same cause.)
    auto take_prepared = [&](const std::string& name, std::int64_t rows) {
      if (!prepared) return false;
      std::optional<Filled> filled;
      try {
        if (prepared->name == name) {
          if (prepared->filled.wait_for(std::chrono::seconds(0)) != std::future_status::ready) store_.checkpoint_while_waiting();
          filled.emplace(prepared->filled.get());
        }
      } catch (const std::exception&) {
      }
      prepared.reset();  // dropped, unless it is taken here
      if (!filled || filled->rows != rows) return false;
      files.push_back({name, filled->rows, filled->file.commit(), filled->kept});
      return true;
    };
    if (node.kind == NodeKind::kNotice) {
      const NoticeInfo& notice = model_.notices.at(static_cast<std::size_t>(node.notice));
      auto write_merge = [&](const std::string& name, Date send, const auto& fill) {
        OutboxWriter file = outbox_.create(name);
        MailMerge merge = mail_merge(notice, send);
        std::int64_t rows = fill_merge([&file](bool) { return &file; }, merge, static_cast<std::size_t>(knobs_.merge_chunk), fill,
                                       [](OutboxWriter&, std::int64_t, std::int64_t) {});
        files.push_back({name, rows, file.commit()});
      };
      // The books are checked, not assumed. The usual day: the files hold every earlier
      // effect and today's file is not written yet, so today's file is the prepared one, or
      // else this batch's work (all of it dated today) read here.
      std::int64_t in_files = store_.outbox_rows_of_task(row.id);
      if (in_files == row.done) return files;  // nothing new, nothing missing
      std::string today_name = merge_name(row, format_date(as_of_));
      bool today_open = !store_.outbox_rows(today_name);
      // Today's prepared file, when it holds every effect the files do not: the files' rows
      // never exceed their date's effects, so the sums agree only if each file is whole.
      if (today_open && take_prepared(today_name, row.done - in_files)) return files;
      if (today_open && in_files + static_cast<std::int64_t>(work.size()) == row.done) {
        sql::Transaction read(store_.db());  // one transaction for every read, not one each
        write_merge(today_name, as_of_, [&](const auto& add) { read_accounts(store_.db(), work, row.key, add); });
        read.commit();
        return files;
      }
      prepared.reset();  // not the file called for: dropped before its name is written again
      // Otherwise (a batch killed before its file was written, and resumed, perhaps on a
      // later day) a date's file is (re)written whenever it does not hold every effect of
      // that date: a resumed batch adds to the day's mail merge. The task's effects are read
      // once, in account order, into their dates (which come in runs: a day's accounts
      // mostly follow each other).
      std::map<std::string, std::vector<Work>> dates;
      auto d = store_.db().prepare("SELECT account, on_date FROM effects WHERE task = ? ORDER BY account");
      d.bind(1, row.id);
      std::vector<Work>* into = nullptr;
      std::string last;
      while (d.step()) {
        if (into == nullptr || d.view(1) != last) into = &dates[last = std::string(d.view(1))];
        into->push_back({d.integer(0), as_of_});
      }
      for (const auto& dated : dates) {
        const std::string& date = dated.first;
        const std::vector<Work>& effects = dated.second;  // not a structured binding: clang 14 cannot capture one
        std::string name = merge_name(row, date);
        if (store_.outbox_rows(name) == static_cast<std::int64_t>(effects.size())) continue;
        write_merge(name, parse_date(date).value_or(as_of_), [&](const auto& add) { read_accounts(store_.db(), effects, row.key, add); });
      }
    } else if (node.kind == NodeKind::kCcasr && complete && row.done > 0) {
      std::string name = ccasr_name(row);
      if (!store_.outbox_rows(name)) {
        // The prepared 814 lists this batch's work: taken when that is every effect of the task.
        if (take_prepared(name, row.done)) return files;
        // The batch's effects, then their accounts' numbers read as ranges of neighbouring ids.
        Ccasr814 b = connect_batch(node, row);
        std::vector<Work> effects;
        auto s = store_.db().prepare("SELECT account, on_date FROM effects WHERE task = ? ORDER BY account");
        s.bind(1, row.id);
        while (s.step()) effects.push_back({s.integer(0), parse_date(s.text(1)).value_or(node.latest)});
        fill_814(store_.db(), b, effects, row.key);
        auto n = static_cast<std::int64_t>(b.lines.size());
        files.push_back({name, n, outbox_.write(name, x12_814(b))});
      }
    }
    return files;
  }

  // Hands `add` the row (account, customer_class, rate_schedule, city, county, read_cycle,
  // id) of each account of `work`, which is in account order. A day's accounts mostly have
  // neighbouring ids (the run numbers them by phase and cycle), so each run of near ids is
  // read as one range of rows, not looked up one by one; a gap wider than kNearIds starts
  // a new range, so rows read and passed over stay a few for each one used.
  template <typename Add>
  static void read_accounts(sql::Database& db, const std::vector<Work>& work, const std::string& task, const Add& add) {
    auto s = db.prepare("SELECT account, customer_class, rate_schedule, city, county, read_cycle, id "
                                 "FROM accounts WHERE id BETWEEN ? AND ? ORDER BY id");
    auto missing = [&](std::int64_t account) {
      return std::runtime_error(fmt::format("account {} of {} is not in the run", account, task));
    };
    for (std::size_t at = 0; at < work.size();) {
      std::size_t end = at + 1;
      while (end < work.size() && work[end].account - work[end - 1].account <= kNearIds) {
        if (work[end].account <= work[end - 1].account) {
          throw std::logic_error(fmt::format("the accounts of {} to read are not in account order", task));
        }
        ++end;
      }
      s.bind(1, work[at].account).bind(2, work[end - 1].account);
      for (std::size_t i = at; i < end; ++i) {
        std::int64_t id = 0;
        while (s.step() && (id = s.integer(6)) < work[i].account) {
        }
        if (id != work[i].account) throw missing(work[i].account);
        add(s);
      }
      s.reset();
      at = end;
    }
  }
  static constexpr std::int64_t kNearIds = 16;

  Store& store_;
  const Program& program_;
  const Model& model_;
  const TaskGraph& graph_;
  Outbox& outbox_;
  Date as_of_;
  RunKnobs knobs_;
  std::vector<TaskRow> rows_;
  std::optional<std::int64_t> max_account_id_;
  std::optional<AccountSet> opted_out_;
  std::vector<Store::CoveredCycle> covering_;  // the cycles this batch's selection covers
  std::optional<std::int64_t> open_found_;     // the account any_remaining found open
  // A batch whose prepared file is still being written stays open until the next batch has
  // recorded its effects, a task that depends on it is next, or the run ends: the file's
  // thread goes on beside that work instead of the run waiting for it.
  std::optional<Closing> pending_;
  std::map<int, EarlyCheck> early_checks_;  // by task id
  bool pending_ok_ = true;  // false once closing a pending batch failed for good
  long effects_ = 0;
  Progress progress_;
};

// --- shared by the commands -------------------------------------------------------------

// Inside a catch block: reports the database failure being handled and returns its exit
// status (4 for a database this ccaflow cannot use or that is busy, 3 otherwise: resumable).
int store_failure(const std::string& db) {
  try {
    throw;
  } catch (const SchemaError& e) {
    std::cerr << "ccaflow: error: " << e.what() << "\n";
    return kDatabase;
  } catch (const sql::Error& e) {
    std::cerr << "ccaflow: error: " << describe_failure(db, e) << "\n";
    return failure_status(e);
  }
}

// What is wrong with a --db path before anything is opened, and the exit status it calls for.
std::optional<std::pair<std::string, int>> db_path_problem(const std::string& db, bool must_exist) {
  if (db.empty()) return std::make_pair(std::string("--db needs a file name"), kUsage);
  if (db.front() == ':' || db.rfind("file:", 0) == 0) {
    return std::make_pair(fmt::format("--db {}: give the path of a database file (SQLite's special names are not runs)", db), kUsage);
  }
  std::error_code ec;
  fs::path path(db);
  if (db.back() == '/' || fs::is_directory(path, ec)) return std::make_pair(fmt::format("--db {} is a folder, not a database file", db), kUsage);
  fs::path folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  if (!fs::is_directory(folder, ec)) return std::make_pair(fmt::format("--db {}: there is no folder {}", db, folder.string()), kUsage);
  bool exists = fs::exists(path, ec);
  if (must_exist && !exists) return std::make_pair(fmt::format("{}: no such run database", db), kDatabase);
  if (exists && !fs::is_regular_file(path, ec)) return std::make_pair(fmt::format("--db {} is not a regular file", db), kUsage);
  if (exists && ::access(db.c_str(), W_OK) != 0) {
    return std::make_pair(fmt::format("{} is read-only: ccaflow must write the run database it continues", db), kDatabase);
  }
  return std::nullopt;
}

int report_compile(const CompileResult& result) {
  std::cerr << result.render_diagnostics();
  for (const std::string& e : result.program->usage_errors) std::cerr << "ccaflow: error: " << e << "\n";
  if (!result.program->usage_errors.empty()) return kUsage;
  return result.ok() ? kOk : kInputError;
}

// Takes the writer's lock; on refusal prints why and sets the exit status.
std::optional<RunLock> lock(const std::string& db, const char* command, bool must_exist, int& status) {
  status = kDatabase;
  if (auto problem = db_path_problem(db, must_exist)) {
    std::cerr << fmt::format("ccaflow: error: {}\n", problem->first);
    status = problem->second;
    return std::nullopt;
  }
  std::string holder;
  bool busy = false;
  auto lock = RunLock::acquire(db, fmt::format("ccaflow {}", command), holder, busy);
  if (!lock && busy) {
    std::cerr << fmt::format("ccaflow: error: {} is in use by another process ({}); try again when it has finished\n", db, holder);
  } else if (!lock) {
    std::cerr << fmt::format("ccaflow: error: {}: {}\n", db, holder);
  }
  return lock;
}

// The stored tasks must be the compiled graph's, node for node.
bool same_tasks(const std::vector<TaskRow>& rows, const TaskGraph& graph) {
  if (rows.size() != graph.nodes().size()) return false;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].key != graph.nodes()[i].id) return false;
  }
  return true;
}

// What differs between the stored tasks and a newly compiled graph, for `run FILE`.
std::string task_differences(const std::vector<TaskRow>& rows, const TaskGraph& graph) {
  std::map<std::string, const TaskRow*> stored;
  for (const TaskRow& r : rows) stored[r.key] = &r;
  std::vector<std::string> added, removed, moved;
  std::set<std::string> seen;
  for (const TaskNode& n : graph.nodes()) {
    seen.insert(n.id);
    auto it = stored.find(n.id);
    if (it == stored.end()) {
      added.push_back(fmt::format("    added:   {} ({} {}..{})", n.id, node_kind_name(n.kind), format_date(n.earliest), format_date(n.latest)));
    } else if (it->second->earliest != n.earliest || it->second->latest != n.latest) {
      moved.push_back(fmt::format("    moved:   {}: {}..{} -> {}..{}", n.id, format_date(it->second->earliest),
                                  format_date(it->second->latest), format_date(n.earliest), format_date(n.latest)));
    }
  }
  for (const TaskRow& r : rows) {
    if (!seen.contains(r.key)) removed.push_back(fmt::format("    removed: {} ({})", r.key, r.kind));
  }
  std::string out;
  std::size_t shown = 0;
  for (const auto* list : {&added, &removed, &moved}) {
    for (const std::string& line : *list) {
      if (shown++ < 20) out += line + "\n";
    }
  }
  if (shown > 20) out += fmt::format("    ... and {} more\n", shown - 20);
  if (shown == 0) out = "    no task was added, removed or moved; the files' text differs (senders, templates, comments)\n";
  return out;
}

std::string default_outbox(const std::string& db) { return db + ".outbox"; }

// An absolute, normal path without a trailing separator, so `ob`, `./ob` and `ob/` are one.
std::string normal_path(const std::string& path) {
  std::string out = fs::absolute(path).lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// The outbox as the run database keeps it: relative to the database's folder when it lies
// in that folder (the default, DB.outbox, does), so that a run copied or restored elsewhere
// together with its outbox writes beside itself, never into the folder it came from; an
// outbox elsewhere is kept absolute.
std::string outbox_to_store(const std::string& db, const std::string& outbox) {
  fs::path folder = fs::path(normal_path(db)).parent_path();
  fs::path inside = fs::path(normal_path(outbox)).lexically_relative(folder);
  if (inside.empty() || *inside.begin() == "..") return normal_path(outbox);
  return inside.string();
}

// The outbox folder a run database names, as an absolute path.
std::string stored_outbox(const std::string& db, const std::string& stored) {
  if (fs::path(stored).is_absolute()) return stored;
  return normal_path((fs::path(normal_path(db)).parent_path() / stored).string());
}

void print_summary(Store& store, Date as_of) {
  std::map<TaskState, int> counts;
  std::vector<std::string> waiting, failed;
  for (const TaskRow& r : store.tasks()) {
    ++counts[r.state];
    if (r.state == TaskState::kWaiting) waiting.push_back(r.key);
    if (r.state == TaskState::kFailed) failed.push_back(fmt::format("{} ({})", r.key, r.error));
  }
  std::cout << fmt::format("as of {}: {} done, {} running, {} waiting for approval, {} pending, {} failed\n", format_date(as_of),
                           counts[TaskState::kDone], counts[TaskState::kRunning], counts[TaskState::kWaiting],
                           counts[TaskState::kPending] + counts[TaskState::kDue], counts[TaskState::kFailed]);
  if (!waiting.empty()) std::cout << fmt::format("  to approve: {}\n", fmt::join(waiting, ", "));
  if (!failed.empty()) std::cout << fmt::format("  failed: {}\n", fmt::join(failed, "; "));
}

int execute_stored(Store& store, const CompileResult& compiled, Date as_of, const std::string& command) {
  RunInfo info = store.run();
  {
    sql::Transaction t(store.db());
    store.event(kSystem, std::nullopt, "as_of", format_date(as_of));
    store.event(kSystem, std::nullopt, "command", command);
    t.commit();
  }
  Outbox outbox(stored_outbox(store.path(), info.outbox_dir));
  Executor executor(store, *compiled.program, *compiled.graph, outbox, as_of, RunKnobs::from_environment());
  bool ok = executor.run();
  print_summary(store, as_of);
  return ok ? kOk : kTaskFailed;
}

// Creates the run database: schema, the workflow's files, phases, tasks and accounts, all
// in one transaction, in DB.creating, renamed to DB once complete. On any error, or a kill,
// nothing is left at DB; a leftover DB.creating is removed by the next first run.
int create_run(const RunRequest& request, const CompileResult& compiled) {
  const Program& program = *compiled.program;
  const Model& model = program.model;
  std::string customers = request.customers.value_or(model.customers.value_or(""));
  if (customers.empty()) {
    std::cerr << "ccaflow: error: the first run of a workflow needs its customers: give --customers CSV "
                 "(or name them in the workflow: customers \"file.csv\")\n";
    return kUsage;
  }
  std::error_code ec;
  if (!fs::is_regular_file(customers, ec)) {
    std::cerr << fmt::format("ccaflow: error: {}: {}\n", customers,
                             fs::exists(customers, ec) ? "the customer file must be a regular file" : "no such customer file");
    return kInputError;
  }
  auto customers_hash = sha256_file(customers);
  std::string outbox_dir = normal_path(request.outbox.value_or(default_outbox(request.db)));
  std::string creating = request.db + ".creating";
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((creating + suffix).c_str());
  bool ok = false;
  int status = kInputError;
  try {
    std::optional<Store> store;
    store.emplace(Store::create(creating));
    sql::Transaction t(store->db());
    store->db().exec("PRAGMA defer_foreign_keys = ON");  // a task may depend on one added after it
    store->create_schema();
    RunInfo info{*request.workflow, program.options.stdlib_dir, inputs_hash(program.inputs), customers,
                 customers_hash.value_or(""), outbox_to_store(request.db, outbox_dir), model.title, model.cca, model.utility, ""};
    store->save_run(info, program.inputs);
    for (std::size_t p = 0; p < model.phases.size(); ++p) store->add_phase(static_cast<int>(p), model.phases[p].id, model.phases[p].enroll);

    std::vector<std::string> errors;
    AssignOptions options;
    options.progress = true;
    options.each = [&](const Account& a, const Assignment& assigned) {
      AccountRow row{0, a.id, static_cast<int>(a.customer_class), a.rate_schedule, a.city, a.county, a.read_cycle,
                     account_flags(a)};
      if (assigned.kind == Assignment::Kind::kPhase) {
        store->stage_account(row, assigned.index, std::nullopt);
      } else {
        store->stage_account(row, std::nullopt, model.exclusions.at(static_cast<std::size_t>(assigned.index)).reason);
      }
    };
    auto plan = assign_customers(program, customers, errors, options);
    for (const std::string& e : errors) std::cerr << e;
    if (!plan) throw std::invalid_argument("customers");

    for (std::size_t v = 0; v < compiled.graph->nodes().size(); ++v) {
      const TaskNode& n = compiled.graph->nodes()[v];
      TaskRow row;
      row.id = static_cast<int>(v) + 1;
      row.key = n.id;
      row.kind = node_kind_name(n.kind);
      row.phase = n.phase >= 0 ? model.phases[static_cast<std::size_t>(n.phase)].id : "";
      row.cycle = n.cycle;
      row.earliest = n.earliest;
      row.latest = n.latest;
      row.planned = static_cast<std::int64_t>(task_accounts(n, &*plan).value_or(0));
      for (int d : n.deps) row.deps.push_back(d + 1);
      store->add_task(row);
    }
    store->finish_setup();
    store->event(kSystem, std::nullopt, "created",
                 fmt::format("{} from {}: {} accounts ({} eligible), {} tasks", model.title, *request.workflow,
                             plan->accounts, plan->eligible, compiled.graph->nodes().size()));
    t.commit();
    store->db().exec("PRAGMA wal_checkpoint(TRUNCATE)");
    store.reset();  // closes: the database is whole in one file
    if (::rename(creating.c_str(), request.db.c_str()) != 0) {
      throw sql::Error(SQLITE_CANTOPEN, fmt::format("cannot rename {} to {}: {}", creating, request.db, std::strerror(errno)));
    }
    std::cout << fmt::format("created {}: {} ({}), {} accounts ({} eligible), {} tasks; outbox {}\n", request.db, model.title,
                             model.cca, with_commas(plan->accounts), with_commas(plan->eligible), compiled.graph->nodes().size(),
                             outbox_dir);
    ok = true;
  } catch (const std::invalid_argument&) {
  } catch (const sql::Error& e) {
    std::string hint = e.disk_full() ? ": " + disk_full_hint(request.db, "run the same command again") : "";
    std::cerr << fmt::format("ccaflow: error: cannot create {}: {}{}\n", request.db, e.what(), hint);
    if (e.disk_full()) status = kTaskFailed;
  }
  if (ok) return kOk;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((creating + suffix).c_str());
  return status;
}

}  // namespace

int run_workflow(const RunRequest& request) {
  int refused = kOk;
  auto held = lock(request.db, "run", false, refused);
  if (!held) return refused;
  CompileResult compiled = compile(*request.workflow);
  if (int status = report_compile(compiled); status != kOk) return status;

  std::error_code ec;
  bool fresh = !fs::exists(request.db, ec);
  if (fresh) {
    int status = create_run(request, compiled);
    if (status != kOk) return status;
    if (!held->attach(request.db)) return kDatabase;
  }
  try {
    Store store = Store::open(request.db);
    RunInfo info = store.run();
    std::vector<TaskRow> rows = store.tasks();
    if (info.inputs_hash != inputs_hash(compiled.program->inputs)) {
      std::cerr << fmt::format("ccaflow: error: {} is not the workflow stored in {} (started {} from {}):\n{}"
                               "  `ccaflow resume --db {}` continues the stored workflow\n",
                               *request.workflow, request.db, info.created_at, info.workflow_path,
                               task_differences(rows, *compiled.graph), request.db);
      return kWorkflowDiffers;
    }
    if (request.customers && !fresh) {
      auto hash = sha256_file(*request.customers);
      if (!hash || *hash != info.customers_hash) {
        std::cerr << fmt::format("ccaflow: error: {} already holds the accounts of {}; {} {}: a run keeps the "
                                 "accounts it started with\n",
                                 request.db, info.customers_path, *request.customers,
                                 hash ? "has other contents" : "cannot be read");
        return kInputError;
      }
    }
    if (request.outbox && !fresh && normal_path(*request.outbox) != stored_outbox(request.db, info.outbox_dir)) {
      std::cerr << fmt::format("ccaflow: error: {} writes to the outbox {}; it cannot move to {}\n", request.db,
                               stored_outbox(request.db, info.outbox_dir), *request.outbox);
      return kUsage;
    }
    if (!same_tasks(rows, *compiled.graph)) {
      std::cerr << fmt::format("ccaflow: error: the tasks stored in {} do not match its workflow\n", request.db);
      return kDatabase;
    }
    return execute_stored(store, compiled, request.as_of, fmt::format("run {} as of {}", *request.workflow, format_date(request.as_of)));
  } catch (const std::runtime_error&) {
    return store_failure(request.db);
  }
}

int resume_workflow(const RunRequest& request) {
  int refused = kOk;
  auto held = lock(request.db, "resume", true, refused);
  if (!held) return refused;
  try {
    Store store = Store::open(request.db);
    RunInfo info = store.run();
    StoredFiles files(store.inputs());
    CompileOptions options;
    options.files = &files;
    options.stdlib_dir = info.stdlib_dir;
    CompileResult compiled = compile(info.workflow_path, options);
    if (!compiled.ok() || !compiled.graph) {
      std::cerr << compiled.render_diagnostics();
      std::cerr << fmt::format("ccaflow: error: the workflow stored in {} does not compile with this ccaflow\n", request.db);
      return kDatabase;
    }
    std::vector<TaskRow> rows = store.tasks();
    if (!same_tasks(rows, *compiled.graph)) {
      std::cerr << fmt::format("ccaflow: error: the tasks stored in {} do not match its workflow\n", request.db);
      return kDatabase;
    }
    {
      sql::Transaction t(store.db());
      for (const TaskRow& r : rows) {
        if (r.state != TaskState::kFailed) continue;
        store.set_state(r.id, TaskState::kDue, r.error);
        store.event(kSystem, r.id, "resumed", fmt::format("retrying after: {}", r.error));
      }
      t.commit();
    }
    return execute_stored(store, compiled, request.as_of, fmt::format("resume as of {}", format_date(request.as_of)));
  } catch (const std::runtime_error&) {
    return store_failure(request.db);
  }
}

int approve_gate(const std::string& db, const std::string& task, const std::string& by, const std::string& note) {
  int refused = kOk;
  auto held = lock(db, "approve", true, refused);
  if (!held) return refused;
  try {
    Store store = Store::open(db);
    std::vector<TaskRow> rows = store.tasks();
    auto it = std::find_if(rows.begin(), rows.end(), [&](const TaskRow& r) { return r.key == task; });
    if (it == rows.end()) {
      std::vector<std::string> gates;
      for (const TaskRow& r : rows) {
        if (is_gate(r)) gates.push_back(r.key);
      }
      std::cerr << fmt::format("ccaflow: error: {} has no task `{}`{}; its milestones and gates are {}\n", db, task,
                               did_you_mean(task, gates), fmt::join(gates, ", "));
      return kInputError;
    }
    TaskRow& row = *it;
    if (!is_gate(row)) {
      std::cerr << fmt::format("ccaflow: error: `{}` is a {} task; only milestones and gates are approved\n", task, row.kind);
      return kInputError;
    }
    if (row.state != TaskState::kWaiting) {
      std::string why;
      if (row.state == TaskState::kDone) {
        auto s = store.db().prepare("SELECT actor, at FROM events WHERE task = ? AND kind = 'approved' ORDER BY seq DESC LIMIT 1");
        s.bind(1, row.id);
        why = s.step() ? fmt::format("it was approved by {} at {}", s.text(0), s.text(1)) : "it is done";
      } else {
        std::vector<std::string> open;
        for (int d : row.deps) {
          const TaskRow& dep = rows[static_cast<std::size_t>(d - 1)];
          if (dep.state != TaskState::kDone) open.push_back(fmt::format("{} ({})", dep.key, task_state_name(dep.state)));
        }
        why = open.empty() ? fmt::format("it is {}; run the workflow first", task_state_name(row.state))
                           : fmt::format("it waits for {}", fmt::join(open, ", "));
      }
      std::cerr << fmt::format("ccaflow: error: `{}` is not waiting for approval: {}\n", task, why);
      return kInputError;
    }
    sql::Transaction t(store.db());
    row.state = TaskState::kDone;
    store.set_state(row.id, row.state);
    store.event("operator:" + by, row.id, "approved", note);
    std::vector<std::string> next = promote_gates(store, rows);
    t.commit();
    std::cout << fmt::format("approved {} by {}{}\n", task, by, note.empty() ? "" : fmt::format(" ({})", note));
    if (!next.empty()) std::cout << fmt::format("  now waiting for approval: {}\n", fmt::join(next, ", "));
    return kOk;
  } catch (const std::runtime_error&) {
    return store_failure(db);
  }
}

}  // namespace ccaflow
