#include "runtime/plan.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fmt/format.h>

#include "compiler/eval.h"
#include "runtime/assign.h"

namespace ccaflow {

std::string with_commas(std::size_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

namespace {

std::string plural(std::size_t n, const char* word) {
  return fmt::format("{} {}{}", with_commas(n), word, n == 1 ? "" : "s");
}

}  // namespace

std::optional<CustomerPlan> assign_customers(const Program& program, const std::string& path,
                                             std::vector<std::string>& errors, const AssignOptions& options) {
  const Model& model = program.model;
  CustomerPlan plan;
  plan.path = path;
  plan.phase_accounts.assign(model.phases.size(), 0);
  plan.cycle_accounts.assign(model.phases.size(), std::vector<std::size_t>(static_cast<std::size_t>(model.reads.cycle_count()), 0));
  for (const ExclusionInfo& x : model.exclusions) plan.excluded.push_back({x.reason, 0, {}});

  Assigner assigner(program);

  CustomerReader reader(path, model.reads.cycle_count());
  Account account;
  auto started = std::chrono::steady_clock::now();
  auto shown = started;
  bool progress = options.progress && isatty(STDERR_FILENO);
  while (reader.next(account)) {
    ++plan.accounts;
    if (progress && (plan.accounts & 0xFFFF) == 0) {
      auto now = std::chrono::steady_clock::now();
      if (now - shown > std::chrono::milliseconds(250)) {
        shown = now;
        std::fprintf(stderr, "\rreading %s: %s accounts", path.c_str(), with_commas(plan.accounts).c_str());
      }
    }
    Assignment assigned = assigner.classify(account);
    if (options.each && (assigned.kind == Assignment::Kind::kExcluded || assigned.kind == Assignment::Kind::kPhase)) {
      options.each(account, assigned);
    }
    if (assigned.kind == Assignment::Kind::kExcluded) {
      ExclusionCount& x = plan.excluded[static_cast<std::size_t>(assigned.index)];
      if (x.examples.size() < options.examples) x.examples.push_back(account.id);
      ++x.count;
      continue;
    }
    ++plan.eligible;
    if (assigned.kind == Assignment::Kind::kNoPhase) {
      if (plan.unassigned == 0) plan.unassigned_line = account.line;
      if (plan.unassigned_examples.size() < options.examples) {
        plan.unassigned_examples.push_back(fmt::format("{} (line {}: {}, {}, {})", account.id, account.line,
                                                       customer_class_name(account.customer_class), account.rate_schedule,
                                                       account.city));
      }
      ++plan.unassigned;
      continue;
    }
    if (assigned.kind == Assignment::Kind::kManyPhases) {
      if (plan.overlapping == 0) plan.overlapping_line = account.line;
      if (plan.overlapping_examples.size() < options.examples) {
        std::vector<std::string> names;
        for (int p : assigned.phases) names.push_back(model.phases[static_cast<std::size_t>(p)].id);
        plan.overlapping_examples.push_back(fmt::format("{} (line {}: in {})", account.id, account.line, fmt::join(names, " and ")));
      }
      ++plan.overlapping;
      continue;
    }
    auto phase = static_cast<std::size_t>(assigned.index);
    ++plan.phase_accounts[phase];
    ++plan.cycle_accounts[phase][static_cast<std::size_t>(account.read_cycle - 1)];
  }
  if (progress) std::fprintf(stderr, "\r\033[K");
  for (const DataError& e : reader.errors()) errors.push_back(render_data_error(path, e));
  if (!reader.ok()) return std::nullopt;
  if (plan.unassigned > 0) {
    errors.push_back(fmt::format("{}:{}:1: error: {} {} in no phase: every eligible account must be in exactly one phase "
                                 "(widen a phase's `select`, add a phase, or `exclude` them); the first: {}\n",
                                 path, plan.unassigned_line, with_commas(plan.unassigned), plan.unassigned == 1 ? "account is" : "accounts are",
                                 fmt::join(plan.unassigned_examples, "; ")));
  }
  if (plan.overlapping > 0) {
    errors.push_back(fmt::format("{}:{}:1: error: {} {} in two or more phases: narrow the phases' `select` so they do not "
                                 "overlap; the first: {}\n",
                                 path, plan.overlapping_line, with_commas(plan.overlapping), plan.overlapping == 1 ? "account is" : "accounts are",
                                 fmt::join(plan.overlapping_examples, "; ")));
  }
  if (plan.unassigned > 0 || plan.overlapping > 0) return std::nullopt;
  return plan;
}

std::optional<std::size_t> task_accounts(const TaskNode& node, const CustomerPlan* customers) {
  if (customers == nullptr) return std::nullopt;
  switch (node.kind) {
    case NodeKind::kMilestone:
    case NodeKind::kGate: return 0;
    case NodeKind::kNotice: return customers->phase_accounts.at(static_cast<std::size_t>(node.phase));
    case NodeKind::kCcasr:
    case NodeKind::kSwitch:
      return customers->cycle_accounts.at(static_cast<std::size_t>(node.phase)).at(static_cast<std::size_t>(node.cycle - 1));
  }
  return std::nullopt;
}

namespace {

std::string span(Date a, Date b) {
  return a == b ? format_date(a) : fmt::format("{}..{}", format_date(a), format_date(b));
}

// Marks a task against --as-of: done by then, due (its window is open), or nothing.
std::string as_of_mark(const PlanView& view, Date earliest, Date latest) {
  if (!view.as_of) return "";
  if (latest < *view.as_of) return "  [past]";
  if (earliest <= *view.as_of) return "  [DUE]";
  return "";
}

std::string accounts_text(std::optional<std::size_t> n) {
  return n ? plural(*n, "account") : std::string();
}

const char* owner_word(const std::string& owner) {
  if (owner == "cca") return "CCA";
  if (owner == "utility") return "utility";
  return "joint";
}

std::string notice_template(const NoticeInfo& n) { return n.decl->template_path.value_or("(none)"); }

}  // namespace

std::string plan_text(const PlanView& view) {
  const Model& model = view.program.model;
  const TaskGraph& graph = view.graph;
  const CustomerPlan* customers = view.customers;
  std::string out;
  auto line = [&](const std::string& text) {
    std::string_view trimmed = text;
    while (!trimmed.empty() && trimmed.back() == ' ') trimmed.remove_suffix(1);
    out += trimmed;
    out += '\n';
  };
  line(fmt::format("{} ({}), utility {}", model.title, model.cca, model.utility));
  line(fmt::format("  workflow    {}", view.file));
  line(fmt::format("  calendar    {} ({} holidays)", model.calendar_name, model.calendar.holidays().size()));
  line(fmt::format("  reads       {}: {} read cycles, {}..{}", model.reads_name, model.reads.cycle_count(),
                   format_date(model.reads.first_date()), format_date(model.reads.last_date())));
  if (model.connect != nullptr) line(fmt::format("  CCASRs      Connect submitted {}", model.lead_text));
  for (const ParamInfo& p : model.params) {
    line(fmt::format("  parameter   {} = {}{}", p.name, value_to_string(p.value), p.overridden ? "  (set on the command line)" : ""));
  }
  if (view.as_of) line(fmt::format("  as of       {}", format_date(*view.as_of)));
  if (customers != nullptr) {
    std::size_t excluded = customers->accounts - customers->eligible;
    line(fmt::format("  customers   {}: {}, {} eligible, {} excluded", customers->path, plural(customers->accounts, "account"),
                     with_commas(customers->eligible), with_commas(excluded)));
    for (const ExclusionCount& x : customers->excluded) {
      std::string examples = x.examples.empty() ? "" : fmt::format(": {}{}", fmt::join(x.examples, ", "), x.count > x.examples.size() ? ", ..." : "");
      line(fmt::format("              excluded, {}: {}{}", x.reason, with_commas(x.count), examples));
    }
  } else {
    line("  customers   none given (--customers CSV): account counts are not shown");
  }

  line("");
  line("Milestones and gates");
  std::vector<const TaskNode*> gates;
  for (const TaskNode& node : graph.nodes()) {
    if (node.kind == NodeKind::kGate || node.kind == NodeKind::kMilestone) gates.push_back(&node);
  }
  std::stable_sort(gates.begin(), gates.end(), [](const TaskNode* a, const TaskNode* b) { return a->latest < b->latest; });
  for (const TaskNode* gate_node : gates) {
    const TaskNode& node = *gate_node;
    const GateInfo& gate = model.gates[static_cast<std::size_t>(node.gate)];
    std::vector<std::string> needs;
    for (int d : node.deps) needs.push_back(graph.nodes()[static_cast<std::size_t>(d)].id);
    std::string title = gate.decl->title.empty() ? "" : fmt::format("  \"{}\"", gate.decl->title);
    line(fmt::format("  {}  {:<9} {:<28} owner {:<7} {}{}{}", format_date(gate.due), node_kind_name(node.kind), node.id,
                     owner_word(gate.owner), needs.empty() ? "" : fmt::format("needs {}", fmt::join(needs, ", ")), title,
                     as_of_mark(view, node.earliest, node.latest)));
  }

  for (std::size_t p = 0; p < model.phases.size(); ++p) {
    const PhaseInfo& phase = model.phases[p];
    line("");
    std::vector<std::string> needs;
    for (int g : phase.deps) needs.push_back(model.gates[static_cast<std::size_t>(g)].id);
    std::string count = customers ? fmt::format(", {}", plural(customers->phase_accounts[p], "account")) : "";
    line(fmt::format("Phase {}{}: enroll {}{}{}", phase.id, phase.decl->title.empty() ? "" : " \"" + phase.decl->title + "\"",
                     format_date(phase.enroll), count, needs.empty() ? "" : fmt::format(", needs {}", fmt::join(needs, ", "))));
    line(fmt::format("  select {}", ast::expr_to_string(*phase.decl->select)));

    struct Entry {
      Date when;
      int order;
      std::vector<std::string> lines;
    };
    std::vector<Entry> entries;
    int order = 0;
    Date first_submit = phase.cycles.front().submit;
    Date last_read = phase.cycles.front().read;
    for (const CycleInfo& c : phase.cycles) {
      first_submit = std::min(first_submit, c.submit);
      last_read = std::max(last_read, c.read);
    }
    for (const TaskNode& node : graph.nodes()) {
      if (node.phase != static_cast<int>(p) || node.kind != NodeKind::kNotice) continue;
      const NoticeInfo& n = model.notices[static_cast<std::size_t>(node.notice)];
      bool pre = n.decl->stage == ast::Stage::kPre;
      Entry e{node.earliest, order++, {}};
      std::string who = n.decl->sender.value_or("cca");
      e.lines.push_back(fmt::format("  {}  notice {:<22} {:<4} window {:<23} sender {:<7} template {}{}{}", format_date(node.send),
                                    n.id, pre ? "pre" : "post", span(node.earliest, node.latest), owner_word(who),
                                    notice_template(n), customers ? "  " + accounts_text(task_accounts(node, customers)) : "",
                                    as_of_mark(view, node.earliest, node.latest)));
      if (!pre || node.earliest != phase.cycles.front().windows[static_cast<std::size_t>(node.notice)].start) {
        e.lines.push_back("              by read cycle: first send on each cycle's window");
        std::string row;
        for (const CycleInfo& c : phase.cycles) {
          const WindowDates& w = c.windows[static_cast<std::size_t>(node.notice)];
          row += fmt::format("  c{:02} {}", c.cycle, format_date(w.send));
          if (c.cycle % 6 == 0) {
            e.lines.push_back("            " + row);
            row.clear();
          }
        }
        if (!row.empty()) e.lines.push_back("            " + row);
      }
      entries.push_back(std::move(e));
    }
    Entry batches{first_submit, order++, {}};
    batches.lines.push_back(fmt::format("  {}  Connect CCASRs and switches by read cycle ({} batches, switching {})",
                                        format_date(first_submit), phase.cycles.size(), span(phase.cycles.front().read, last_read)));
    batches.lines.push_back(fmt::format("              cycle  submit      switch      {}", customers ? "accounts" : ""));
    for (const CycleInfo& c : phase.cycles) {
      std::string n = customers ? with_commas(customers->cycle_accounts[p][static_cast<std::size_t>(c.cycle - 1)]) : "";
      batches.lines.push_back(fmt::format("              {:>5}  {}  {}  {:>8}{}", c.cycle, format_date(c.submit), format_date(c.read), n,
                                          as_of_mark(view, c.submit, c.read)));
    }
    entries.push_back(std::move(batches));
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return std::tie(a.when, a.order) < std::tie(b.when, b.order);
    });
    for (const Entry& e : entries) {
      for (const std::string& l : e.lines) line(l);
    }
    bool any_rule = false;
    for (const RuleOutcome& o : model.outcomes) {
      if (o.phase != static_cast<int>(p)) continue;
      if (!any_rule) line("  rules");
      any_rule = true;
      line(fmt::format("    {}  {}{}{}", o.pass ? "pass" : "FAIL", o.rule, o.title.empty() ? "" : ": " + o.title,
                       o.pass ? "" : "\n          " + o.detail));
    }
  }

