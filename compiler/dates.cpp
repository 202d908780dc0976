// Pass 4: dates. Orders declarations by what they depend on (Boost.Graph: a cycle is
// reported with every member named), evaluates parameters (with --set overrides), loads
// the calendar and read schedule, and computes every date of the plan: due dates,
// enrollment dates, each phase's per-read-cycle submission and switch dates, and each
// notice's window and send date per read cycle. Dates that cannot work are reported here.
#include <boost/graph/adjacency_list.hpp>
#include <charconv>
#include <cmath>
#include <boost/graph/strong_components.hpp>
#include <boost/graph/topological_sort.hpp>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sstream>

#include "compiler/eval.h"
#include "compiler/passes.h"
#include "compiler/suggest.h"

namespace ccaflow {
namespace fs = std::filesystem;

namespace {

using ast::Expr;
using ast::RefKind;

// A declaration that has a date or value of its own.
struct DeclRef {
  enum class Kind { kParam, kTask, kPhase } kind;
  const void* decl;
  const LoadedModule* module;
  ast::NodeId id;
  std::string name;  // as written in messages: "gate edi_testing"
};

void collect_refs(const Expr& e, std::vector<const Expr*>& out) {
  if (e.kind == ast::ExprKind::kName && (e.ref == RefKind::kParam || e.ref == RefKind::kTask || e.ref == RefKind::kPhase)) {
    out.push_back(&e);
  }
  for (const auto& a : e.args) collect_refs(*a, out);
}

// `--set` values are held to the same limits as literals in a workflow file.
constexpr int kMaxAmount = 100000;
constexpr std::size_t kMaxScheduleBytes = 16 << 20;  // 21 cycles x 12 months x 50 years is 200 KB

std::optional<ast::Duration> parse_duration_text(const std::string& text) {
  std::istringstream in(text);
  std::string number, unit, second, extra;
  if (!(in >> number >> unit)) return std::nullopt;
  in >> second >> extra;
  int amount = -1;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), amount);
  if (ec != std::errc{} || end != number.data() + number.size() || amount < 0 || amount > kMaxAmount || !extra.empty()) {
    return std::nullopt;
  }
  ast::Duration d{amount, ast::DurationUnit::kDays};
  if ((unit == "day" || unit == "days") && second.empty()) d.unit = ast::DurationUnit::kDays;
  else if (unit == "business" && (second == "day" || second == "days")) d.unit = ast::DurationUnit::kBusinessDays;
  else if ((unit == "week" || unit == "weeks") && second.empty()) d.unit = ast::DurationUnit::kWeeks;
  else if ((unit == "month" || unit == "months") && second.empty()) d.unit = ast::DurationUnit::kMonths;
  else if (unit == "billing" && (second == "cycle" || second == "cycles")) d.unit = ast::DurationUnit::kBillingCycles;
  else return std::nullopt;
  return d;
}

class DatePass {
 public:
  DatePass(Program& program, Diagnostics& diagnostics)
      : program_(program), model_(program.model), diagnostics_(diagnostics) {
    program_.evaluator = std::make_shared<Evaluator>(model_);
    eval_ = program_.evaluator.get();
  }

  void run() {
    workflow_identity();
    calendar();
    read_schedule();
    if (diagnostics_.has_errors()) return;
    std::vector<std::size_t> order;
    if (!dependency_order(order)) return;
    check_overrides();
    preallocate();
    for (std::size_t i : order) evaluate(decls_[i]);
    policies();
    if (diagnostics_.has_errors()) return;
    check_dependencies();
    exclusions();
    notices();
    connect();
    if (diagnostics_.has_errors()) return;
    for (std::size_t p = 0; p < model_.phases.size(); ++p) phase_schedule(static_cast<int>(p));
    selectors();
    deadlines();
  }

 private:
  Location where(const LoadedModule& m, ast::NodeId id) const { return m.ast->where(id); }
  Location where(const LoadedModule& m, const Expr& e) const { return m.ast->where(e.id); }

  // --- identity, calendar, read schedule ----------------------------------------------

  const ast::Workflow* workflow_ = nullptr;

