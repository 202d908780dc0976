#include "runtime/lifecycle.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "compiler/eval.h"
#include "runtime/csv.h"
#include "runtime/exit_codes.h"
#include "runtime/hash.h"
#include "runtime/lock.h"
#include "runtime/optouts.h"
#include "runtime/plan.h"
#include "runtime/assign.h"
#include "runtime/customers.h"
#include "runtime/stored_run.h"
#include "runtime/x12.h"

namespace ccaflow {
namespace fs = std::filesystem;
using namespace exit_code;

namespace {

std::string money(long cents) { return fmt::format("${}.{:02}", cents / 100, cents % 100); }

std::optional<Date> last_as_of(StoredRun& run) {
  if (auto last = run.store.last_as_of()) return parse_date(*last);
  return std::nullopt;
}

std::string ingest_actor(const std::string& file) { return fmt::format("ingest:{}", fs::path(file).filename().string()); }

// What an opt-out means for one account, and why.
struct Decision {
  std::string kind;  // pre, free, reentry, rejected
  Date taken{};
  long fee = 0;
  std::optional<Date> cycle_end, return_on;
  std::string rule;
  std::optional<std::pair<std::string, Date>> request;  // type and effective date
  bool withdraw_retry = false;  // a retried Connect still queued is never sent
};

// Before the switch: no Connect goes out; one already sent is cancelled.
void before_switch(const AccountFacts& f, Decision& d, const std::string& why) {
  d.kind = "pre";
  if (f.retry && f.retry->state == "queued") d.withdraw_retry = true;
  if (f.connect_effective) {
    d.request = std::make_pair("cancel", *f.connect_effective);
    d.rule = why + fmt::format(": the Connect sent for {} is cancelled; no post-enrollment notices, no fee",
                               format_date(*f.connect_effective));
  } else {
    d.rule = why + ": no Connect is sent, no further notices, no fee";
  }
}

Decision decide(StoredRun& run, const AccountFacts& f, const OptoutRow& o) {
  const Model& model = run.model();
  const OptoutTerms& terms = model.optouts;
  const Program& program = *run.compiled.program;
  Decision d;
  d.taken = o.received;
  if (f.phase < 0) {
    d.kind = "rejected";
    d.rule = fmt::format("the account is not enrolled in the CCA (excluded: {}); there is nothing to opt out of", f.excluded);
    return d;
  }
  if (auto opens = notice_period_opens(model, f.phase, f.row.read_cycle); opens && !f.move_in && o.received < *opens) {
    if (!terms.hold_early) {
      d.kind = "rejected";
      d.rule = fmt::format("received before the notice period opens on {}; opt-outs are not taken before it "
                           "(Res. E-4250; {}: early reject)", format_date(*opens), terms.name);
      return d;
    }
    d.taken = *opens;
    before_switch(f, d, fmt::format("received before the notice period: held until it opens on {} (Res. E-4250; {}: early hold)",
                                    format_date(*opens), terms.name));
    return d;
  }
  if (!f.switched && !f.will_switch) {
    before_switch(f, d, fmt::format("received while the account is not enrolled (its Connect was rejected{})",
                                    f.held.empty() ? "" : ", held for an operator"));
    return d;
  }
  if (!f.switched && o.received < f.switch_on) {
    before_switch(f, d, fmt::format("received before the switch on {}", format_date(f.switch_on)));
    return d;
  }
  EvalScope scope;
  scope.phase = f.phase;
  scope.cycle = f.row.read_cycle;
  Date free_until = program.evaluator->shift(f.switch_on, terms.free_period, 1, scope, ast::Expr{});
  // The end of the billing cycle: the next read a Disconnect sent now can still reach.
  auto reach = reachable_read(program, f.phase, f.row.read_cycle, o.received, o.received);
  Date end = reach ? reach->first : model.reads.last_date();
  d.cycle_end = end;
  long day = (o.received - f.switch_on).count();
  if (o.received <= free_until) {
    d.kind = "free";
    d.return_on = end;
    d.request = std::make_pair("disconnect", end);
    d.rule = fmt::format("day {} after the switch on {}, within the follow-up period of {} ({}: free {} after switch): "
                         "back to bundled service at the end of the billing cycle, {}, no fee",
                         day, format_date(f.switch_on), duration_to_string(terms.free_period), terms.name,
                         duration_to_string(terms.free_period), format_date(end));
    return d;
  }
  Date notice_end = program.evaluator->shift(end, terms.return_notice, 1, scope, ast::Expr{});
  Date back = model.reads.read_on_or_after(f.row.read_cycle, notice_end).value_or(notice_end);
  d.kind = "reentry";
  d.return_on = back;
  std::string class_name = customer_class_name(static_cast<CustomerClass>(f.row.customer_class));
  auto fee = terms.fee_cents.find(class_name);
  d.fee = fee == terms.fee_cents.end() ? 0 : fee->second;
  d.request = std::make_pair("disconnect", back);
  d.rule = fmt::format("day {} after the switch on {}, after the {} follow-up period: a re-entry request with the "
                       "Six-Month Advance Notice ({}: return {} after cycle end): the cycle ends {}, service returns "
                       "on the read of {}, re-entry fee {} for {} accounts",
                       day, format_date(f.switch_on), duration_to_string(terms.free_period), terms.name,
                       duration_to_string(terms.return_notice), format_date(end), format_date(back), money(d.fee), class_name);
  return d;
}

}  // namespace

namespace {

// A run opened to ingest a file into: the writer's lock, then the run.
struct IngestTarget {
  std::optional<RunLock> lock;
  std::optional<StoredRun> run;
};

std::optional<IngestTarget> open_for_ingest(const std::string& db, const char* command, int& status) {
  status = kDatabase;
  if (!std::filesystem::is_regular_file(db)) {
    std::cerr << fmt::format("ccaflow: error: {}: no such run database\n", db);
    return std::nullopt;
  }
  std::string holder;
  bool busy = false;
  IngestTarget target;
  auto acquired = RunLock::acquire(db, command, holder, busy);
  if (!acquired) {
    if (busy) {
      std::cerr << fmt::format("ccaflow: error: {} is in use by another process ({}); try again when it has finished\n", db, holder);
    } else {
      std::cerr << fmt::format("ccaflow: error: {}: {}\n", db, holder);
    }
    return std::nullopt;
  }
  target.lock.emplace(std::move(*acquired));
  auto opened = open_stored_run(db, false, status);
  if (!opened) return std::nullopt;
  target.run.emplace(std::move(*opened));
  status = kOk;
  return target;
}

// The ingest that already took this file (by its bytes), if any: "FILE at TIME".
std::optional<std::string> already_ingested(Store& store, const char* kind, const std::string& hash) {
  auto seen = store.db().prepare("SELECT file, at FROM ingests WHERE kind = ? AND sha256 = ?");
  seen.bind(1, kind).bind(2, hash);
  if (!seen.step()) return std::nullopt;
  return fmt::format("as {}, at {}", seen.text(0), seen.text(1));
}

// Opens the run for an ingest of `file`. nullopt means stop with `status`: 0 when the file
// (by its bytes) was already ingested, which changes nothing.
struct Ingest {
  IngestTarget target;
  std::string hash;
  StoredRun& run() { return *target.run; }
};

std::optional<Ingest> begin_ingest(const std::string& db, const char* kind, const std::string& file, int& status) {
  auto target = open_for_ingest(db, fmt::format("ccaflow ingest {}", kind).c_str(), status);
  if (!target) return std::nullopt;
  std::string hash = sha256_file(file).value_or("");
  if (auto seen = already_ingested(target->run->store, kind, hash)) {
    std::cout << fmt::format("{} was already ingested ({}): nothing changed\n", file, *seen);
    status = kOk;
    return std::nullopt;
  }
  return Ingest{std::move(*target), hash};
}

// "3 free, 1 pre" from counts by outcome.
std::string summary(const std::map<std::string, int>& counts) {
  std::vector<std::string> parts;
  for (const auto& [what, n] : counts) parts.push_back(fmt::format("{} {}", n, what));
  return fmt::format("{}", fmt::join(parts, ", "));
}

// A file refused before anything changed: its errors, and that nothing was ingested.
int file_errors(const std::string& file, const std::vector<DataError>& errors) {
  for (const DataError& e : errors) std::cerr << render_data_error(file, e);
  std::cerr << fmt::format("ccaflow: error: {} was not ingested: nothing changed\n", file);
  return kInputError;
}

// An ingest whose transaction failed: nothing of it was applied.
int ingest_failed(const std::string& db, const sql::Error& e) {
  std::cerr << fmt::format("ccaflow: error: {}; nothing was ingested\n", describe_failure(db, e, "ingest the same file again"));
  return failure_status(e);
}

// Records an ingest (inside the caller's transaction) and its event; returns its id.
std::int64_t record_ingest(Store& store, const char* kind, const std::string& file, const std::string& hash, std::size_t rows,
                           const std::string& what) {
  store.db().prepare("INSERT INTO ingests (kind, file, sha256, rows, at) VALUES (?, ?, ?, ?, ?)")
      .bind(1, kind).bind(2, fs::path(file).filename().string()).bind(3, hash).bind(4, static_cast<std::int64_t>(rows))
      .bind(5, now_text()).run();
  std::int64_t id = store.db().last_insert_id();
  store.event(ingest_actor(file), std::nullopt, "ingest", fmt::format("{} from {} (sha256 {}): {} rows", what, file, hash, rows));
  return id;
}

}  // namespace

int ingest_optouts(const std::string& db, const std::string& file, std::optional<Date> as_of) {
  int status = kOk;
  auto ingest_of = begin_ingest(db, "optouts", file, status);
  if (!ingest_of) return status;
  StoredRun* run = &ingest_of->run();
  std::optional<std::string> hash = ingest_of->hash;
  if (run->model().optouts.name.empty()) {
    std::cerr << fmt::format("ccaflow: error: the workflow in {} names no opt-out policy: its workflow block needs "
                             "`optouts terms.standard` (or a policy of its own)\n", db);
    return kInputError;
  }

  // Read and check the whole file before changing anything. Nothing is received after the
  // later of today and the day after the run's last as-of date (the day about to be run).
  Date latest_received = as_of.value_or(std::max(std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now()),
                                                 add_days(last_as_of(*run).value_or(Date{}), 1)));
  CsvReader csv(file, "opt-out file");
  std::vector<OptoutRow> rows = read_optouts(csv, latest_received, [&](const OptoutRow& row) -> std::optional<std::string> {
    if (account_facts(*run, row.account)) return std::nullopt;
    return fmt::format("no account `{}` in this run", row.account);
  });
  if (!csv.ok()) return file_errors(file, csv.errors());

