// Pass 2: name resolution. Builds each module's symbol table, then binds every name in
// every expression and dependency list. What a bare name may mean depends on where it is
// written: account attributes in a selector, `enroll`/`switch` in a notice window, `read`
// in a CCASR submission, quantifier variables in a rule.
#include <algorithm>
#include <fmt/format.h>

#include "compiler/passes.h"
#include "compiler/suggest.h"

namespace ccaflow {
namespace {

using ast::RefKind;

enum class Context { kParam, kDate, kSelector, kWindow, kSubmit, kSpan, kRule, kAssert };

const char* kind_word(RefKind kind) {
  switch (kind) {
    case RefKind::kParam: return "parameter";
    case RefKind::kTask: return "milestone or gate";
    case RefKind::kPhase: return "phase";
    case RefKind::kNoticeSet: return "notice set";
    case RefKind::kCalendar: return "calendar";
    case RefKind::kReads: return "read schedule";
    case RefKind::kRule: return "rule";
    case RefKind::kModule: return "module";
    case RefKind::kOptouts: return "opt-out policy";
    case RefKind::kResponses: return "response policy";
    default: return "name";
  }
}

const std::vector<std::string>& function_names() {
  static const std::vector<std::string> names = {"count", "distinct_days", "max", "min",
                                                 "billing_cycle", "business_day", "days_between"};
  return names;
}

class Resolver {
 public:
  Resolver(Program& program, Diagnostics& diagnostics) : program_(program), diagnostics_(diagnostics) {}

  void run() {
    for (LoadedModule& module : program_.modules) declare(module);
    for (LoadedModule& module : program_.modules) bind(module);
  }

 private:
  struct Variable {
    std::string name;
    int slot;
  };

  struct Scope {
    LoadedModule* module;
    Context context;
    std::vector<Variable>* variables = nullptr;
  };

  // --- declarations ------------------------------------------------------------------

  void define(LoadedModule& module, const std::string& name, RefKind kind, const void* decl, ast::NodeId id) {
    auto [it, inserted] = module.symbols.try_emplace(name, Symbol{kind, decl, id});
    if (!inserted) {
      auto& d = diagnostics_.error(module.ast->where(id),
                                   fmt::format("`{}` is already defined as a {}", name, kind_word(it->second.kind)));
      d.notes.push_back({module.ast->where(it->second.id), "previously defined here"});
      return;
    }
    if (module.imports.contains(name)) {
      diagnostics_.error(module.ast->where(id),
                         fmt::format("`{}` is also the name of an imported module: choose another name", name));
    }
  }

  void declare(LoadedModule& module) {
    ast::Module& m = *module.ast;
    for (auto& p : m.params) define(module, p.name, RefKind::kParam, &p, p.id);
    for (auto& t : m.tasks) define(module, t.name, RefKind::kTask, &t, t.id);
    for (auto& p : m.phases) define(module, p.name, RefKind::kPhase, &p, p.id);
    for (auto& n : m.notice_sets) {
      define(module, n.name, RefKind::kNoticeSet, &n, n.id);
      std::map<std::string, ast::NodeId> seen;
      for (auto& notice : n.notices) {
        auto [it, inserted] = seen.try_emplace(notice.name, notice.id);
        if (!inserted) {
          auto& d = diagnostics_.error(m.where(notice.id),
                                       fmt::format("notice `{}` is already defined in notice set `{}`", notice.name, n.name));
          d.notes.push_back({m.where(it->second), "previously defined here"});
        }
      }
    }
    for (auto& c : m.calendars) define(module, c.name, RefKind::kCalendar, &c, c.id);
    for (auto& r : m.reads) define(module, r.name, RefKind::kReads, &r, r.id);
    for (auto& r : m.rules) define(module, r.name, RefKind::kRule, &r, r.id);
    for (auto& o : m.optout_policies) define(module, o.name, RefKind::kOptouts, &o, o.id);
    for (auto& r : m.response_policies) define(module, r.name, RefKind::kResponses, &r, r.id);

    if (module.is_root) {
      if (m.workflows.empty()) {
        diagnostics_.error(Location{m.file, 1, 1, 1},
                           "no `workflow \"NAME\" { cca CODE utility CODE calendar ... reads ... }` block: "
                           "every workflow file names its CCA, utility, calendar and read schedule");
      }
    } else {
      for (auto& w : m.workflows) {
        diagnostics_.error(m.where(w.id), fmt::format("an imported module cannot declare a workflow: "
                                                      "`{}` is imported, only the file given to ccaflow is the workflow",
                                                      m.name));
      }
    }
    for (std::size_t i = 1; i < m.workflows.size(); ++i) {
      auto& d = diagnostics_.error(m.where(m.workflows[i].id), "a file declares one workflow");
      d.notes.push_back({m.where(m.workflows[0].id), "previously defined here"});
    }
    for (std::size_t i = 1; i < m.connects.size(); ++i) {
      auto& d = diagnostics_.error(m.where(m.connects[i].id), "`connect for each phase` is given twice");
      d.notes.push_back({m.where(m.connects[0].id), "previously defined here"});
    }
  }

