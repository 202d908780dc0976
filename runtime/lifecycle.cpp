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
#include "runtime/plan.h"
#include "runtime/stored_run.h"

namespace ccaflow {
namespace fs = std::filesystem;
using namespace exit_code;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!s.empty() && s.back() == ' ') s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  return s;
}

std::string money(long cents) { return fmt::format("${}.{:02}", cents / 100, cents % 100); }

// The account's next read strictly after `date`: the end of its current billing cycle.
Date cycle_end(const Model& model, int cycle, Date date) {
  return model.reads.nth_read_from(cycle, date, 1).value_or(model.reads.last_date());
}

struct OptoutRow {
  std::size_t line;
  std::string account, channel;
  Date received{};
};

// What an opt-out means for one account, and why.
struct Decision {
  std::string kind;  // pre, free, reentry, rejected
  Date taken{};
  long fee = 0;
  std::optional<Date> cycle_end, return_on;
  std::string rule;
  std::optional<std::pair<std::string, Date>> request;  // type and effective date
};

Decision decide(StoredRun& run, const AccountFacts& f, const OptoutRow& o) {
  const Model& model = run.model();
  const OptoutTerms& terms = model.optouts;
  Decision d;
  d.taken = o.received;
  if (f.phase < 0) {
    d.kind = "rejected";
    d.rule = fmt::format("the account is not enrolled in the CCA (excluded: {}); there is nothing to opt out of", f.excluded);
    return d;
  }
  if (auto opens = notice_period_opens(model, f.phase, f.row.read_cycle); opens && o.received < *opens) {
    if (!terms.hold_early) {
      d.kind = "rejected";
      d.rule = fmt::format("received before the notice period opens on {}; opt-outs are not taken before it "
                           "(Res. E-4250; {}: early reject)", format_date(*opens), terms.name);
      return d;
    }
    d.kind = "pre";
    d.taken = *opens;
    d.rule = fmt::format("received before the notice period: held until it opens on {} (Res. E-4250; {}: early hold); "
                         "before the switch, so no Connect, no notices, no fee", format_date(*opens), terms.name);
    if (f.connect_effective) d.request = std::make_pair("cancel", *f.connect_effective);
    return d;
  }
  if (o.received < f.switch_on) {
    d.kind = "pre";
    if (f.connect_effective) {
      d.request = std::make_pair("cancel", *f.connect_effective);
      d.rule = fmt::format("received before the switch on {}: the Connect already sent is cancelled; no "
                           "post-enrollment notices, no fee", format_date(f.switch_on));
    } else {
      d.rule = fmt::format("received before the switch on {}: no Connect is sent, no further notices, no fee",
                           format_date(f.switch_on));
    }
    return d;
  }
  EvalScope scope;
  scope.phase = f.phase;
  scope.cycle = f.row.read_cycle;
  Date free_until = run.compiled.program->evaluator->shift(f.switch_on, terms.free_period, 1, scope, ast::Expr{});
  Date end = cycle_end(model, f.row.read_cycle, o.received);
  d.cycle_end = end;
  long day = (o.received - f.switch_on).count();
  if (o.received <= free_until) {
    d.kind = "free";
    d.return_on = end;
    d.request = std::make_pair("disconnect", end);
    d.rule = fmt::format("day {} after the switch on {}, within the {} follow-up period ({}: free {} after switch): "
                         "back to bundled service at the end of the billing cycle, {}, no fee",
                         day, format_date(f.switch_on), duration_to_string(terms.free_period), terms.name,
                         duration_to_string(terms.free_period), format_date(end));
    return d;
  }
  Date notice_end = run.compiled.program->evaluator->shift(end, terms.return_notice, 1, scope, ast::Expr{});
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

int ingest_optouts(const std::string& db, const std::string& file) {
  std::string holder;
  bool busy = false;
  if (!std::filesystem::is_regular_file(db)) {
    std::cerr << fmt::format("ccaflow: error: {}: no such run database\n", db);
    return kDatabase;
  }
  auto lock = RunLock::acquire(db, "ccaflow ingest optouts", holder, busy);
  if (!lock) {
    if (busy) {
      std::cerr << fmt::format("ccaflow: error: {} is in use by another process ({}); try again when it has finished\n", db, holder);
    } else {
      std::cerr << fmt::format("ccaflow: error: {}: {}\n", db, holder);
    }
    return kDatabase;
  }
  int status = kOk;
  auto run = open_stored_run(db, false, status);
  if (!run) return status;
  if (run->model().optouts.name.empty()) {
    std::cerr << fmt::format("ccaflow: error: the workflow in {} names no opt-out policy: its workflow block needs "
                             "`optouts terms.standard` (or a policy of its own)\n", db);
    return kInputError;
  }
  auto hash = sha256_file(file);
  if (hash) {
    auto seen = run->store.db().prepare("SELECT file, at FROM ingests WHERE kind = 'optouts' AND sha256 = ?");
    seen.bind(1, *hash);
    if (seen.step()) {
      std::cout << fmt::format("{} was already ingested (as {}, at {}): nothing changed\n", file, seen.text(0), seen.text(1));
      return kOk;
    }
  }

  // Read and check the whole file before changing anything.
  CsvReader csv(file, "opt-out file");
  std::vector<std::string> fields;
  std::size_t line = 0;
  std::vector<OptoutRow> rows;
  std::map<std::string, std::size_t> first_line;
  int account_column = -1, received_column = -1, channel_column = -1;
  bool header = true;
  while (csv.next(fields, line)) {
    if (header) {
      header = false;
      for (std::size_t i = 0; i < fields.size(); ++i) {
        std::string name = lower(fields[i]);
        int* slot = name == "account" ? &account_column : name == "received_on" ? &received_column
                    : name == "channel" ? &channel_column : nullptr;
        if (slot == nullptr || *slot >= 0) {
          csv.error(1, 0, fmt::format("{} column `{}`: the header is account,received_on[,channel]",
                                      slot == nullptr ? "unknown" : "repeated", fields[i]));
          continue;
        }
        *slot = static_cast<int>(i);
      }
      if (account_column < 0 || received_column < 0) {
        csv.error(1, 0, "the header must name account and received_on (and may name channel)");
        csv.stop();
      }
      continue;
    }
    auto column_count = static_cast<std::size_t>(std::max({account_column, received_column, channel_column})) + 1;
    if (fields.size() < column_count) {
      csv.error(line, 0, fmt::format("expected {} fields, as in the header, but found {}", column_count, fields.size()));
      continue;
    }
    OptoutRow row;
    row.line = line;
    row.account = fields[static_cast<std::size_t>(account_column)];
    row.channel = channel_column >= 0 ? fields[static_cast<std::size_t>(channel_column)] : "";
    auto received = parse_date(fields[static_cast<std::size_t>(received_column)]);
    if (!received) {
      csv.error(line, csv.field_column(line, static_cast<std::size_t>(received_column)),
                fmt::format("received_on must be a date as YYYY-MM-DD, not `{}`", fields[static_cast<std::size_t>(received_column)]));
      continue;
    }
    row.received = *received;
    auto [it, inserted] = first_line.try_emplace(row.account, line);
    if (!inserted) {
      csv.error(line, 1, fmt::format("account `{}` opts out twice in this file (first on line {})", row.account, it->second));
      continue;
    }
    if (!account_facts(*run, row.account)) {
      csv.error(line, 1, fmt::format("no account `{}` in this run", row.account));
      continue;
    }
    rows.push_back(std::move(row));
  }
  if (csv.ok() && rows.empty() && header) csv.error(0, 0, "the file is empty: it needs the header account,received_on");
  if (!csv.ok()) {
    for (const DataError& e : csv.errors()) std::cerr << render_data_error(file, e);
    std::cerr << fmt::format("ccaflow: error: {} was not ingested: nothing changed\n", file);
    return kInputError;
  }

  std::map<std::string, int> counts;
  try {
    Store& store = run->store;
    sql::Transaction t(store.db());
    store.db().prepare("INSERT INTO ingests (kind, file, sha256, rows, at) VALUES ('optouts', ?, ?, ?, ?)")
        .bind(1, fs::path(file).filename().string()).bind(2, hash.value_or("")).bind(3, static_cast<std::int64_t>(rows.size()))
        .bind(4, now_text()).run();
    std::int64_t ingest = store.db().last_insert_id();
    std::string actor = fmt::format("ingest:{}", fs::path(file).filename().string());
    store.event(actor, std::nullopt, "ingest", fmt::format("opt-outs from {} (sha256 {}): {} rows", file, hash.value_or("?"), rows.size()));
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
    std::cerr << fmt::format("ccaflow: error: {}: {}; nothing was ingested\n", db, e.what());
    return e.busy() ? kDatabase : kTaskFailed;
  }
  std::vector<std::string> parts;
  for (const auto& [kind, n] : counts) parts.push_back(fmt::format("{} {}", n, kind));
  std::cout << fmt::format("ingested {}: {} opt-outs ({})\n", file, rows.size(), fmt::join(parts, ", "));
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
    story.push_back(fmt::format("read cycle {}: switches on {}, the first read whose Connect can go {} on or after "
                                "the enrollment date (submitted {})",
                                f.row.read_cycle, format_date(cycle.read), model.lead_text, format_date(cycle.submit)));
    // The opt-out first: notices and Connects after it are not sent.
    auto o = run->store.db().prepare("SELECT received_on, kind, fee_cents, return_on, cycle_end, rule, channel, taken_on FROM optouts WHERE account = ?");
    o.bind(1, f.row.id);
    bool has_optout = o.step();
    std::string optout_kind = has_optout ? o.text(1) : "";
    std::optional<std::string> stopped_from;
    if (has_optout && optout_kind != "rejected") stopped_from = o.text(7);
    // Notices.
    auto e = run->store.db().prepare("SELECT t.key, e.on_date FROM effects e JOIN tasks t ON t.id = e.task WHERE e.account = ?");
    e.bind(1, f.row.id);
    std::map<std::string, std::string> effects;
    while (e.step()) effects[e.text(0)] = e.text(1);
    json notices = json::array();
    for (std::size_t n = 0; n < model.notices.size(); ++n) {
      const NoticeInfo& info = model.notices[n];
      const WindowDates& w = cycle.windows.at(n);
      std::string key = fmt::format("{}.{}", phase.id, info.id);
      auto it = effects.find(key);
      json item = {{"notice", info.id},
                   {"stage", info.decl->stage == ast::Stage::kPre ? "pre" : "post"},
                   {"window", {{"start", format_date(w.start)}, {"end", format_date(w.end)}}},
                   {"planned", format_date(w.send)},
                   {"sender", info.decl->sender.value_or("cca")},
                   {"template", info.decl->template_path.value_or("")}};
      item["sent_on"] = it != effects.end() ? json(it->second) : json(nullptr);
      bool skipped = it == effects.end() && stopped_from && format_date(w.send) >= *stopped_from;
      item["status"] = it != effects.end() ? "sent" : skipped ? "not sent: opted out" : "due";
      notices.push_back(item);
    }
    // CCASRs: the mass enrollment's Connect, then the lifecycle's requests.
    json ccasrs = json::array();
    std::string connect_key = fmt::format("{}.connect.c{:02}", phase.id, f.row.read_cycle);
    if (auto it = effects.find(connect_key); it != effects.end()) {
      int task = run->graph().find(connect_key);
      ccasrs.push_back({{"type", "connect"}, {"sent_on", format_date(run->graph().nodes()[static_cast<std::size_t>(task)].send)},
                        {"effective_on", it->second}, {"status", "sent"}, {"batch", connect_key}});
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