  void workflow_identity() {
    LoadedModule& root = program_.root();
    if (root.ast->workflows.empty()) return;
    workflow_ = &root.ast->workflows.front();
    const ast::Workflow& w = *workflow_;
    model_.title = w.title;
    Location at = where(root, w.id);
    auto need = [&](bool given, const char* what, const char* example) {
      if (!given) diagnostics_.error(at, fmt::format("the workflow has no `{}`: add `{}`", what, example));
    };
    need(w.cca.has_value(), "cca", "cca CODE");
    need(w.utility.has_value(), "utility", "utility SCE");
    need(w.calendar.has_value(), "calendar", "calendar sce.business_days");
    need(w.reads.has_value(), "reads", "reads sce.reads_2025_2028");
    model_.cca = w.cca.value_or("");
    model_.utility = w.utility.value_or("");
    model_.utility_name = w.utility_name.empty() ? model_.utility : w.utility_name;
    model_.cca_duns = w.cca_duns;
    model_.utility_duns = w.utility_duns;
    if (w.customers) {
      model_.customers = (fs::path(root.ast->directory) / *w.customers).string();
    }
  }

  // The declaration a workflow header names, and the module it is declared in.
  template <typename T>
  std::pair<const T*, const LoadedModule*> find_decl(const ast::QualifiedName& name) {
    const LoadedModule& root = program_.root();
    auto symbol = program_.lookup(root, name.parts);
    if (!symbol) return {nullptr, nullptr};
    const LoadedModule* module = &root;
    if (name.parts.size() == 2) module = &program_.loaded(root.imports.at(name.parts[0]));
    return {static_cast<const T*>(symbol->decl), module};
  }

  // The workflow's opt-out and response policies, checked and turned into settings.
  void policies() {
    if (workflow_ == nullptr) return;
    if (workflow_->optouts) {
      auto [policy, module] = find_decl<ast::OptoutPolicy>(*workflow_->optouts);
      if (policy != nullptr) optout_terms(*policy, *module);
    }
    if (workflow_->responses) {
      const auto [policy, found_in] = find_decl<ast::ResponsePolicy>(*workflow_->responses);
      if (policy == nullptr) return;
      const LoadedModule* module = found_in;  // a plain variable: lambdas below capture it
      ResponseCodes& codes = model_.responses;
      codes.name = workflow_->responses->str();
      std::map<std::string, ast::NodeId> seen;
      auto add = [&](const std::vector<std::pair<ast::NodeId, std::string>>& list, std::vector<std::string>& out) {
        for (const auto& [id, code] : list) {
          auto [it, inserted] = seen.try_emplace(code, id);
          if (!inserted) {
            auto& d = diagnostics_.error(where(*module, id), fmt::format("reject reason \"{}\" is listed twice", code));
            d.notes.push_back({where(*module, it->second), "previously listed here"});
            continue;
          }
          out.push_back(code);
        }
      };
      add(policy->retry, codes.retry);
      add(policy->hold, codes.hold);
    }
  }

  void optout_terms(const ast::OptoutPolicy& policy, const LoadedModule& module) {
    OptoutTerms& terms = model_.optouts;
    terms.name = workflow_->optouts->str();
    terms.hold_early = policy.hold_early.value_or(true);
    auto span = [&](const ast::ExprPtr& expr, ast::Duration& out, const char* what) {
      if (!expr) {
        diagnostics_.error(where(module, policy.id), fmt::format("opt-out policy `{}` has no `{}` setting", policy.name, what));
        return;
      }
      try {
        out = eval_->eval(*expr, EvalScope{}).duration;
      } catch (const EvalError& error) {
        diagnostics_.error(where(module, *error.at), error.message);
        return;
      }
      if (out.unit == ast::DurationUnit::kBillingCycles) {
        diagnostics_.error(where(module, *expr), fmt::format("`{}` is counted in days, business days, weeks or months", what));
      }
    };
    span(policy.free_period, terms.free_period, "free");
    span(policy.return_notice, terms.return_notice, "return");
    std::map<std::string, ast::NodeId> seen;
    static const std::vector<std::string> kClasses = {"residential", "commercial", "industrial", "agricultural", "municipal", "lighting"};
    for (const auto& fee : policy.fees) {
      if (std::find(kClasses.begin(), kClasses.end(), fee.customer_class) == kClasses.end()) {
        diagnostics_.error(where(module, fee.id), fmt::format("unknown customer class `{}`{}: use {}", fee.customer_class,
                                                              did_you_mean(fee.customer_class, kClasses), fmt::join(kClasses, ", ")));
        continue;
      }
      auto [it, inserted] = seen.try_emplace(fee.customer_class, fee.id);
      if (!inserted) {
        auto& d = diagnostics_.error(where(module, fee.id), fmt::format("the fee for {} is given twice", fee.customer_class));
        d.notes.push_back({where(module, it->second), "previously given here"});
        continue;
      }
      terms.fee_cents[fee.customer_class] = std::lround(fee.amount * 100);
    }
  }