  // --- lookups ----------------------------------------------------------------------

  // All names of `kinds` visible from `module`, for suggestions.
  std::vector<std::string> visible(const LoadedModule& module, std::initializer_list<RefKind> kinds) const {
    std::vector<std::string> names;
    auto wanted = [&](RefKind k) { return std::find(kinds.begin(), kinds.end(), k) != kinds.end(); };
    for (const auto& [name, symbol] : module.symbols) {
      if (wanted(symbol.kind)) names.push_back(name);
    }
    for (const auto& [import_name, imported] : module.imports) {
      for (const auto& [name, symbol] : program_.loaded(imported).symbols) {
        if (wanted(symbol.kind)) names.push_back(import_name + "." + name);
      }
    }
    return names;
  }

  // Binds a dependency list or a reference in a header to a declaration of one of `kinds`.
  std::optional<Symbol> bind_reference(const LoadedModule& module, const ast::QualifiedName& name,
                                       std::initializer_list<RefKind> kinds, const char* what) {
    auto symbol = program_.lookup(module, name.parts);
    Location where = module.ast->where(name.id);
    if (!symbol) {
      if (name.parts.size() == 2 && !module.imports.contains(name.parts[0])) {
        diagnostics_.error(where, fmt::format("unknown module `{}` in `{}`: add `import {}` at the top of the file",
                                              name.parts[0], name.str(), name.parts[0]));
        return std::nullopt;
      }
      diagnostics_.error(where, fmt::format("unknown {} `{}`{}", what, name.str(),
                                            did_you_mean(name.str(), visible(module, kinds))));
      return std::nullopt;
    }
    if (std::find(kinds.begin(), kinds.end(), symbol->kind) == kinds.end()) {
      diagnostics_.error(where, fmt::format("`{}` is a {}, but a {} is needed here", name.str(),
                                            kind_word(symbol->kind), what));
      return std::nullopt;
    }
    return symbol;
  }

  void bind_dependencies(const LoadedModule& module, const std::vector<ast::QualifiedName>& names) {
    for (const auto& name : names) bind_reference(module, name, {RefKind::kTask}, "milestone or gate");
  }

  // --- expressions ---------------------------------------------------------------------

  void bind_expr(ast::Expr& e, const Scope& scope) {
    switch (e.kind) {
      case ast::ExprKind::kName:
        bind_name(e, scope);
        return;
      case ast::ExprKind::kMember:
        // `module.name` is a qualified name, not a member access: rewrite it to a name.
        if (e.args[0]->kind == ast::ExprKind::kName && !is_variable(e.args[0]->text, scope) &&
            scope.module->imports.contains(e.args[0]->text) &&
            !scope.module->symbols.contains(e.args[0]->text)) {
          std::string qualified = e.args[0]->text + "." + e.text;
          e.kind = ast::ExprKind::kName;
          e.text = qualified;
          e.args.clear();
          bind_name(e, scope);
          return;
        }
        bind_expr(*e.args[0], scope);
        return;
      case ast::ExprKind::kCall:
        if (std::find(function_names().begin(), function_names().end(), e.text) == function_names().end()) {
          diagnostics_.error(where(e, scope), fmt::format("unknown function `{}`{}", e.text,
                                                          did_you_mean(e.text, function_names())));
        } else if (scope.context == Context::kSelector) {
          diagnostics_.error(where(e, scope), fmt::format("`{}` cannot be used in a selector", e.text));
        }
        e.ref = RefKind::kFunction;
        break;
      default:
        break;
    }
    for (auto& arg : e.args) bind_expr(*arg, scope);
  }

