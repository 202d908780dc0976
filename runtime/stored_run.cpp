#include "runtime/stored_run.h"

#include <fmt/format.h>

#include <cstdint>

#include <iostream>

#include "compiler/eval.h"
#include "runtime/exit_codes.h"

namespace ccaflow {

std::optional<StoredRun> open_stored_run(const std::string& db, bool read_only, int& status) {
  try {
    Store store = Store::open(db, read_only);
    RunInfo info = store.run();
    auto files = std::make_unique<StoredFiles>(store.inputs());
    CompileOptions options;
    options.files = files.get();
    options.stdlib_dir = info.stdlib_dir;
    CompileResult compiled = compile(info.workflow_path, options);
    if (!compiled.ok() || !compiled.graph) {
      std::cerr << compiled.render_diagnostics();
      std::cerr << fmt::format("ccaflow: error: the workflow stored in {} does not compile with this ccaflow\n", db);
      status = exit_code::kDatabase;
      return std::nullopt;
    }
    std::vector<TaskRow> tasks = store.tasks();
    bool same = tasks.size() == compiled.graph->nodes().size();
    for (std::size_t i = 0; same && i < tasks.size(); ++i) same = tasks[i].key == compiled.graph->nodes()[i].id;
    if (!same) {
      std::cerr << fmt::format("ccaflow: error: the tasks stored in {} do not match its workflow\n", db);
      status = exit_code::kDatabase;
      return std::nullopt;
    }
    return StoredRun{std::move(store), std::move(info), std::move(files), std::move(compiled), std::move(tasks)};
  } catch (const SchemaError& e) {
    std::cerr << "ccaflow: error: " << e.what() << "\n";
    status = exit_code::kDatabase;
  } catch (const sql::Error& e) {
    std::cerr << "ccaflow: error: " << describe_failure(db, e) << "\n";
    status = exit_code::kDatabase;
  }
  return std::nullopt;
}

namespace {

// One use of a statement the run keeps prepared: reset when the use ends, so no read stays
// open between two calls and no value lingers in it.
class Query {
 public:
  Query(StoredRun& run, std::string_view sql) : s_(lookup(run, sql)) {}
  ~Query() { s_.reset(); }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  sql::Statement* operator->() { return &s_; }

