// Pass 5: rules. The stdlib's statutory rules and the workflow's own rules and assertions
// are written in the language; here they are proven on the computed schedule. A failure
// names the rule, the phase, the notice or read cycle, and the dates that break it.
#include <fmt/format.h>
#include <functional>

#include "compiler/eval.h"
#include "compiler/passes.h"

namespace ccaflow {
namespace {

using ast::Expr;

class RuleChecker {
 public:
  RuleChecker(Program& program, Diagnostics& diagnostics)
      : program_(program), model_(program.model), diagnostics_(diagnostics), eval_(*program.evaluator) {}

  void run() {
    std::vector<std::pair<const ast::Rule*, const LoadedModule*>> active;
    auto activate = [&](const ast::Rule* rule, const LoadedModule* module) {
      for (const auto& a : active) {
        if (a.first == rule) return;
      }
      active.emplace_back(rule, module);
    };
    for (const LoadedModule& m : program_.modules) {
      if (m.is_root) {
        for (const auto& r : m.ast->rules) activate(&r, &m);
      }
      for (const auto& req : m.ast->requires_) {
        for (const auto& name : req.rules) {
          if (auto found = find_rule(m, name)) activate(found->first, found->second);
        }
      }
    }
    for (const auto& [rule, module] : active) check_rule(*rule, *module);
    for (const LoadedModule& m : program_.modules) {
      for (const auto& a : m.ast->asserts) check_assert(a, m);
    }
  }

 private:
  std::optional<std::pair<const ast::Rule*, const LoadedModule*>> find_rule(const LoadedModule& m,
                                                                           const ast::QualifiedName& name) {
    auto symbol = program_.lookup(m, name.parts);
    if (!symbol || symbol->kind != ast::RefKind::kRule) return std::nullopt;
    const LoadedModule* target = name.parts.size() == 2 ? &program_.loaded(m.imports.at(name.parts[0])) : &m;
    return std::make_pair(static_cast<const ast::Rule*>(symbol->decl), target);
  }

  // One rule instance: the variables bound so far and what they mean for messages.
  struct Instance {
    const ast::Rule* rule;
    const LoadedModule* module;
    std::string name;
    std::vector<Value> slots;
    int phase = -1;
    int cycle = 0;
    int notice = -1;
    bool failed = false;
  };

  std::vector<Value> range(const ast::Quantifier& q, Instance& in) {
    EvalScope scope;
    scope.slots = &in.slots;
    std::vector<Value> items;
    if (q.source) {
      Value source = eval_.eval(*q.source, scope);
      if (source.type == Type::kPhase) return eval_.cycles_of(source.phase).list;
      return source.list;
    }
    if (q.kind == ast::QuantifierKind::kPhase) {
      for (std::size_t p = 0; p < model_.phases.size(); ++p) {
        Value v;
        v.type = Type::kPhase;
        v.phase = static_cast<int>(p);
        items.push_back(v);
      }
      return items;
    }
    if (q.over < 0) return items;
    const Value& over = in.slots.at(static_cast<std::size_t>(q.over));
    if (q.kind == ast::QuantifierKind::kCycle) return eval_.cycles_of(over.phase).list;
    for (std::size_t n = 0; n < model_.notices.size(); ++n) {
      Value v;
      v.type = Type::kNotice;
      v.phase = over.phase;
      v.cycle = over.type == Type::kCycle ? over.cycle : 0;
      v.notice = static_cast<int>(n);
      items.push_back(v);
    }
    return items;
  }

  // Runs the quantifiers from `index`, then the body, for every binding; stops the phase's
  // instance at its first failure (later requirements often assume earlier ones).
  void bind(const std::vector<ast::Quantifier>& quantifiers, std::size_t index, Instance& in,
            const std::function<void(Instance&)>& body) {
    if (in.failed) return;
    if (index == quantifiers.size()) {
      body(in);
      return;
    }
    const ast::Quantifier& q = quantifiers[index];
    for (const Value& item : range(q, in)) {
      Instance saved = in;
      in.slots[static_cast<std::size_t>(q.slot)] = item;
      if (item.type == Type::kPhase) in.phase = item.phase;
      if (item.type == Type::kCycle) {
        in.phase = item.phase;
        in.cycle = item.cycle;
      }
      if (item.type == Type::kNotice) in.notice = item.notice;
      bind(quantifiers, index + 1, in, body);
      bool failed = in.failed;
      in = saved;
      in.failed = failed;
      if (in.failed && q.kind != ast::QuantifierKind::kPhase) return;
      if (q.kind == ast::QuantifierKind::kPhase) {
        record(in, item.phase, failed);
        in.failed = false;
      }
    }
  }

  void record(const Instance& in, int phase, bool failed) {
    for (auto& o : model_.outcomes) {
      if (o.rule == in.name && o.phase == phase) {
        if (failed) o.pass = false;
        return;
      }
    }
    model_.outcomes.push_back({in.name, in.rule->title, phase, !failed, failed ? last_detail_ : ""});
  }