  void calendar() {
    if (workflow_ == nullptr || !workflow_->calendar) return;
    auto [cal, module] = find_decl<ast::Calendar>(*workflow_->calendar);
    if (cal == nullptr) return;
    model_.calendar_name = workflow_->calendar->str();
    static const std::vector<std::string> kDays = {"sunday", "monday", "tuesday", "wednesday",
                                                   "thursday", "friday", "saturday"};
    if (cal->weekend_given) {
      for (unsigned d = 0; d < 7; ++d) model_.calendar.set_weekend(d, false);
      for (const auto& [id, day] : cal->weekend) {
        auto it = std::find(kDays.begin(), kDays.end(), day);
        if (it == kDays.end()) {
          diagnostics_.error(where(*module, id), fmt::format("unknown weekday `{}`{}", day, did_you_mean(day, kDays)));
          continue;
        }
        model_.calendar.set_weekend(static_cast<unsigned>(it - kDays.begin()), true);
      }
      if (!model_.calendar.has_working_weekday()) {
        diagnostics_.error(where(*module, cal->id), fmt::format("calendar `{}` makes every day of the week a weekend: "
                                                                "it has no business days", cal->name));
      }
    }
    std::map<Date, ast::NodeId> seen;
    for (const auto& h : cal->holidays) {
      auto [it, inserted] = seen.try_emplace(h.date, h.id);
      if (!inserted) {
        auto& d = diagnostics_.error(where(*module, h.id), fmt::format("holiday {} is listed twice", format_date(h.date)));
        d.notes.push_back({where(*module, it->second), "previously defined here"});
      }
      model_.calendar.add_holiday(h.date, h.name);
    }
  }

  void read_schedule() {
    if (workflow_ == nullptr || !workflow_->reads) return;
    auto [reads, module] = find_decl<ast::Reads>(*workflow_->reads);
    if (reads == nullptr) return;
    model_.reads_name = workflow_->reads->str();
    if (!reads->file) {
      diagnostics_.error(where(*module, reads->id), fmt::format("read schedule `{}` names no file: add `file \"reads.csv\"`", reads->name));
      return;
    }
    fs::path path = fs::path(module->ast->directory) / *reads->file;
    model_.reads_path = path.string();
    Location at = where(*module, reads->file_id);
    std::string error;
    auto text = program_.read_input(path.string(), error, kMaxScheduleBytes);
    if (!text) {
      diagnostics_.error(at, fmt::format("cannot read the read schedule {}: {}", path.string(), error));
      return;
    }
    std::size_t line = 0;
    auto schedule = ReadSchedule::parse(*text, error, line);
    if (!schedule) {
      diagnostics_.error(at, fmt::format("read schedule {} line {}: {}", path.string(), line, error));
      return;
    }
    model_.reads = std::move(*schedule);
  }

  // --- dependency order -------------------------------------------------------------

  std::vector<DeclRef> decls_;
  std::map<const void*, std::size_t> index_of_;

  bool dependency_order(std::vector<std::size_t>& order) {
    for (const LoadedModule& m : program_.modules) {
      std::string prefix = m.is_root ? "" : m.ast->name + ".";
      for (const auto& p : m.ast->params) add_decl({DeclRef::Kind::kParam, &p, &m, p.id, "parameter " + prefix + p.name});
      for (const auto& t : m.ast->tasks) {
        add_decl({DeclRef::Kind::kTask, &t, &m, t.id,
                  std::string(t.kind == ast::TaskKind::kGate ? "gate " : "milestone ") + prefix + t.name});
      }
      for (const auto& p : m.ast->phases) add_decl({DeclRef::Kind::kPhase, &p, &m, p.id, "phase " + prefix + p.name});
    }
    using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
    Graph graph(decls_.size());
    for (std::size_t i = 0; i < decls_.size(); ++i) {
      for (std::size_t dep : depends_on(decls_[i])) boost::add_edge(i, dep, graph);
    }
    std::vector<int> component(decls_.size());
    int components = boost::strong_components(graph, component.data());
    std::vector<std::vector<std::size_t>> members(static_cast<std::size_t>(components));
    for (std::size_t i = 0; i < decls_.size(); ++i) members[static_cast<std::size_t>(component[i])].push_back(i);
    bool ok = true;
    for (const auto& group : members) {
      bool self_loop = group.size() == 1 && boost::edge(group[0], group[0], graph).second;
      if (group.size() < 2 && !self_loop) continue;
      ok = false;
      report_cycle(group, graph, component);
    }
    if (!ok) return false;
    // Dependencies point from a declaration to what it needs, so a reverse topological
    // order evaluates what is needed first.
    boost::topological_sort(graph, std::back_inserter(order));
    return true;
  }