  bool is_variable(const std::string& name, const Scope& scope) const {
    if (scope.variables == nullptr) return false;
    for (const auto& v : *scope.variables) {
      if (v.name == name) return true;
    }
    return false;
  }

  Location where(const ast::Expr& e, const Scope& scope) const { return scope.module->ast->where(e.id); }

  void bind_name(ast::Expr& e, const Scope& scope) {
    const std::string& name = e.text;
    if (scope.variables != nullptr) {
      for (auto it = scope.variables->rbegin(); it != scope.variables->rend(); ++it) {
        if (it->name == name) {
          e.ref = RefKind::kVariable;
          e.slot = it->slot;
          return;
        }
      }
    }
    if (scope.context == Context::kSelector) {
      if (auto attribute = attribute_named(name)) {
        e.ref = RefKind::kAttribute;
        e.slot = static_cast<int>(*attribute);
        return;
      }
    }
    if (scope.context == Context::kWindow && (name == "enroll" || name == "switch")) {
      e.ref = RefKind::kAnchor;
      e.slot = static_cast<int>(name == "enroll" ? Anchor::kEnroll : Anchor::kSwitch);
      return;
    }
    if (scope.context == Context::kSubmit && name == "read") {
      e.ref = RefKind::kAnchor;
      e.slot = static_cast<int>(Anchor::kRead);
      return;
    }
    std::vector<std::string> parts;
    if (auto dot = name.find('.'); dot != std::string::npos) {
      parts = {name.substr(0, dot), name.substr(dot + 1)};
    } else {
      parts = {name};
    }
    if (auto symbol = program_.lookup(*scope.module, parts)) {
      bool allowed = symbol->kind == RefKind::kParam ||
                     (symbol->kind == RefKind::kTask && scope.context != Context::kSelector) ||
                     (symbol->kind == RefKind::kPhase &&
                      (scope.context == Context::kRule || scope.context == Context::kAssert ||
                       scope.context == Context::kDate || scope.context == Context::kWindow));
      if (!allowed) {
        diagnostics_.error(where(e, scope), fmt::format("the {} `{}` cannot be used {}", kind_word(symbol->kind),
                                                        name, context_phrase(scope.context)));
        return;
      }
      e.ref = symbol->kind;
      e.target = symbol->decl;
      return;
    }
    std::vector<std::string> candidates = visible(*scope.module, {RefKind::kParam, RefKind::kTask, RefKind::kPhase});
    if (scope.variables != nullptr) {
      for (const auto& v : *scope.variables) candidates.push_back(v.name);
    }
    std::string hint;
    switch (scope.context) {
      case Context::kSelector:
        for (const auto& a : attribute_names()) candidates.push_back(a);
        break;
      case Context::kWindow:
        candidates.push_back("enroll");
        candidates.push_back("switch");
        break;
      case Context::kSubmit:
        candidates.push_back("read");
        break;
      default:
        break;
    }
    if (name == "read" && scope.context != Context::kSubmit) {
      hint = ": `read` stands for a read date only in `connect for each phase { submit ... }`";
    } else if ((name == "enroll" || name == "switch") && scope.context != Context::kWindow) {
      hint = fmt::format(": `{}` stands for a date only in a notice window; elsewhere write PHASE.enroll", name);
    } else if (attribute_named(name) && scope.context != Context::kSelector) {
      hint = fmt::format(": `{}` is an account attribute, usable only in `select` and `exclude ... when`", name);
    } else {
      hint = did_you_mean(name, candidates);
    }
    diagnostics_.error(where(e, scope), fmt::format("unknown name `{}`{}", name, hint));
  }

  static const char* context_phrase(Context context) {
    switch (context) {
      case Context::kSelector: return "in a selector, which tests account attributes";
      case Context::kParam: return "in a parameter's value";
      case Context::kSpan: return "as a duration";
      case Context::kSubmit: return "in a submission time";
      default: return "here";
    }
  }

  // --- rules --------------------------------------------------------------------------

  int new_slot(ast::Rule& rule) { return rule.slot_count++; }

  void bind_quantifier(ast::Quantifier& q, ast::Rule& rule, Scope& scope) {
    if (q.source) bind_expr(*q.source, scope);
    q.slot = new_slot(rule);
    scope.variables->push_back({q.var, q.slot});
  }