  bool global = false;
  for (const RuleOutcome& o : model.outcomes) {
    if (o.phase >= 0) continue;
    if (!global) {
      line("");
      line("Rules and assertions over the whole workflow");
    }
    global = true;
    line(fmt::format("  {}  {}{}{}", o.pass ? "pass" : "FAIL", o.rule, o.title.empty() ? "" : ": " + o.title,
                     o.pass ? "" : "\n        " + o.detail));
  }

  line("");
  std::vector<std::string> path;
  for (int v : graph.critical_path()) path.push_back(graph.nodes()[static_cast<std::size_t>(v)].id);
  if (!path.empty()) {
    const TaskNode& last = graph.nodes()[static_cast<std::size_t>(graph.critical_path().back())];
    line(fmt::format("Critical path (ends {}): {}", format_date(last.latest), fmt::join(path, " -> ")));
  }
  std::size_t notices = 0, batches = 0;
  for (const TaskNode& n : graph.nodes()) {
    notices += n.kind == NodeKind::kNotice;
    batches += n.kind == NodeKind::kCcasr;
  }
  line(fmt::format("{} tasks: {} milestones and gates, {} notice mailings, {} CCASR batches, {} switches",
                   graph.nodes().size(), model.gates.size(), notices, batches, batches));
  return out;
}

