#include "runtime/status.h"

#include <fmt/format.h>

#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "runtime/exit_codes.h"
#include "runtime/plan.h"
#include "runtime/store.h"

namespace ccaflow {

namespace {

struct PhaseCounts {
  std::string name;
  std::int64_t eligible = 0, notified = 0, ccasr = 0, enrolled = 0;
};

bool is_gate(const TaskRow& r) { return r.kind == "gate" || r.kind == "milestone"; }

}  // namespace

int show_status(const std::string& db, const std::string& format) {
  using nlohmann::json;
  try {
    Store store = Store::open(db, true);
    store.check();
    RunInfo info = store.run();
    std::vector<TaskRow> tasks = store.tasks();
    std::optional<Date> as_of;
    if (auto last = store.last_as_of()) as_of = parse_date(*last);

    std::map<std::string, PhaseCounts> phases;
    std::vector<std::string> phase_order;
    {
      auto s = store.db().prepare("SELECT p.name, count(a.id) FROM phases p LEFT JOIN accounts a ON a.phase = p.id "
                                  "GROUP BY p.id ORDER BY p.id");
      while (s.step()) {
        phase_order.push_back(s.text(0));
        phases[s.text(0)] = PhaseCounts{s.text(0), s.integer(1)};
      }
    }
    {
      // The accounts with a notice, counted once each: every notice task's effects are read
      // in their key order into its phase's set. (A GROUP BY with count(DISTINCT) sorts them
      // all instead, over a second at a million accounts.)
      auto size = static_cast<std::size_t>(store.max_account_id()) + 1;
      std::map<std::string, std::vector<bool>> notified;
      auto s = store.db().prepare("SELECT account FROM effects WHERE task = ?");
      for (const TaskRow& t : tasks) {
        if (t.kind != "notice") continue;
        std::vector<bool>& seen = notified.try_emplace(t.phase, size).first->second;
        std::int64_t& count = phases[t.phase].notified;
        s.bind(1, t.id);
        while (s.step()) {
          auto account = static_cast<std::size_t>(s.integer(0));
          if (account < size && !seen[account]) {
            seen[account] = true;
            ++count;
          }
        }
        s.reset();
      }
    }
    std::map<std::string, std::int64_t> effects{{"notice", 0}, {"ccasr", 0}, {"switch", 0}};
    for (const TaskRow& t : tasks) {
      if (t.kind == "notice" || t.kind == "ccasr" || t.kind == "switch") effects[t.kind] += t.done;
      if (t.kind == "ccasr") phases[t.phase].ccasr += t.done;
      if (t.kind == "switch") phases[t.phase].enrolled += t.done;
    }
    std::vector<std::pair<std::string, std::int64_t>> excluded;
    {
      auto s = store.db().prepare("SELECT excluded, count(*) FROM accounts WHERE excluded IS NOT NULL GROUP BY excluded ORDER BY excluded");
      while (s.step()) excluded.emplace_back(s.text(0), s.integer(1));
    }
    std::map<std::string, std::int64_t> optouts, requests;
    {
      auto s = store.db().prepare("SELECT kind, count(*) FROM optouts GROUP BY kind ORDER BY kind");
      while (s.step()) optouts[s.text(0)] = s.integer(1);
      auto r = store.db().prepare("SELECT type || ' ' || state, count(*) FROM requests GROUP BY type, state ORDER BY type, state");
      while (r.step()) requests[r.text(0)] = r.integer(1);
    }
    std::vector<std::pair<std::string, std::string>> held;
    {
      auto s = store.db().prepare("SELECT account, held FROM accounts WHERE held IS NOT NULL ORDER BY id");
      while (s.step()) held.emplace_back(s.text(0), s.text(1));
      // Switched by a move-in or a retried Connect rather than a switch task.
      auto own = store.db().prepare("SELECT p.name, count(*) FROM switch_dates d JOIN accounts a ON a.id = d.account "
                                    "JOIN phases p ON p.id = a.phase WHERE d.source <> 'response' AND d.on_date <= ? "
                                    "AND a.held IS NULL AND NOT EXISTS (SELECT 1 FROM optouts o WHERE o.account = a.id "
                                    "AND o.kind = 'pre') GROUP BY p.name");
      own.bind(1, as_of ? format_date(*as_of) : std::string("0000-00-00"));
      while (own.step()) phases[own.text(0)].enrolled += own.integer(1);
    }
    std::map<TaskState, int> by_state;
    for (const TaskRow& t : tasks) ++by_state[t.state];
    std::vector<const TaskRow*> overdue, failed, next;
    for (const TaskRow& t : tasks) {
      if (t.state == TaskState::kFailed) failed.push_back(&t);
      if (is_gate(t) && t.state != TaskState::kDone && as_of && t.latest < *as_of) overdue.push_back(&t);
      if (t.state != TaskState::kDone && t.state != TaskState::kFailed && (!as_of || t.earliest > *as_of)) next.push_back(&t);
    }
    std::stable_sort(next.begin(), next.end(), [](const TaskRow* a, const TaskRow* b) { return a->earliest < b->earliest; });
    if (!next.empty()) {
      Date first = next.front()->earliest;
      std::erase_if(next, [&](const TaskRow* t) { return t->earliest != first; });
    }

    if (format == "json") {
      json doc;
      doc["workflow"] = {{"title", info.title}, {"cca", info.cca}, {"utility", info.utility}, {"file", info.workflow_path},
                         {"created_at", info.created_at}};
      doc["as_of"] = as_of ? json(format_date(*as_of)) : json(nullptr);
      json list = json::array();
      for (const TaskRow& t : tasks) {
        json deps = json::array();
        for (int d : t.deps) deps.push_back(tasks[static_cast<std::size_t>(d - 1)].key);
        list.push_back({{"id", t.key},
                        {"kind", t.kind},
                        {"depends_on", deps},
                        {"earliest", format_date(t.earliest)},
                        {"latest", format_date(t.latest)},
                        {"accounts", t.planned},
                        {"state", task_state_name(t.state)},
                        {"error", t.error.empty() ? json(nullptr) : json(t.error)},
                        {"attempts", t.attempts},
                        {"done", t.done}});
      }
      doc["tasks"] = list;
      doc["effects"] = effects;
      json per_phase = json::array();
      for (const std::string& name : phase_order) {
        const PhaseCounts& c = phases[name];
        per_phase.push_back({{"phase", name}, {"eligible", c.eligible}, {"notified", c.notified}, {"ccasr_sent", c.ccasr},
                             {"enrolled", c.enrolled}});
      }
      doc["phases"] = per_phase;
      json ex = json::object();
      for (const auto& [reason, n] : excluded) ex[reason] = n;
      doc["excluded"] = ex;
      doc["optouts"] = optouts;
      json held_list = json::array();
      for (const auto& [account, why] : held) held_list.push_back({{"account", account}, {"reason", why}});
      doc["held"] = held_list;
      doc["requests"] = requests;
      json states = json::object();
      for (const auto& [state, n] : by_state) states[task_state_name(state)] = n;
      doc["states"] = states;
      json overdue_list = json::array();
      for (const TaskRow* t : overdue) overdue_list.push_back({{"id", t->key}, {"due", format_date(t->latest)}, {"state", task_state_name(t->state)}});
      doc["overdue"] = overdue_list;
      json next_list = json::array();
      for (const TaskRow* t : next) next_list.push_back({{"id", t->key}, {"kind", t->kind}, {"earliest", format_date(t->earliest)}});
      doc["next"] = next_list;
      std::cout << doc.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
      return exit_code::kOk;
    }

    std::cout << fmt::format("{} ({}), utility {}: run {}\n", info.title, info.cca, info.utility, db);
    std::cout << fmt::format("  workflow  {} (started {})\n", info.workflow_path, info.created_at);
    std::cout << fmt::format("  as of     {}\n", as_of ? format_date(*as_of) : std::string("never run"));
    std::cout << fmt::format("  tasks     {} done, {} running, {} waiting for approval, {} pending, {} failed (of {})\n",
                             by_state[TaskState::kDone], by_state[TaskState::kRunning], by_state[TaskState::kWaiting],
                             by_state[TaskState::kPending] + by_state[TaskState::kDue], by_state[TaskState::kFailed], tasks.size());
    std::cout << fmt::format("  effects   {} notices, {} Connect CCASRs, {} switches\n", with_commas(static_cast<std::size_t>(effects["notice"])),
                             with_commas(static_cast<std::size_t>(effects["ccasr"])), with_commas(static_cast<std::size_t>(effects["switch"])));
    if (!optouts.empty()) {
      std::vector<std::string> parts;
      std::int64_t total = 0;
      for (const auto& [kind, n] : optouts) {
        parts.push_back(fmt::format("{} {}", with_commas(static_cast<std::size_t>(n)), kind));
        total += n;
      }
      std::cout << fmt::format("  opt-outs  {} ({})\n", with_commas(static_cast<std::size_t>(total)), fmt::join(parts, ", "));
    }
    if (!requests.empty()) {
      std::vector<std::string> parts;
      for (const auto& [what, n] : requests) parts.push_back(fmt::format("{} {}", with_commas(static_cast<std::size_t>(n)), what));
      std::cout << fmt::format("  CCASRs    {}\n", fmt::join(parts, ", "));
    }
    if (!failed.empty()) {
      std::cout << "\nFailed (ccaflow resume retries them)\n";
      for (const TaskRow* t : failed) std::cout << fmt::format("  {}  after {} attempt{}: {}\n", t->key, t->attempts, t->attempts == 1 ? "" : "s", t->error);
    }
    std::vector<const TaskRow*> waiting;
    for (const TaskRow& t : tasks) {
      if (t.state == TaskState::kWaiting) waiting.push_back(&t);
    }
    if (!waiting.empty() || !overdue.empty()) {
      std::cout << "\nGates\n";
      for (const TaskRow* t : waiting) {
        bool late = as_of && t->latest < *as_of;
        std::cout << fmt::format("  {:<28} {} due {}{}  (ccaflow approve --db {} {} --by NAME)\n", t->key, t->kind, format_date(t->latest),
                                 late ? "  OVERDUE" : "", db, t->key);
      }
      for (const TaskRow* t : overdue) {
        if (t->state != TaskState::kWaiting) {
          std::cout << fmt::format("  {:<28} {} due {}  OVERDUE, {}\n", t->key, t->kind, format_date(t->latest), task_state_name(t->state));
        }
      }
    }
    if (!held.empty()) {
      std::cout << fmt::format("\nHeld for an operator ({} account{})\n", held.size(), held.size() == 1 ? "" : "s");
      for (std::size_t i = 0; i < held.size() && i < 20; ++i) std::cout << fmt::format("  {}  {}\n", held[i].first, held[i].second);
      if (held.size() > 20) std::cout << fmt::format("  ... and {} more (status --format json lists them all)\n", held.size() - 20);
    }
    std::cout << "\nPhases\n";
    std::cout << fmt::format("  {:<28} {:>10} {:>10} {:>10} {:>10}\n", "phase", "eligible", "notified", "CCASR sent", "enrolled");
    for (const std::string& name : phase_order) {
      const PhaseCounts& c = phases[name];
      std::cout << fmt::format("  {:<28} {:>10} {:>10} {:>10} {:>10}\n", name, with_commas(static_cast<std::size_t>(c.eligible)),
                               with_commas(static_cast<std::size_t>(c.notified)), with_commas(static_cast<std::size_t>(c.ccasr)),
                               with_commas(static_cast<std::size_t>(c.enrolled)));
    }
    for (const auto& [reason, n] : excluded) std::cout << fmt::format("  excluded, {}: {}\n", reason, with_commas(static_cast<std::size_t>(n)));
    std::vector<const TaskRow*> running;
    for (const TaskRow& t : tasks) {
      if (t.state == TaskState::kRunning) running.push_back(&t);
    }
    if (!running.empty()) {
      std::cout << "\nRunning (more accounts to come)\n";
      for (const TaskRow* t : running) std::cout << fmt::format("  {:<40} {} of {}\n", t->key, with_commas(static_cast<std::size_t>(t->done)), with_commas(static_cast<std::size_t>(t->planned)));
    }
    if (!next.empty()) {
      std::cout << fmt::format("\nNext, on {}\n", format_date(next.front()->earliest));
      for (const TaskRow* t : next) std::cout << fmt::format("  {} {}\n", t->kind, t->key);
    } else if (by_state[TaskState::kDone] == static_cast<int>(tasks.size())) {
      std::cout << "\nEvery task is done.\n";
    }
    return exit_code::kOk;
  } catch (const SchemaError& e) {
    std::cerr << "ccaflow: error: " << e.what() << "\n";
    return exit_code::kDatabase;
  } catch (const sql::Error& e) {
    std::cerr << "ccaflow: error: " << describe_failure(db, e) << "\n";
    return exit_code::kDatabase;
  }
}

}  // namespace ccaflow