  void bind_statements(std::vector<ast::Statement>& body, ast::Rule& rule, Scope& scope) {
    std::size_t mark = scope.variables->size();
    for (auto& s : body) {
      switch (s.kind) {
        case ast::Statement::Kind::kRequire:
          bind_expr(*s.expr, scope);
          break;
        case ast::Statement::Kind::kLet:
          bind_expr(*s.expr, scope);
          s.slot = new_slot(rule);
          scope.variables->push_back({s.name, s.slot});
          break;
        case ast::Statement::Kind::kForEach: {
          std::size_t inner = scope.variables->size();
          bind_quantifier(s.binding, rule, scope);
          bind_statements(s.body, rule, scope);
          scope.variables->resize(inner);
          break;
        }
      }
    }
    scope.variables->resize(mark);
  }

  void bind_owner(const LoadedModule& module, const std::optional<std::string>& who, ast::NodeId id,
                  const std::vector<std::string>& allowed, const char* what) {
    if (!who) return;
    if (std::find(allowed.begin(), allowed.end(), *who) == allowed.end()) {
      diagnostics_.error(module.ast->where(id),
                         fmt::format("unknown {} `{}`: use {}{}", what, *who, fmt::join(allowed, ", "),
                                     did_you_mean(*who, allowed)));
    }
  }

  void bind(LoadedModule& module) {
    ast::Module& m = *module.ast;
    auto in = [&](Context c) { return Scope{&module, c}; };
    for (auto& w : m.workflows) {
      if (w.calendar) bind_reference(module, *w.calendar, {RefKind::kCalendar}, "calendar");
      if (w.reads) bind_reference(module, *w.reads, {RefKind::kReads}, "read schedule");
      if (w.optouts) bind_reference(module, *w.optouts, {RefKind::kOptouts}, "opt-out policy");
      if (w.responses) bind_reference(module, *w.responses, {RefKind::kResponses}, "response policy");
    }
    for (auto& r : m.reads) {
      if (r.calendar) bind_reference(module, *r.calendar, {RefKind::kCalendar}, "calendar");
    }
    for (auto& p : m.params) bind_expr(*p.value, in(Context::kParam));
    for (auto& t : m.tasks) {
      if (t.due) bind_expr(*t.due, in(Context::kDate));
      bind_dependencies(module, t.after);
      bind_owner(module, t.owner, t.owner_id, {"utility", "cca", "joint"}, "owner");
    }
    for (auto& x : m.excludes) bind_expr(*x.when, in(Context::kSelector));
    for (auto& p : m.phases) {
      if (p.select) bind_expr(*p.select, in(Context::kSelector));
      if (p.enroll) bind_expr(*p.enroll, in(Context::kDate));
      bind_dependencies(module, p.after);
    }
    for (auto& set : m.notice_sets) {
      for (auto& n : set.notices) {
        ast::Window& w = n.window;
        for (ast::ExprPtr* part : {&w.from, &w.to, &w.anchor}) {
          if (*part) bind_expr(**part, in(Context::kWindow));
        }
        if (w.span) bind_expr(*w.span, in(Context::kSpan));
        if (n.deadline) bind_expr(*n.deadline, in(Context::kSpan));
        bind_dependencies(module, n.after);
        bind_owner(module, n.sender, n.sender_id, {"utility", "cca"}, "sender");
      }
    }
    for (auto& c : m.connects) {
      if (c.submit) bind_expr(*c.submit, in(Context::kSubmit));
      if (c.deadline) bind_expr(*c.deadline, in(Context::kSpan));
    }
    for (auto& rule : m.rules) {
      std::vector<Variable> variables;
      Scope scope{&module, Context::kRule, &variables};
      for (auto& q : rule.quantifiers) bind_quantifier(q, rule, scope);
      bind_statements(rule.body, rule, scope);
    }
    for (auto& r : m.requires_) {
      for (auto& name : r.rules) bind_reference(module, name, {RefKind::kRule}, "rule");
    }
    for (auto& a : m.asserts) bind_expr(*a.cond, in(Context::kAssert));
    for (auto& o : m.optout_policies) {
      if (o.free_period) bind_expr(*o.free_period, in(Context::kSpan));
      if (o.return_notice) bind_expr(*o.return_notice, in(Context::kSpan));
    }
  }

  Program& program_;
  Diagnostics& diagnostics_;
};

}  // namespace

void resolve_names(Program& program, Diagnostics& diagnostics) {
  Resolver(program, diagnostics).run();
}

}  // namespace ccaflow