nlohmann::json plan_json(const PlanView& view) {
  using nlohmann::json;
  const Model& model = view.program.model;
  const TaskGraph& graph = view.graph;
  const CustomerPlan* customers = view.customers;
  json doc;
  doc["workflow"] = {{"title", model.title}, {"cca", model.cca}, {"utility", model.utility}, {"file", view.file}};
  doc["calendar"] = {{"name", model.calendar_name}, {"holidays", model.calendar.holidays().size()}};
  doc["reads"] = {{"name", model.reads_name},
                  {"cycles", model.reads.cycle_count()},
                  {"first", format_date(model.reads.first_date())},
                  {"last", format_date(model.reads.last_date())}};
  json params = json::object();
  for (const ParamInfo& p : model.params) params[p.name] = {{"value", value_to_string(p.value)}, {"overridden", p.overridden}};
  doc["parameters"] = params;
  doc["as_of"] = view.as_of ? json(format_date(*view.as_of)) : json(nullptr);
  if (customers != nullptr) {
    json excluded = json::array();
    for (const ExclusionCount& x : customers->excluded) {
      excluded.push_back({{"reason", x.reason}, {"count", x.count}, {"examples", x.examples}});
    }
    doc["customers"] = {{"file", customers->path}, {"accounts", customers->accounts}, {"eligible", customers->eligible},
                        {"excluded", excluded}};
  } else {
    doc["customers"] = nullptr;
  }
  json tasks = json::array();
  for (int v : graph.order()) {
    const TaskNode& n = graph.nodes()[static_cast<std::size_t>(v)];
    json deps = json::array();
    for (int d : n.deps) deps.push_back(graph.nodes()[static_cast<std::size_t>(d)].id);
    auto count = task_accounts(n, customers);
    json t = {{"id", n.id},
              {"kind", node_kind_name(n.kind)},
              {"depends_on", deps},
              {"earliest", format_date(n.earliest)},
              {"latest", format_date(n.latest)},
              {"accounts", count ? json(*count) : json(nullptr)},
              {"retry", n.retry}};
    if (n.phase >= 0) t["phase"] = model.phases[static_cast<std::size_t>(n.phase)].id;
    if (n.cycle > 0) t["read_cycle"] = n.cycle;
    if (n.kind == NodeKind::kNotice) {
      const NoticeInfo& info = model.notices[static_cast<std::size_t>(n.notice)];
      t["notice"] = info.id;
      t["stage"] = info.decl->stage == ast::Stage::kPre ? "pre" : "post";
      t["send"] = format_date(n.send);
      t["sender"] = info.decl->sender.value_or("cca");
      t["template"] = info.decl->template_path ? json(*info.decl->template_path) : json(nullptr);
    }
    if (n.kind == NodeKind::kCcasr) t["submit"] = format_date(n.send);
    if (n.kind == NodeKind::kGate || n.kind == NodeKind::kMilestone) {
      const GateInfo& g = model.gates[static_cast<std::size_t>(n.gate)];
      t["owner"] = g.owner;
      t["due"] = format_date(g.due);
    }
    tasks.push_back(std::move(t));
  }
  doc["tasks"] = tasks;
  json phases = json::array();
  for (std::size_t p = 0; p < model.phases.size(); ++p) {
    const PhaseInfo& phase = model.phases[p];
    json cycles = json::array();
    for (const CycleInfo& c : phase.cycles) {
      json cycle = {{"cycle", c.cycle}, {"submit", format_date(c.submit)}, {"switch", format_date(c.read)}};
      cycle["accounts"] = customers ? json(customers->cycle_accounts[p][static_cast<std::size_t>(c.cycle - 1)]) : json(nullptr);
      cycles.push_back(cycle);
    }
    json needs = json::array();
    for (int g : phase.deps) needs.push_back(model.gates[static_cast<std::size_t>(g)].id);
    phases.push_back({{"id", phase.id},
                      {"enroll", format_date(phase.enroll)},
                      {"select", ast::expr_to_string(*phase.decl->select)},
                      {"needs", needs},
                      {"accounts", customers ? json(customers->phase_accounts[p]) : json(nullptr)},
                      {"cycles", cycles}});
  }
  doc["phases"] = phases;
  json rules = json::array();
  for (const RuleOutcome& o : model.outcomes) {
    rules.push_back({{"rule", o.rule},
                     {"title", o.title},
                     {"phase", o.phase >= 0 ? json(model.phases[static_cast<std::size_t>(o.phase)].id) : json(nullptr)},
                     {"pass", o.pass},
                     {"detail", o.detail}});
  }
  doc["rules"] = rules;
  json critical = json::array();
  for (int v : graph.critical_path()) critical.push_back(graph.nodes()[static_cast<std::size_t>(v)].id);
  doc["critical_path"] = critical;
  return doc;
}