  std::map<std::string, int> counts;
  try {
    Store& store = run->store;
    sql::Transaction t(store.db());
    std::int64_t ingest = record_ingest(store, "optouts", file, hash.value_or(""), rows.size(), "opt-outs");
    std::string actor = ingest_actor(file);
    auto existing = store.db().prepare("SELECT kind, received_on FROM optouts WHERE account = ?");
    auto insert = store.db().prepare("INSERT INTO optouts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    auto request = store.db().prepare(
        "INSERT OR IGNORE INTO requests (account, type, effective_on, not_before, state, reason) VALUES (?, ?, ?, ?, 'queued', ?)");
    for (const OptoutRow& o : rows) {
      AccountFacts f = *account_facts(*run, o.account);
      existing.bind(1, f.row.id);
      if (existing.step()) {
        std::string kind = existing.text(0), when = existing.text(1);
        existing.reset();
        if (kind != "rejected") {
          ++counts["already opted out"];
          store.event(actor, std::nullopt, "optout", fmt::format("account {}: already opted out (received {}); line {} ignored", o.account, when, o.line));
          continue;
        }
        store.db().prepare("DELETE FROM optouts WHERE account = ?").bind(1, f.row.id).run();
      }
      existing.reset();
      Decision d = decide(*run, f, o);
      insert.bind(1, f.row.id).bind(2, format_date(o.received)).bind(3, o.channel).bind(4, d.kind).bind(5, format_date(d.taken))
          .bind(6, static_cast<std::int64_t>(d.fee)).bind(7, d.cycle_end ? std::optional(format_date(*d.cycle_end)) : std::nullopt)
          .bind(8, d.return_on ? std::optional(format_date(*d.return_on)) : std::nullopt).bind(9, d.rule).bind(10, ingest)
          .bind(11, static_cast<std::int64_t>(o.line)).run();
      if (d.withdraw_retry) {
        store.db().prepare("UPDATE requests SET state = 'withdrawn', reason = reason || '; withdrawn: the customer opted out' "
                           "WHERE id = ?").bind(1, f.retry->id).run();
      }
      if (d.request) {
        request.bind(1, f.row.id).bind(2, d.request->first).bind(3, format_date(d.request->second))
            .bind(4, format_date(o.received)).bind(5, fmt::format("opt-out received {}", format_date(o.received))).run();
      }
      ++counts[d.kind];
      store.event(actor, std::nullopt, "optout", fmt::format("account {}: {} opt-out received {}: {}", o.account, d.kind,
                                                             format_date(o.received), d.rule));
    }
    t.commit();
  } catch (const sql::Error& e) {
    return ingest_failed(db, e);
  }
  std::cout << fmt::format("ingested {}: {} opt-outs ({})\n", file, rows.size(), summary(counts));
  return kOk;
}