 private:
  static sql::Statement& lookup(StoredRun& run, std::string_view sql) {
    auto it = run.prepared.find(std::string(sql));
    if (it == run.prepared.end()) it = run.prepared.emplace(std::string(sql), run.store.db().prepare(sql)).first;
    return it->second;
  }
  sql::Statement& s_;
};

}  // namespace

std::optional<AccountFacts> account_facts(StoredRun& run, const std::string& account) {
  Query s(run,
          "SELECT id, account, customer_class, rate_schedule, city, county, read_cycle, flags, coalesce(phase, -1), "
          "coalesce(excluded, '') FROM accounts WHERE account = ?");
  s->bind(1, account);
  if (!s->step()) return std::nullopt;
  AccountFacts f;
  f.row = AccountRow{s->integer(0), s->text(1), static_cast<int>(s->integer(2)), s->text(3), s->text(4), s->text(5),
                     static_cast<int>(s->integer(6)), static_cast<int>(s->integer(7))};
  f.phase = static_cast<int>(s->integer(8));
  f.excluded = s->text(9);
  if (f.phase < 0) return f;
  const PhaseInfo& phase = run.model().phases.at(static_cast<std::size_t>(f.phase));
  f.switch_on = phase.cycles.at(static_cast<std::size_t>(f.row.read_cycle - 1)).read;
  // The account's Connect and switch are effects of its phase's tasks for its read cycle:
  // looked up by their key (task, account).
  Query e(run, "SELECT t.kind, e.on_date FROM tasks t JOIN effects e ON e.task = t.id AND e.account = ?1 "
               "WHERE t.key IN (?2, ?3)");
  e->bind(1, f.row.id)
      .bind(2, fmt::format("{}.connect.c{:02}", phase.id, f.row.read_cycle))
      .bind(3, fmt::format("{}.switch.c{:02}", phase.id, f.row.read_cycle));
  while (e->step()) {
    Date on = parse_date(e->text(1)).value_or(f.switch_on);
    if (e->text(0) == "switch") {
      f.switched = true;
      f.switch_on = on;
    } else {
      f.connect_effective = on;
      f.connect_sent = true;
    }
  }
  auto last = run.store.last_as_of();
  // A date of its own (an actual read, a move-in's service start, a retried Connect),
  // switched once that date has come.
  Query own(run, "SELECT on_date, source FROM switch_dates WHERE account = ?");
  own->bind(1, f.row.id);
  if (own->step()) {
    f.switch_on = parse_date(own->text(0)).value_or(f.switch_on);
    f.switch_source = own->text(1);
    f.switched = f.switched || (last && own->text(0) <= *last);
  }
  f.move_in = f.switch_source == "move-in";
  // The mass enrollment's Connect rejected: the account switches only by a retried one.
  Query rejected(run, "SELECT 1 FROM responses WHERE account = ? AND type = 'connect' AND accepted = 0");
  rejected->bind(1, f.row.id);
  f.connect_rejected = rejected->step();
  Query retry(run, "SELECT id, effective_on, state FROM requests WHERE account = ? AND type = 'connect' AND state IN "
                   "('queued', 'sent', 'accepted', 'effective') ORDER BY id DESC LIMIT 1");
  retry->bind(1, f.row.id);
  if (retry->step()) {
    f.retry = AccountFacts::Retry{retry->integer(0), parse_date(retry->text(1)).value_or(f.switch_on), retry->text(2)};
  }
  if (f.connect_rejected && !f.switched) {
    f.connect_effective.reset();
    if (f.retry) {
      f.switch_on = f.retry->effective;
      if (f.retry->state != "queued") f.connect_effective = f.retry->effective;
    } else {
      f.will_switch = false;
    }
  }
  Query held(run, "SELECT held FROM accounts WHERE id = ? AND held IS NOT NULL");
  held->bind(1, f.row.id);
  if (held->step()) {
    f.held = held->text(0);
    if (!f.switched) f.will_switch = false;
  }
  Query out(run, "SELECT kind FROM optouts WHERE account = ? AND kind <> 'rejected'");
  out->bind(1, f.row.id);
  f.opted_out = out->step();
  return f;
}

std::optional<std::pair<Date, Date>> reachable_read(const Program& program, int phase, int cycle, Date after, Date from) {
  const Model& model = program.model;
  if (!model.reads.has_cycle(cycle)) return std::nullopt;
  for (Date at = after;;) {
    auto read = model.reads.nth_read_from(cycle, at, 1);
    if (!read) return std::nullopt;
    Date submit = *read;
    if (model.connect != nullptr && model.connect->submit) {
      EvalScope scope;
      scope.phase = phase;
      scope.cycle = cycle;
      scope.read = *read;
      try {
        submit = program.evaluator->eval_date(*model.connect->submit, scope);
      } catch (const EvalError&) {
        return std::nullopt;
      }
    }
    if (submit >= from) return std::make_pair(*read, submit);
    at = *read;
  }
}

std::optional<Date> notice_period_opens(const Model& model, int phase, int cycle) {
  std::optional<Date> first;
  const CycleInfo& c = model.phases.at(static_cast<std::size_t>(phase)).cycles.at(static_cast<std::size_t>(cycle - 1));
  for (std::size_t n = 0; n < model.notices.size(); ++n) {
    if (model.notices[n].decl->stage != ast::Stage::kPre) continue;
    Date start = c.windows.at(n).start;
    if (!first || start < *first) first = start;
  }
  return first;
}

}  // namespace ccaflow