std::string plan_dot(const PlanView& view) {
  const Model& model = view.program.model;
  const TaskGraph& graph = view.graph;
  std::string out = "digraph plan {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n";
  out += fmt::format("  label=\"{} ({})\";\n  labelloc=t;\n", model.title, model.cca);
  std::vector<bool> critical(graph.nodes().size(), false);
  for (int v : graph.critical_path()) critical[static_cast<std::size_t>(v)] = true;
  auto node_line = [&](std::size_t v) {
    const TaskNode& n = graph.nodes()[v];
    auto count = task_accounts(n, view.customers);
    std::string label = fmt::format("{}\\n{} {}{}", n.id, node_kind_name(n.kind), span(n.earliest, n.latest),
                                    count ? fmt::format("\\n{} accounts", with_commas(*count)) : "");
    const char* shape = n.kind == NodeKind::kGate ? "octagon" : n.kind == NodeKind::kMilestone ? "diamond"
                        : n.kind == NodeKind::kNotice ? "note" : "box";
    return fmt::format("    n{} [label=\"{}\", shape={}{}];\n", v, label, shape, critical[v] ? ", color=red, penwidth=2" : "");
  };
  for (std::size_t v = 0; v < graph.nodes().size(); ++v) {
    if (graph.nodes()[v].phase < 0) out += node_line(v);
  }
  for (std::size_t p = 0; p < model.phases.size(); ++p) {
    out += fmt::format("  subgraph cluster_{} {{\n    label=\"phase {} (enroll {})\";\n", p, model.phases[p].id,
                       format_date(model.phases[p].enroll));
    for (std::size_t v = 0; v < graph.nodes().size(); ++v) {
      if (graph.nodes()[v].phase == static_cast<int>(p)) out += node_line(v);
    }
    out += "  }\n";
  }
  for (std::size_t v = 0; v < graph.nodes().size(); ++v) {
    for (int d : graph.nodes()[v].deps) {
      bool on_path = critical[v] && critical[static_cast<std::size_t>(d)];
      out += fmt::format("  n{} -> n{}{};\n", d, v, on_path ? " [color=red, penwidth=2]" : "");
    }
  }
  out += "}\n";
  return out;
}

}  // namespace ccaflow