  void add_decl(DeclRef ref) {
    index_of_[ref.decl] = decls_.size();
    decls_.push_back(std::move(ref));
  }

  std::vector<std::size_t> depends_on(const DeclRef& d) {
    std::vector<const Expr*> refs;
    std::vector<std::size_t> deps;
    auto after = [&](const std::vector<ast::QualifiedName>& names) {
      for (const auto& n : names) {
        if (const void* target = task_named(*d.module, n)) deps.push_back(index_of_.at(target));
      }
    };
    switch (d.kind) {
      case DeclRef::Kind::kParam: collect_refs(*static_cast<const ast::Param*>(d.decl)->value, refs); break;
      case DeclRef::Kind::kTask: {
        auto* t = static_cast<const ast::Task*>(d.decl);
        if (t->due) collect_refs(*t->due, refs);
        after(t->after);
        break;
      }
      case DeclRef::Kind::kPhase: {
        auto* p = static_cast<const ast::Phase*>(d.decl);
        if (p->enroll) collect_refs(*p->enroll, refs);
        if (p->select) collect_refs(*p->select, refs);
        after(p->after);
        break;
      }
    }
    for (const Expr* e : refs) {
      if (auto it = index_of_.find(e->target); it != index_of_.end()) deps.push_back(it->second);
    }
    return deps;
  }

  const void* task_named(const LoadedModule& module, const ast::QualifiedName& name) const {
    auto symbol = program_.lookup(module, name.parts);
    return symbol && symbol->kind == RefKind::kTask ? symbol->decl : nullptr;
  }

  template <typename Graph>
  void report_cycle(const std::vector<std::size_t>& group, const Graph& graph, const std::vector<int>& component) {
    // Start at the member written first, then walk edges inside the component back to it.
    std::size_t start = *std::min_element(group.begin(), group.end(), [&](std::size_t a, std::size_t b) {
      Location la = where(*decls_[a].module, decls_[a].id), lb = where(*decls_[b].module, decls_[b].id);
      return std::tie(la.file, la.line, la.column) < std::tie(lb.file, lb.line, lb.column);
    });
    // Breadth-first inside the component, remembering where each member was reached from,
    // until an edge leads back to the start: the shortest cycle through it, found without
    // recursion however long it is.
    std::map<std::size_t, std::size_t> parent{{start, start}};
    std::vector<std::size_t> frontier{start};
    std::optional<std::size_t> closing;
    while (!frontier.empty() && !closing) {
      std::vector<std::size_t> next_frontier;
      for (std::size_t v : frontier) {
        for (auto [e, end] = boost::out_edges(v, graph); e != end && !closing; ++e) {
          std::size_t next = boost::target(*e, graph);
          if (component[next] != component[start]) continue;
          if (next == start) closing = v;
          else if (parent.emplace(next, v).second) next_frontier.push_back(next);
        }
        if (closing) break;
      }
      frontier = std::move(next_frontier);
    }
    std::vector<std::size_t> path;
    for (std::size_t v = closing.value_or(start); v != start; v = parent.at(v)) path.push_back(v);
    path.push_back(start);
    std::reverse(path.begin(), path.end());
    std::string chain;
    for (std::size_t v : path) chain += decls_[v].name + " -> ";
    chain += decls_[start].name;
    auto& d = diagnostics_.error(where(*decls_[start].module, decls_[start].id),
                                 fmt::format("dependency cycle: {}", chain));
    for (std::size_t i = 1; i < path.size(); ++i) {
      d.notes.push_back({where(*decls_[path[i]].module, decls_[path[i]].id), decls_[path[i]].name + " is defined here"});
    }
  }

  // --- values ---------------------------------------------------------------------