  void run_statements(const std::vector<ast::Statement>& body, Instance& in) {
    for (const auto& s : body) {
      if (in.failed) return;
      EvalScope scope;
      scope.slots = &in.slots;
      try {
        switch (s.kind) {
          case ast::Statement::Kind::kLet:
            in.slots[static_cast<std::size_t>(s.slot)] = eval_.eval(*s.expr, scope);
            break;
          case ast::Statement::Kind::kRequire:
            if (!eval_.eval(*s.expr, scope).boolean) fail(in, s, scope);
            break;
          case ast::Statement::Kind::kForEach: {
            for (const Value& item : range(s.binding, in)) {
              Instance saved = in;
              in.slots[static_cast<std::size_t>(s.binding.slot)] = item;
              if (item.type == Type::kPhase) in.phase = item.phase;
              if (item.type == Type::kCycle) {
                in.phase = item.phase;
                in.cycle = item.cycle;
              }
              if (item.type == Type::kNotice) {
                in.notice = item.notice;
                if (item.cycle > 0) in.cycle = item.cycle;
              }
              run_statements(s.body, in);
              bool failed = in.failed;
              in = saved;
              in.failed = failed;
              if (failed) return;
            }
            break;
          }
        }
      } catch (const EvalError& error) {
        fail_with(in, s, fmt::format("cannot be evaluated: {}", error.message));
      }
    }
  }

  // The part of a failed condition that is false, with the values on both sides.
  std::string explain(const Expr& e, const EvalScope& scope) {
    if (e.kind == ast::ExprKind::kBinary && e.text == "and") {
      for (const auto& side : e.args) {
        if (!eval_.eval(*side, scope).boolean) return explain(*side, scope);
      }
    }
    if (e.kind == ast::ExprKind::kBinary && e.text != "and" && e.text != "or" && e.text != "in") {
      Value a = eval_.eval(*e.args[0], scope);
      Value b = eval_.eval(*e.args[1], scope);
      if (a.type != Type::kList && b.type != Type::kList && a.type != Type::kNotice) {
        return fmt::format("`{}` is false: {} vs {}", ast::expr_to_string(e), value_to_string(a), value_to_string(b));
      }
    }
    return fmt::format("`{}` is false", ast::expr_to_string(e));
  }

  std::string context(const Instance& in) const {
    std::vector<std::string> parts;
    if (in.phase >= 0) {
      const PhaseInfo& p = model_.phases.at(in.phase);
      parts.push_back(fmt::format("phase {} (enroll {})", p.id, format_date(p.enroll)));
      if (in.cycle > 0) {
        parts.push_back(fmt::format("read cycle {} (switch {})", in.cycle,
                                    format_date(p.cycles.at(in.cycle - 1).read)));
      }
      if (in.notice >= 0) {
        WindowDates w = eval_.notice_window(in.phase, in.cycle, in.notice);
        parts.push_back(fmt::format("notice {} (window {}..{}, sent {})", model_.notices.at(in.notice).id,
                                    format_date(w.start), format_date(w.end), format_date(w.send)));
      }
    }
    return fmt::format("{}", fmt::join(parts, ", "));
  }

  void fail(Instance& in, const ast::Statement& s, const EvalScope& scope) { fail_with(in, s, explain(*s.expr, scope)); }

  void fail_with(Instance& in, const ast::Statement& s, const std::string& why) {
    in.failed = true;
    std::string title = in.rule->title.empty() ? "" : fmt::format(" ({})", in.rule->title);
    std::string requirement = s.message.empty() ? "" : s.message + ": ";
    last_detail_ = fmt::format("{}{}", requirement, why);
    std::string where = context(in);
    Location at = in.module->ast->where(s.id);
    if (in.notice >= 0) {
      const NoticeInfo& n = model_.notices.at(in.notice);
      at = n.module->where(n.decl->id);
    } else if (in.phase >= 0) {
      const PhaseInfo& p = model_.phases.at(in.phase);
      at = p.module->where(p.decl->id);
    }
    auto& d = diagnostics_.error(at, fmt::format("{} breaks rule {}{}: {}{}", where.empty() ? "the schedule" : where,
                                                 in.name, title, requirement, why));
    d.notes.push_back({in.module->ast->where(s.id), "required here"});
  }

  void check_rule(const ast::Rule& rule, const LoadedModule& module) {
    Instance in;
    in.rule = &rule;
    in.module = &module;
    in.name = module.is_root ? rule.name : module.ast->name + "." + rule.name;
    in.slots.assign(static_cast<std::size_t>(rule.slot_count), Value{});
    bind(rule.quantifiers, 0, in, [&](Instance& bound) { run_statements(rule.body, bound); });
    bool has_phase = false;
    for (const auto& q : rule.quantifiers) has_phase |= q.kind == ast::QuantifierKind::kPhase;
    if (!has_phase) record(in, -1, in.failed);
  }

  void check_assert(const ast::Assert& a, const LoadedModule& m) {
    EvalScope scope;
    RuleOutcome outcome{"assert", a.message, -1, true, ""};
    try {
      if (!eval_.eval(*a.cond, scope).boolean) {
        outcome.pass = false;
        outcome.detail = explain(*a.cond, scope);
        std::string message = a.message.empty() ? "" : a.message + ": ";
        diagnostics_.error(m.ast->where(a.id), fmt::format("assertion failed: {}{}", message, outcome.detail));
      }
    } catch (const EvalError& error) {
      outcome.pass = false;
      outcome.detail = error.message;
      diagnostics_.error(m.ast->where(error.at->id), fmt::format("assertion cannot be evaluated: {}", error.message));
    }
    outcome.title = a.message.empty() ? ast::expr_to_string(*a.cond) : a.message;
    model_.outcomes.push_back(outcome);
  }

  Program& program_;
  Model& model_;
  Diagnostics& diagnostics_;
  const Evaluator& eval_;
  std::string last_detail_;
};

}  // namespace

void check_rules(Program& program, Diagnostics& diagnostics) {
  RuleChecker(program, diagnostics).run();
}

}  // namespace ccaflow