namespace {

// Whether a CCASR of this type went to the utility for the account.
bool ccasr_sent(StoredRun& run, const AccountFacts& f, const std::string& type) {
  if (f.phase < 0) return false;
  auto r = run.store.db().prepare("SELECT 1 FROM requests WHERE account = ? AND type = ? AND state IN ('sent', 'accepted', 'effective')");
  r.bind(1, f.row.id).bind(2, type);
  if (r.step()) return true;
  if (type != "connect") return false;
  return f.connect_sent || f.switched;
}

// A switch already pending for the account: a Connect sent or queued whose date has not
// come and that was not rejected. A second one would be a duplicate, which the utility
// rejects; ccaflow never sends it.
std::optional<std::string> pending_switch(StoredRun& run, const AccountFacts& f, Date today) {
  auto r = run.store.db().prepare("SELECT effective_on, state FROM requests WHERE account = ? AND type = 'connect' "
                                  "AND state IN ('queued', 'sent', 'accepted') AND effective_on > ? ORDER BY id DESC LIMIT 1");
  r.bind(1, f.row.id).bind(2, format_date(today));
  if (r.step()) return fmt::format("a Connect {} for {}", r.text(1), r.text(0));
  if (f.connect_effective && !f.switched && *f.connect_effective > today) {
    auto rejected = run.store.db().prepare("SELECT 1 FROM responses WHERE account = ? AND type = 'connect' AND accepted = 0");
    rejected.bind(1, f.row.id);
    if (!rejected.step()) return fmt::format("the Connect sent for {}", format_date(*f.connect_effective));
  }
  return std::nullopt;
}

}  // namespace