  std::string qualified(const DeclRef& d, const std::string& name) const {
    return d.module->is_root ? name : d.module->ast->name + "." + name;
  }

  void check_overrides() {
    std::vector<std::string> names;
    for (const DeclRef& d : decls_) {
      if (d.kind == DeclRef::Kind::kParam) names.push_back(qualified(d, static_cast<const ast::Param*>(d.decl)->name));
    }
    for (const auto& [name, value] : program_.options.overrides) {
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        program_.usage_errors.push_back(fmt::format("--set {}: the workflow has no parameter `{}`{}", name, name,
                                                    did_you_mean(name, names)));
      }
    }
  }

  // Parses a --set value as the type of the parameter's own value; list items as the
  // type of its items (text for an empty list).
  std::optional<Value> parse_override(const std::string& text, const Value& like) {
    switch (like.type) {
      case Type::kDate:
        if (auto d = parse_date(text)) return Value::of_date(*d);
        return std::nullopt;
      case Type::kNumber: {
        double n = 0;
        bool plain = !text.empty() && text.find_first_not_of("0123456789.-") == std::string::npos;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (!plain || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(n)) return std::nullopt;
        return Value::of_number(n);
      }
      case Type::kText: return Value::of_text(text);
      case Type::kBool:
        if (text == "true" || text == "false") return Value::of_bool(text == "true");
        return std::nullopt;
      case Type::kDuration:
        if (auto d = parse_duration_text(text)) return Value::of_duration(*d);
        return std::nullopt;
      case Type::kList: {
        Value element = like.list.empty() ? Value::of_text("") : like.list.front();
        Value list;
        list.type = Type::kList;
        std::stringstream in(text);
        std::string item;
        while (std::getline(in, item, ',')) {
          while (!item.empty() && item.front() == ' ') item.erase(item.begin());
          while (!item.empty() && item.back() == ' ') item.pop_back();
          auto parsed = parse_override(item, element);
          if (!parsed) return std::nullopt;
          list.list.push_back(std::move(*parsed));
        }
        return list;
      }
      default: return std::nullopt;
    }
  }

  // Gates and phases keep their source order in the model, whatever order their dates
  // are evaluated in.
  void preallocate() {
    for (const DeclRef& d : decls_) {
      if (d.kind == DeclRef::Kind::kTask) {
        auto* t = static_cast<const ast::Task*>(d.decl);
        if (!t->due) continue;
        GateInfo gate;
        gate.id = qualified(d, t->name);
        gate.decl = t;
        gate.module = d.module->ast.get();
        gate.owner = t->owner.value_or("joint");
        gate_index_[t] = static_cast<int>(model_.gates.size());
        model_.gates.push_back(std::move(gate));
      } else if (d.kind == DeclRef::Kind::kPhase) {
        auto* p = static_cast<const ast::Phase*>(d.decl);
        if (!p->enroll) continue;
        PhaseInfo phase;
        phase.id = qualified(d, p->name);
        phase.decl = p;
        phase.module = d.module->ast.get();
        eval_->phase_index[p] = static_cast<int>(model_.phases.size());
        model_.phases.push_back(std::move(phase));
      }
    }
  }

  void evaluate(const DeclRef& d) {
    EvalScope scope;
    try {
      switch (d.kind) {
        case DeclRef::Kind::kParam: {
          auto* p = static_cast<const ast::Param*>(d.decl);
          Value value = eval_->eval(*p->value, scope);
          ParamInfo info{qualified(d, p->name), p, value, false};
          if (auto it = program_.options.overrides.find(info.name); it != program_.options.overrides.end()) {
            if (auto parsed = parse_override(it->second, value)) {
              info.value = *parsed;
              info.overridden = true;
            } else {
              program_.usage_errors.push_back(fmt::format("--set {}={}: `{}` holds a {}, as in {}", it->first, it->second,
                                                          info.name, type_name(TypeRef{value.type}), value_to_string(value)));
            }
          }
          eval_->params[p] = info.value;
          model_.params.push_back(std::move(info));
          break;
        }
        case DeclRef::Kind::kTask: {
          auto* t = static_cast<const ast::Task*>(d.decl);
          if (!t->due) return;
          Date due = eval_->eval_date(*t->due, scope);
          eval_->task_dates[t] = due;
          model_.gates[static_cast<std::size_t>(gate_index_.at(t))].due = due;
          if (auto closed = model_.calendar.closed_reason(due)) {
            diagnostics_.error(where(*d.module, *t->due),
                               fmt::format("{} is due on {}, which is not a business day ({}): the nearest business days are {} and {}",
                                           d.name, format_date(due), *closed,
                                           format_date(model_.calendar.previous_business_day(due)),
                                           format_date(model_.calendar.next_business_day(due))));
          }
          break;
        }
        case DeclRef::Kind::kPhase: {
          auto* p = static_cast<const ast::Phase*>(d.decl);
          if (!p->enroll) return;
          model_.phases[static_cast<std::size_t>(eval_->phase_index.at(p))].enroll = eval_->eval_date(*p->enroll, scope);
          break;
        }
      }
    } catch (const EvalError& error) {
      diagnostics_.error(where(*d.module, *error.at), error.message);
    }
  }

  std::map<const ast::Task*, int> gate_index_;

  int gate_of(const LoadedModule& module, const ast::QualifiedName& name) const {
    auto* t = static_cast<const ast::Task*>(task_named(module, name));
    auto it = gate_index_.find(t);
    return it == gate_index_.end() ? -1 : it->second;
  }

  const LoadedModule& loaded(const ast::Module* m) const { return program_.loaded(m); }

  static const char* node_word(const GateInfo& gate) {
    return gate.decl->kind == ast::TaskKind::kGate ? "gate" : "milestone";
  }

  // A gate due before what it waits for, or a phase enrolled before its gates, is a plan
  // that cannot happen as written.
  void check_dependencies() {
    for (GateInfo& gate : model_.gates) {
      const LoadedModule& m = loaded(gate.module);
      for (const auto& name : gate.decl->after) {
        int dep = gate_of(m, name);
        if (dep < 0) continue;
        gate.deps.push_back(dep);
        const GateInfo& other = model_.gates[static_cast<std::size_t>(dep)];
        if (other.due > gate.due) {
          auto& d = diagnostics_.error(where(m, name.id),
                                       fmt::format("{} {} is due {}, before {} {} that it needs (due {}): move one of the dates",
                                                   node_word(gate), gate.id, format_date(gate.due), node_word(other),
                                                   other.id, format_date(other.due)));
          d.notes.push_back({where(loaded(other.module), other.decl->id), other.id + " is defined here"});
        }
      }
    }
    for (PhaseInfo& phase : model_.phases) {
      const LoadedModule& m = loaded(phase.module);
      for (const auto& name : phase.decl->after) {
        int dep = gate_of(m, name);
        if (dep < 0) continue;
        phase.deps.push_back(dep);
        const GateInfo& gate = model_.gates[static_cast<std::size_t>(dep)];
        if (gate.due > phase.enroll) {
          auto& d = diagnostics_.error(where(m, *phase.decl->enroll),
                                       fmt::format("phase {} enrolls on {}, before {} {} that it needs (due {}): "
                                                   "move the enrollment date or the {}",
                                                   phase.id, format_date(phase.enroll), node_word(gate), gate.id,
                                                   format_date(gate.due), node_word(gate)));
          d.notes.push_back({where(loaded(gate.module), gate.decl->id), gate.id + " is defined here"});
        }
      }
    }
  }

  void exclusions() {
    for (const LoadedModule& m : program_.modules) {
      for (const auto& x : m.ast->excludes) model_.exclusions.push_back({x.reason, &x});
    }
  }

  void notices() {
    for (const LoadedModule& m : program_.modules) {
      for (const auto& set : m.ast->notice_sets) {
        for (const auto& n : set.notices) {
          NoticeInfo info;
          info.id = (m.is_root ? "" : m.ast->name + ".") + set.name + "." + n.name;
          info.decl = &n;
          info.set = &set;
          info.module = m.ast.get();
          for (const auto& name : n.after) {
            if (int g = gate_of(m, name); g >= 0) info.deps.push_back(g);
          }
          std::vector<const Expr*> refs;
          for (const ast::ExprPtr* part : {&n.window.from, &n.window.to, &n.window.anchor}) {
            if (*part) collect_refs(**part, refs);
          }
          for (const Expr* e : refs) {
            if (e->ref != RefKind::kTask) continue;
            if (auto it = gate_index_.find(static_cast<const ast::Task*>(e->target)); it != gate_index_.end()) {
              if (std::find(info.deps.begin(), info.deps.end(), it->second) == info.deps.end()) info.deps.push_back(it->second);
            }
          }
          model_.notices.push_back(std::move(info));
        }
      }
    }
  }

  // The parts of selectors that do not depend on the account are evaluated once, before
  // any account is read: an error there (an index past a list's end) is reported now.
  void selectors() {
    for (const LoadedModule& m : program_.modules) {
      for (const auto& x : m.ast->excludes) fold(m, *x.when);
      for (const auto& p : m.ast->phases) {
        if (p.select) fold(m, *p.select);
      }
    }
  }

  static bool mentions_attribute(const Expr& e) {
    if (e.kind == ast::ExprKind::kName && e.ref == RefKind::kAttribute) return true;
    for (const auto& a : e.args) {
      if (mentions_attribute(*a)) return true;
    }
    return false;
  }

  void fold(const LoadedModule& m, const Expr& e) {
    if (mentions_attribute(e)) {
      for (const auto& a : e.args) fold(m, *a);
      return;
    }
    try {
      eval_->eval(e, EvalScope{});
    } catch (const EvalError& error) {
      diagnostics_.error(where(m, *error.at), error.message);
    }
  }

  // Deadlines are durations evaluated per read cycle; a bad one is an error, not ignored.
  void deadlines() {
    auto check = [&](const LoadedModule& m, const ast::ExprPtr& span) {
      if (!span || model_.phases.empty()) return;
      EvalScope scope;
      scope.phase = 0;
      scope.cycle = 1;
      try {
        eval_->eval(*span, scope);
      } catch (const EvalError& error) {
        diagnostics_.error(where(m, *error.at), error.message);
      }
    };
    for (const LoadedModule& m : program_.modules) {
      for (const auto& set : m.ast->notice_sets) {
        for (const auto& n : set.notices) check(m, n.deadline);
      }
      for (const auto& c : m.ast->connects) check(m, c.deadline);
    }
  }

  const LoadedModule* connect_module_ = nullptr;

  void connect() {
    for (const LoadedModule& m : program_.modules) {
      if (!m.ast->connects.empty() && model_.connect == nullptr) {
        model_.connect = &m.ast->connects.front();
        connect_module_ = &m;
      }
    }
    if (model_.connect == nullptr) {
      if (!model_.phases.empty() && workflow_ != nullptr) {
        diagnostics_.error(where(program_.root(), workflow_->id),
                           "the workflow has phases but no `connect for each phase { submit ... }`: "
                           "add one, as in `connect for each phase { submit 5 business days before read }`");
      }
      return;
    }
    if (model_.connect->submit) model_.lead_text = ast::expr_to_string(*model_.connect->submit);
  }

  // --- per phase and read cycle --------------------------------------------------------

  void phase_schedule(int p) {
    PhaseInfo& phase = model_.phases[static_cast<std::size_t>(p)];
    const LoadedModule& pm = loaded(phase.module);
    for (int cycle = 1; cycle <= model_.reads.cycle_count(); ++cycle) {
      CycleInfo info;
      info.cycle = cycle;
      if (!switch_date(phase, p, cycle, pm, info)) return;
      phase.cycles.push_back(std::move(info));
    }
    std::vector<bool> reported(model_.notices.size(), false);
    for (int cycle = 1; cycle <= model_.reads.cycle_count(); ++cycle) {
      for (std::size_t n = 0; n < model_.notices.size(); ++n) {
        WindowDates w{};
        if (!reported[n] && !notice_window(p, cycle, static_cast<int>(n), w)) reported[n] = true;
        phase.cycles[static_cast<std::size_t>(cycle - 1)].windows.push_back(w);
      }
    }
  }

  // The account switches on the first read of its cycle whose Connect CCASR can be
  // submitted on or after the enrollment date, given the lead time.
  bool switch_date(const PhaseInfo& phase, int p, int cycle, const LoadedModule& pm, CycleInfo& info) {
    const auto& reads = model_.reads.reads(cycle);
    auto it = std::lower_bound(reads.begin(), reads.end(), phase.enroll);
    EvalScope scope;
    scope.phase = p;
    scope.cycle = cycle;
    const Expr& submit = *model_.connect->submit;
    for (; it != reads.end(); ++it) {
      scope.read = *it;
      Date when{};
      try {
        when = eval_->eval_date(submit, scope);
      } catch (const EvalError& error) {
        diagnostics_.error(where(*connect_module_, *error.at), error.message);
        return false;
      }
      if (when > *it) {
        diagnostics_.error(where(*connect_module_, submit),
                           fmt::format("the Connect CCASR must be submitted before the read it takes effect on, "
                                       "but `{}` gives {} for the read on {}", model_.lead_text, format_date(when),
                                       format_date(*it)));
        return false;
      }
      if (when >= phase.enroll) {
        info.read = *it;
        info.submit = when;
        return true;
      }
    }
    diagnostics_.error(where(pm, *phase.decl->enroll),
                       fmt::format("phase {} enrolls on {}, but the read schedule {} has no read for cycle {} "
                                   "far enough after it (its last read is {}): extend the schedule or move the date",
                                   phase.id, format_date(phase.enroll), model_.reads_name, cycle,
                                   format_date(reads.back())));
    return false;
  }

  bool notice_window(int p, int cycle, int n, WindowDates& out) {
    const PhaseInfo& phase = model_.phases[static_cast<std::size_t>(p)];
    const NoticeInfo& notice = model_.notices[static_cast<std::size_t>(n)];
    const LoadedModule& m = loaded(notice.module);
    const ast::Window& w = notice.decl->window;
    EvalScope scope;
    scope.phase = p;
    scope.cycle = cycle;
    std::string where_text = fmt::format("for phase {}", phase.id);
    if (depends_on_cycle(w)) where_text += fmt::format(", read cycle {} (switch {})", cycle,
                                                       format_date(phase.cycles[static_cast<std::size_t>(cycle - 1)].read));
    if (w.kind == ast::WindowKind::kBillingCycle && w.cycle_index < 1) {
      diagnostics_.error(m.ast->where(w.id), "billing cycles after the switch count from 1");
      return false;
    }
    try {
      out = eval_->window(w, scope);
    } catch (const EvalError& error) {
      diagnostics_.error(m.ast->where(error.at->id), fmt::format("{} ({})", error.message, where_text));
      return false;
    }
    Location at = m.ast->where(w.id);
    if (out.end < out.start) {
      diagnostics_.error(at, fmt::format("notice {} has an inverted window {}: it opens {} but closes {}, "
                                         "before it opens (are the bounds swapped?)",
                                         notice.id, where_text, format_date(out.start), format_date(out.end)));
      return false;
    }
    // It goes out on the first business day of its window once the gates it waits for are due.
    if (auto send = eval_->first_send(notice, out)) {
      out.send = *send;
      return true;
    }
    const GateInfo* waiting = nullptr;
    for (int g : notice.deps) {
      const GateInfo& gate = model_.gates[static_cast<std::size_t>(g)];
      if (gate.due > out.end && (waiting == nullptr || gate.due > waiting->due)) waiting = &gate;
    }
    if (waiting != nullptr) {
      diagnostics_.error(at, fmt::format("notice {} {} must go out by {}, but it waits for {}, due {}",
                                         notice.id, where_text, format_date(out.end), waiting->id,
                                         format_date(waiting->due)));
    } else {
      diagnostics_.error(at, fmt::format("notice {} has an empty window {}: {}..{} holds no business day to send on",
                                         notice.id, where_text, format_date(out.start), format_date(out.end)));
    }
    return false;
  }

  static bool mentions_cycle(const Expr& e) {
    if (e.kind == ast::ExprKind::kName && e.ref == RefKind::kAnchor && static_cast<Anchor>(e.slot) == Anchor::kSwitch) return true;
    if (e.kind == ast::ExprKind::kDuration && e.duration.unit == ast::DurationUnit::kBillingCycles) return true;
    for (const auto& a : e.args) {
      if (mentions_cycle(*a)) return true;
    }
    return false;
  }

  static bool depends_on_cycle(const ast::Window& w) {
    if (w.kind == ast::WindowKind::kBillingCycle) return true;
    for (const ast::ExprPtr* part : {&w.from, &w.to, &w.anchor, &w.span}) {
      if (*part && mentions_cycle(**part)) return true;
    }
    return false;
  }

  Program& program_;
  Model& model_;
  Diagnostics& diagnostics_;
  Evaluator* eval_ = nullptr;
};

}  // namespace

void evaluate_dates(Program& program, Diagnostics& diagnostics) {
  DatePass(program, diagnostics).run();
}

}  // namespace ccaflow