int ingest_responses(const std::string& db, const std::vector<std::string>& files) {
  int status = kOk;
  auto target = open_for_ingest(db, "ccaflow ingest responses", status);
  if (!target) return status;
  StoredRun& run = *target->run;
  const ResponseCodes& codes = run.model().responses;
  // Every file is checked before anything changes.
  struct Loaded {
    std::string file, hash;
    std::vector<CcasrResponse> responses;
  };
  std::vector<Loaded> loaded;
  std::set<std::string> hashes;
  bool bad = false;
  for (const std::string& file : files) {
    std::string hash = sha256_file(file).value_or("");
    if (auto seen = already_ingested(run.store, "responses", hash)) {
      std::cout << fmt::format("{} was already ingested ({}): nothing changed\n", file, *seen);
      continue;
    }
    std::vector<DataError> errors;
    auto responses = read_814_responses(file, errors);
    for (const CcasrResponse& r : responses) {
      auto f = account_facts(run, r.account);
      if (!f) {
        errors.push_back({r.line, 0, fmt::format("no account `{}` in this run", r.account), {}});
      } else if (!ccasr_sent(run, *f, r.type)) {
        // The utility answers what it was sent; an answer to nothing means the files are mixed up.
        errors.push_back({r.line, 0, fmt::format("no {} was sent for account `{}`: this response answers nothing", r.type, r.account), {}});
      }
    }
    if (!errors.empty()) {
      file_errors(file, errors);
      bad = true;
      continue;
    }
    if (!hashes.insert(hash).second) {
      std::cout << fmt::format("{} is the same file as one given before it: taken once\n", file);
      continue;
    }
    loaded.push_back({file, hash, std::move(responses)});
  }
  if (bad) return kInputError;
  std::map<std::string, int> counts;
  try {
    Store& store = run.store;
    sql::Transaction t(store.db());
    for (const Loaded& l : loaded) {
      std::int64_t ingest = record_ingest(store, "responses", l.file, l.hash, l.responses.size(), "CCASR responses");
      std::string actor = ingest_actor(l.file);
      for (const CcasrResponse& r : l.responses) {
        AccountFacts f = *account_facts(run, r.account);
        std::string disposition = "accepted";
        std::string detail;
        if (!r.accepted) {
          bool retry = std::find(codes.retry.begin(), codes.retry.end(), r.reason) != codes.retry.end();
          bool hold = std::find(codes.hold.begin(), codes.hold.end(), r.reason) != codes.hold.end();
          disposition = retry ? "retry" : "hold";
          detail = retry ? fmt::format("reason {} is retried on the next read ({}: retry)", r.reason, codes.name)
                   : hold ? fmt::format("reason {} waits for an operator ({}: hold)", r.reason, codes.name)
                          : fmt::format("reason {} is in neither list of {}: it waits for an operator", r.reason,
                                        codes.name.empty() ? "the workflow's response policy" : codes.name);
        }
        store.db().prepare("INSERT INTO responses (account, type, accepted, reason, actual_on, disposition, ingest, reference) "
                           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(1, f.row.id).bind(2, r.type).bind(3, r.accepted ? 1 : 0).bind(4, r.reason)
            .bind(5, r.actual ? std::optional(format_date(*r.actual)) : std::nullopt).bind(6, disposition).bind(7, ingest)
            .bind(8, r.reference).run();
        // The request this answers, when it is one of the lifecycle's.
        auto answered = store.db().prepare("SELECT id, effective_on FROM requests WHERE account = ? AND type = ? "
                                           "AND state IN ('sent', 'accepted', 'effective') ORDER BY id DESC LIMIT 1");
        answered.bind(1, f.row.id).bind(2, r.type);
        std::optional<std::int64_t> request;
        std::optional<Date> requested;
        if (answered.step()) {
          request = answered.integer(0);
          requested = parse_date(answered.text(1));
        }
        if (request) {
          store.db().prepare("UPDATE requests SET state = ? WHERE id = ?").bind(1, r.accepted ? "accepted" : "rejected").bind(2, *request).run();
          if (!r.accepted && r.type == "connect") {
            // A retried Connect rejected after it was taken to be effective: the account did not switch.
            store.db().prepare("DELETE FROM switch_dates WHERE account = ? AND source = 'retry'").bind(1, f.row.id).run();
          }
        }
        if (r.type == "connect" && r.accepted) {
          Date planned = requested.value_or(f.connect_effective.value_or(f.switch_on));
          if (*r.actual != planned || request) {
            store.db().prepare("INSERT OR REPLACE INTO switch_dates VALUES (?, ?, ?)")
                .bind(1, f.row.id).bind(2, format_date(*r.actual)).bind(3, request ? "retry" : "response").run();
          }
          detail = *r.actual == planned
                       ? fmt::format("switches on {} as planned", format_date(*r.actual))
                       : fmt::format("the utility reads it on {}, not {}: the switch date, the post-enrollment windows and "
                                     "day 60 move with it", format_date(*r.actual), format_date(planned));
        } else if (r.type == "connect" && disposition == "retry" && f.phase >= 0) {
          // The next read a new Connect can still reach, after the rejected one's.
          Date today = std::max(last_as_of(run).value_or(Date{}), f.connect_effective.value_or(Date{}));
          Date after = std::max(requested.value_or(f.connect_effective.value_or(f.switch_on)), today);
          AccountFacts now = *account_facts(run, r.account);
          auto next = reachable_read(*run.compiled.program, f.phase, f.row.read_cycle, after, last_as_of(run).value_or(after));
          if (now.opted_out) {
            detail += ": no retry, the customer has opted out";
          } else if (auto pending = pending_switch(run, now, last_as_of(run).value_or(after))) {
            detail += fmt::format(": no retry, {} is already pending (a second pending switch is a duplicate)", *pending);
          } else if (next) {
            store.db().prepare("INSERT OR IGNORE INTO requests (account, type, effective_on, not_before, state, reason) "
                               "VALUES (?, 'connect', ?, ?, 'queued', ?)")
                .bind(1, f.row.id).bind(2, format_date(next->first)).bind(3, format_date(next->second))
                .bind(4, fmt::format("retry after reject {}", r.reason)).run();
            detail += fmt::format(": a new Connect goes {} for the read of {}", format_date(next->second), format_date(next->first));
          } else {
            detail += ": no read left in the schedule to retry on";
          }
        } else if (!r.accepted && disposition == "hold") {
          store.db().prepare("UPDATE accounts SET held = ? WHERE id = ?").bind(1, fmt::format("{} {} rejected: {}", r.type, r.reason, detail))
              .bind(2, f.row.id).run();
        }
        ++counts[fmt::format("{} {}", r.type, r.accepted ? "accepted" : disposition == "retry" ? "rejected, retried" : "rejected, held")];
        store.event(actor, std::nullopt, "response",
                    fmt::format("account {}: {} {}{}{}", r.account, r.type, r.accepted ? "accepted" : "rejected",
                                detail.empty() ? "" : ": ", detail));
      }
    }
    t.commit();
  } catch (const sql::Error& e) {
    return ingest_failed(db, e);
  }
  std::cout << fmt::format("ingested {} response file{}: {}\n", loaded.size(), loaded.size() == 1 ? "" : "s",
                           counts.empty() ? "no responses" : summary(counts));
  return kOk;
}

namespace {

// Why a move-in cannot be enrolled from its service start as the workflow promises: before
// its phase's mass enrollment (it belongs in the customer file), past the read schedule, or
// so late that its first post-enrollment window has already closed.
std::optional<std::string> movein_problem(StoredRun& run, const Account& a, int phase_index) {
  const Model& model = run.model();
  const PhaseInfo& phase = model.phases.at(static_cast<std::size_t>(phase_index));
  if (a.service_start < phase.enroll) {
    return fmt::format("service starts {}, before phase {} enrolls ({}): it belongs in the mass enrollment's customer file",
                       format_date(a.service_start), phase.id, format_date(phase.enroll));
  }
  Date today = last_as_of(run).value_or(Date{});
  EvalScope scope;
  scope.phase = phase_index;
  scope.cycle = a.read_cycle;
  scope.switch_on = a.service_start;
  for (const NoticeInfo& n : model.notices) {
    if (n.decl->stage != ast::Stage::kPost) continue;
    try {
      WindowDates w = run.compiled.program->evaluator->window(n.decl->window, scope);
      if (w.end < today) {
        return fmt::format("its notice {} had to go out by {}, before this run's date ({}): ingest move-ins as they happen",
                           n.id, format_date(w.end), format_date(today));
      }
    } catch (const EvalError& e) {
      return fmt::format("service starts {}: {}", format_date(a.service_start), e.message);
    }
  }
  return std::nullopt;
}

}  // namespace

int ingest_moveins(const std::string& db, const std::string& file) {
  int status = kOk;
  auto ingest_of = begin_ingest(db, "move-ins", file, status);
  if (!ingest_of) return status;
  StoredRun& run = ingest_of->run();
  const Model& model = run.model();
  const std::string& hash = ingest_of->hash;
  // Check the whole file first.
  CustomerReader reader(file, model.reads.cycle_count(), 20, true);
  Assigner assigner(*run.compiled.program);
  struct MoveIn {
    Account account;
    Assignment assigned;
  };
  std::vector<MoveIn> rows;
  std::vector<DataError> errors;
  Account a;
  while (reader.next(a)) {
    Assignment assigned = assigner.classify(a);
    if (assigned.kind == Assignment::Kind::kNoPhase || assigned.kind == Assignment::Kind::kManyPhases) {
      errors.push_back({a.line, 1, fmt::format("account `{}` is in {} phase: every eligible account is in exactly one",
                                               a.id, assigned.kind == Assignment::Kind::kNoPhase ? "no" : "more than one"), {}});
      continue;
    }
    if (assigned.kind == Assignment::Kind::kPhase) {
      if (auto problem = movein_problem(run, a, assigned.index)) {
        errors.push_back({a.line, 1, fmt::format("account `{}`: {}", a.id, *problem), {}});
        continue;
      }
    }
    rows.push_back({a, assigned});
  }
  for (const DataError& e : reader.errors()) errors.push_back(e);
  if (!errors.empty()) return file_errors(file, errors);

  Date today = last_as_of(run).value_or(Date{});
  std::map<std::string, int> counts;
  try {
    Store& store = run.store;
    sql::Transaction t(store.db());
    record_ingest(store, "move-ins", file, hash, rows.size(), "move-ins");
    std::string actor = ingest_actor(file);
    std::int64_t next_id = store.max_account_id();
    std::set<int> reopened;
    for (const MoveIn& m : rows) {
      if (auto existing = account_facts(run, m.account.id)) {
        if (auto pending = pending_switch(run, *existing, std::max(today, m.account.service_start))) {
          store.db().prepare("INSERT OR IGNORE INTO requests (account, type, effective_on, not_before, state, reason) "
                             "VALUES (?, 'connect', ?, ?, 'refused', ?)")
              .bind(1, existing->row.id).bind(2, format_date(m.account.service_start)).bind(3, format_date(m.account.service_start))
              .bind(4, fmt::format("move-in on {}: refused as a duplicate, {} is already pending", format_date(m.account.service_start), *pending))
              .run();
          store.event(actor, std::nullopt, "move-in", fmt::format("account {}: a second pending switch is a duplicate and is not sent ({} is pending)",
                                                                  m.account.id, *pending));
          ++counts["refused: a switch is already pending"];
        } else {
          store.event(actor, std::nullopt, "move-in", fmt::format("account {}: already in the run; line {} ignored", m.account.id, m.account.line));
          ++counts["already in the run"];
        }
        continue;
      }
      const Account& acc = m.account;
      AccountRow row{++next_id, acc.id, static_cast<int>(acc.customer_class), acc.rate_schedule, acc.city, acc.county, acc.read_cycle,
                     account_flags(acc)};
      bool excluded = m.assigned.kind == Assignment::Kind::kExcluded;
      store.add_account(row, excluded ? std::nullopt : std::optional<int>(m.assigned.index),
                        excluded ? std::optional(model.exclusions.at(static_cast<std::size_t>(m.assigned.index)).reason) : std::nullopt);
      store.db().prepare("UPDATE accounts SET origin = 'move-in' WHERE id = ?").bind(1, row.id).run();
      if (excluded) {
        ++counts["excluded"];
        continue;
      }
      store.db().prepare("INSERT INTO switch_dates VALUES (?, ?, 'move-in')").bind(1, row.id).bind(2, format_date(acc.service_start)).run();
      // Its post-enrollment notices come from the phase's notice tasks, reopened if done.
      const PhaseInfo& phase = model.phases.at(static_cast<std::size_t>(m.assigned.index));
      for (std::size_t n = 0; n < model.notices.size(); ++n) {
        if (model.notices[n].decl->stage != ast::Stage::kPost) continue;
        std::string key = fmt::format("{}.{}", phase.id, model.notices[n].id);
        store.db().prepare("UPDATE tasks SET planned = planned + 1, state = CASE WHEN state = 'done' THEN 'running' ELSE state END "
                           "WHERE key = ?").bind(1, key).run();
        if (reopened.insert(static_cast<int>(n)).second) store.event(actor, std::nullopt, "move-in", fmt::format("{} takes move-ins", key));
      }
      store.event(actor, std::nullopt, "move-in",
                  fmt::format("account {}: moved in on {}, enrolled in phase {} from its service start; two post-enrollment "
                              "notices follow within 60 days", acc.id, format_date(acc.service_start), phase.id));
      ++counts["enrolled"];
    }
    t.commit();
  } catch (const sql::Error& e) {
    return ingest_failed(db, e);
  }
  std::cout << fmt::format("ingested {}: {} move-ins ({})\n", file, rows.size(), summary(counts));
  return kOk;
}

int ingest_changes(const std::string& db, const std::string& file) {
  int status = kOk;
  auto ingest_of = begin_ingest(db, "changes", file, status);
  if (!ingest_of) return status;
  StoredRun& run = ingest_of->run();
  const Model& model = run.model();
  const std::string& hash = ingest_of->hash;
  CustomerReader reader(file, model.reads.cycle_count(), 20);
  std::vector<std::pair<Account, AccountFacts>> rows;
  std::vector<DataError> errors;
  Account a;
  while (reader.next(a)) {
    auto f = account_facts(run, a.id);
    if (!f) {
      errors.push_back({a.line, 1, fmt::format("no account `{}` in this run (a new account comes with `ingest move-ins`)", a.id), {}});
      continue;
    }
    if (static_cast<int>(a.customer_class) != f->row.customer_class || a.read_cycle != f->row.read_cycle) {
      errors.push_back({a.line, 1, fmt::format("account `{}` changes its customer class or read cycle, which moves it to another "
                                               "phase or cycle: that is not a change of service options", a.id), {}});
      continue;
    }
    rows.emplace_back(a, *f);
  }
  for (const DataError& e : reader.errors()) errors.push_back(e);
  if (!errors.empty()) return file_errors(file, errors);
  Date today = last_as_of(run).value_or(Date{});
  std::map<std::string, int> counts;
  try {
    Store& store = run.store;
    sql::Transaction t(store.db());
    record_ingest(store, "changes", file, hash, rows.size(), "customer changes");
    std::string actor = ingest_actor(file);
    for (const auto& [acc, f] : rows) {
      int flags = account_flags(acc);
      std::vector<std::string> changed;
      if (acc.rate_schedule != f.row.rate_schedule) changed.push_back(fmt::format("rate schedule {} -> {}", f.row.rate_schedule, acc.rate_schedule));
      if (flags != f.row.flags) changed.push_back("CARE/FERA/Medical Baseline/NEM flags");
      if (acc.city != f.row.city || acc.county != f.row.county) changed.push_back("city or county");
      if (changed.empty()) {
        ++counts["unchanged"];
        continue;
      }
      store.db().prepare("UPDATE accounts SET rate_schedule = ?, flags = ?, city = ?, county = ? WHERE id = ?")
          .bind(1, acc.rate_schedule).bind(2, flags).bind(3, acc.city).bind(4, acc.county).bind(5, f.row.id).run();
      // The utility holds service options only once a Connect has reached it, and only while
      // the account stays with the CCA.
      if (f.opted_out || !f.held.empty()) {
        ++counts[f.opted_out ? "not sent: the customer opted out" : "not sent: held for an operator"];
      } else if (f.phase >= 0 && (f.connect_effective || f.switched)) {
        std::string reason = fmt::format("service options changed: {}", fmt::join(changed, "; "));
        // A change not yet sent is folded into the Update already queued.
        auto queued = store.db().prepare("SELECT id FROM requests WHERE account = ? AND type = 'update' AND state = 'queued'");
        queued.bind(1, f.row.id);
        if (queued.step()) {
          store.db().prepare("UPDATE requests SET reason = ? WHERE id = ?").bind(1, reason).bind(2, queued.integer(0)).run();
          ++counts["Update CCASR queued"];
        } else {
          auto last = store.db().prepare("SELECT max(effective_on) FROM requests WHERE account = ? AND type = 'update'");
          last.bind(1, f.row.id);
          Date after = today;
          if (last.step() && !last.is_null(0)) after = std::max(after, parse_date(last.text(0)).value_or(today));
          auto reach = reachable_read(*run.compiled.program, f.phase, f.row.read_cycle, after, today);
          Date effective = reach ? reach->first : model.reads.last_date();
          store.db().prepare("INSERT INTO requests (account, type, effective_on, not_before, state, reason) "
                             "VALUES (?, 'update', ?, ?, 'queued', ?)")
              .bind(1, f.row.id).bind(2, format_date(effective)).bind(3, format_date(today)).bind(4, reason).run();
          ++counts["Update CCASR queued"];
        }
      } else {
        ++counts["changed before any Connect"];
      }
      store.event(actor, std::nullopt, "change", fmt::format("account {}: {}", acc.id, fmt::join(changed, "; ")));
    }
    t.commit();
  } catch (const sql::Error& e) {
    return ingest_failed(db, e);
  }
  std::cout << fmt::format("ingested {}: {} accounts ({})\n", file, rows.size(), summary(counts));
  return kOk;
}

int explain_account(const std::string& db, const std::string& account, const std::string& format) {
  using nlohmann::json;
  int status = kOk;
  auto run = open_stored_run(db, true, status);
  if (!run) return status;
  auto facts = account_facts(*run, account);
  if (!facts) {
    std::cerr << fmt::format("ccaflow: error: no account `{}` in {}\n", account, db);
    return kInputError;
  }
  const AccountFacts& f = *facts;
  const Model& model = run->model();
  std::optional<Date> as_of;
  if (auto last = run->store.last_as_of()) as_of = parse_date(*last);

  json doc;
  doc["account"] = f.row.account;
  doc["customer_class"] = customer_class_name(static_cast<CustomerClass>(f.row.customer_class));
  doc["read_cycle"] = f.row.read_cycle;
  doc["as_of"] = as_of ? json(format_date(*as_of)) : json(nullptr);
  std::vector<std::string> story;
  if (f.phase < 0) {
    doc["phase"] = nullptr;
    doc["state"] = "excluded";
    doc["switch_on"] = nullptr;
    doc["notices"] = json::array();
    doc["ccasrs"] = json::array();
    doc["optout"] = nullptr;
    doc["why"] = json::array({fmt::format("excluded from enrollment: {} (exclude \"{}\" in the workflow)", f.excluded, f.excluded)});
  } else {
    const PhaseInfo& phase = model.phases.at(static_cast<std::size_t>(f.phase));
    const CycleInfo& cycle = phase.cycles.at(static_cast<std::size_t>(f.row.read_cycle - 1));
    doc["phase"] = phase.id;
    doc["enroll_on"] = format_date(phase.enroll);
    doc["switch_on"] = format_date(f.switch_on);
    story.push_back(fmt::format("in phase {} by its selector `{}`; the phase enrolls on {}", phase.id,
                                ast::expr_to_string(*phase.decl->select), format_date(phase.enroll)));
    if (f.move_in) {
      story.push_back(fmt::format("moved in on {}: enrolled from its service start, with the post-enrollment notices of "
                                  "its phase counted from that day", format_date(f.switch_on)));
    } else {
      story.push_back(fmt::format("read cycle {}: planned to switch on {}, the first read whose Connect can go {} on or "
                                  "after the enrollment date (submitted {})",
                                  f.row.read_cycle, format_date(cycle.read), model.lead_text, format_date(cycle.submit)));
      if (f.switch_source == "response") {
        story.push_back(fmt::format("the utility read it on {}: that is its switch date", format_date(f.switch_on)));
      } else if (f.switch_source == "retry" || (f.connect_rejected && f.retry)) {
        story.push_back(fmt::format("its Connect was rejected; a retried Connect switches it on {}", format_date(f.switch_on)));
      }
    }
    // The opt-out first: notices and Connects after it are not sent.
    auto o = run->store.db().prepare("SELECT received_on, kind, fee_cents, return_on, cycle_end, rule, channel, taken_on FROM optouts WHERE account = ?");
    o.bind(1, f.row.id);
    bool has_optout = o.step();
    std::string optout_kind = has_optout ? o.text(1) : "";
    std::optional<std::string> stopped_from;
    if (has_optout && optout_kind != "rejected") stopped_from = o.text(7);
    // Notices.
    // The account's effects, by the keys of its phase's tasks (task, account).
    auto e = run->store.db().prepare("SELECT t.key, e.on_date FROM tasks t CROSS JOIN effects e ON e.task = t.id AND e.account = ? "
                                     "WHERE t.phase = ? AND (t.cycle = 0 OR t.cycle = ?)");
    e.bind(1, f.row.id).bind(2, phase.id).bind(3, f.row.read_cycle);
    std::map<std::string, std::string> effects;
    while (e.step()) effects[e.text(0)] = e.text(1);
    json notices = json::array();
    for (std::size_t n = 0; n < model.notices.size(); ++n) {
      const NoticeInfo& info = model.notices[n];
      WindowDates w = cycle.windows.at(n);
      if (!f.switch_source.empty() && info.decl->stage == ast::Stage::kPost) {
        // Its own switch date: its post-enrollment windows are its own too.
        EvalScope scope;
        scope.phase = f.phase;
        scope.cycle = f.row.read_cycle;
        scope.switch_on = f.switch_on;
        try {
          w = run->compiled.program->evaluator->window(info.decl->window, scope);
          w.send = run->compiled.program->evaluator->first_send(info, w).value_or(w.end);
        } catch (const EvalError&) {
        }
      }
      std::string key = fmt::format("{}.{}", phase.id, info.id);
      auto it = effects.find(key);
      json item = {{"notice", info.id},
                   {"stage", info.decl->stage == ast::Stage::kPre ? "pre" : "post"},
                   {"window", {{"start", format_date(w.start)}, {"end", format_date(w.end)}}},
                   {"planned", format_date(w.send)},
                   {"sender", info.decl->sender.value_or("cca")},
                   {"template", info.decl->template_path.value_or("")}};
      item["sent_on"] = it != effects.end() ? json(it->second) : json(nullptr);
      bool pre = info.decl->stage == ast::Stage::kPre;
      std::string why;
      if (it == effects.end()) {
        if (stopped_from && format_date(w.send) >= *stopped_from) why = "not sent: opted out";
        else if (pre && f.move_in) why = "not sent: a move-in gets only the post-enrollment notices";
        else if (!pre && !f.switched && !f.will_switch) why = f.held.empty() ? "not sent: not enrolled" : "not sent: held for an operator";
        else why = "due";
      }
      item["status"] = it != effects.end() ? "sent" : why;
      notices.push_back(item);
    }
    // CCASRs: the mass enrollment's Connect, then the lifecycle's requests.
    json ccasrs = json::array();
    std::string connect_key = fmt::format("{}.connect.c{:02}", phase.id, f.row.read_cycle);
    if (f.move_in) {
      // A move-in defaults to the CCA from its service start: no mass enrollment Connect.
    } else if (auto it = effects.find(connect_key); it != effects.end()) {
      int task = run->graph().find(connect_key);
      json connect = {{"type", "connect"}, {"sent_on", format_date(run->graph().nodes()[static_cast<std::size_t>(task)].send)},
                      {"effective_on", it->second}, {"status", "sent"}, {"batch", connect_key}};
      // Its response, if the utility's has come: the first one for a Connect is the batch's.
      auto resp = run->store.db().prepare("SELECT accepted, reason, actual_on, disposition FROM responses "
                                          "WHERE account = ? AND type = 'connect' ORDER BY id LIMIT 1");
      resp.bind(1, f.row.id);
      if (resp.step()) {
        connect["status"] = resp.integer(0) != 0 ? "accepted" : "rejected";
        if (resp.integer(0) != 0) connect["actual_on"] = resp.text(2);
        else connect["response"] = {{"reason", resp.text(1)}, {"disposition", resp.text(3)}};
      }
      ccasrs.push_back(connect);
    } else {
      const char* why = optout_kind == "pre" ? "not sent: opted out" : "planned";
      ccasrs.push_back({{"type", "connect"}, {"sent_on", nullptr}, {"effective_on", format_date(cycle.read)}, {"status", why},
                        {"batch", connect_key}, {"planned_submit", format_date(cycle.submit)}});
    }
    auto r = run->store.db().prepare("SELECT type, effective_on, state, sent_on, reason FROM requests WHERE account = ? ORDER BY id");
    r.bind(1, f.row.id);
    while (r.step()) {
      ccasrs.push_back({{"type", r.text(0)}, {"effective_on", r.text(1)}, {"status", r.text(2)},
                        {"sent_on", r.is_null(3) ? json(nullptr) : json(r.text(3))}, {"reason", r.text(4)}});
    }
    // Opt-out.
    std::string state = f.switched ? "enrolled" : "pending";
    auto held = run->store.db().prepare("SELECT held FROM accounts WHERE id = ? AND held IS NOT NULL");
    held.bind(1, f.row.id);
    if (held.step()) {
      state = "held";
      doc["held"] = held.text(0);
      story.push_back(fmt::format("held for an operator: {}", held.text(0)));
    }
    if (has_optout) {
      std::string kind = o.text(1);
      doc["optout"] = {{"received_on", o.text(0)}, {"kind", kind}, {"fee", static_cast<double>(o.integer(2)) / 100.0},
                       {"return_on", o.is_null(3) ? json(nullptr) : json(o.text(3))},
                       {"cycle_end", o.is_null(4) ? json(nullptr) : json(o.text(4))}, {"rule", o.text(5)},
                       {"channel", o.text(6)}, {"taken_on", o.text(7)}};
      story.push_back(fmt::format("opt-out received {}: {}", o.text(0), o.text(5)));
      // Back to bundled service on the Disconnect's date; before the switch, simply out.
      if (!o.is_null(3)) {
        bool back = as_of && o.text(3) <= format_date(*as_of);
        state = back ? "returned" : "returning";
      } else if (kind == "pre") {
        state = "opted_out";
      }
    } else {
      doc["optout"] = nullptr;
    }
    doc["state"] = state;
    doc["notices"] = notices;
    doc["ccasrs"] = ccasrs;
    doc["why"] = story;
  }
  if (format == "json") {
    std::cout << doc.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    return kOk;
  }
  std::cout << fmt::format("account {} ({}, read cycle {}): {}\n", f.row.account, doc["customer_class"].get<std::string>(),
                           f.row.read_cycle, doc["state"].get<std::string>());
  for (const auto& line : doc["why"]) std::cout << "  " << line.get<std::string>() << "\n";
  if (f.phase >= 0) {
    std::cout << "notices\n";
    for (const auto& n : doc["notices"]) {
      std::cout << fmt::format("  {:<24} {:<4} window {}..{}  {}\n", n["notice"].get<std::string>(), n["stage"].get<std::string>(),
                               n["window"]["start"].get<std::string>(), n["window"]["end"].get<std::string>(),
                               n["sent_on"].is_null() ? n["status"].get<std::string>() + ", planned " + n["planned"].get<std::string>()
                                                      : "sent " + n["sent_on"].get<std::string>());
    }
    std::cout << "CCASRs\n";
    for (const auto& c : doc["ccasrs"]) {
      std::cout << fmt::format("  {:<10} effective {}  {}{}\n", c["type"].get<std::string>(), c["effective_on"].get<std::string>(),
                               c["status"].get<std::string>(),
                               c["sent_on"].is_null() ? "" : " " + c["sent_on"].get<std::string>());
    }
    if (!doc["optout"].is_null()) {
      const auto& o = doc["optout"];
      std::cout << fmt::format("opt-out\n  received {} ({}), {}: fee ${:.2f}{}\n", o["received_on"].get<std::string>(),
                               o["channel"].get<std::string>().empty() ? "no channel given" : o["channel"].get<std::string>(),
                               o["kind"].get<std::string>(), o["fee"].get<double>(),
                               o["return_on"].is_null() ? "" : ", back to bundled service " + o["return_on"].get<std::string>());
    }
  }
  return kOk;
}

}  // namespace ccaflow
