#include "compiler/ast.h"

#include <fmt/format.h>

#include "compiler/model.h"

namespace ccaflow::ast {

std::string QualifiedName::str() const { return fmt::format("{}", fmt::join(parts, ".")); }

std::string expr_to_string(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kDate: return format_date(e.date);
    case ExprKind::kDuration: return duration_to_string(e.duration);
    case ExprKind::kNumber: return fmt::format("{}", e.number);
    case ExprKind::kText: return fmt::format("\"{}\"", e.text);
    case ExprKind::kBool: return e.boolean ? "true" : "false";
    case ExprKind::kName: return e.text;
    case ExprKind::kMember: return expr_to_string(*e.args[0]) + "." + e.text;
    case ExprKind::kIndex: return fmt::format("{}[{}]", expr_to_string(*e.args[0]), expr_to_string(*e.args[1]));
    case ExprKind::kCall: {
      std::vector<std::string> args;
      for (const auto& a : e.args) args.push_back(expr_to_string(*a));
      return fmt::format("{}({})", e.text, fmt::join(args, ", "));
    }
    case ExprKind::kList: {
      std::vector<std::string> args;
      for (const auto& a : e.args) args.push_back(expr_to_string(*a));
      return fmt::format("[{}]", fmt::join(args, ", "));
    }
    case ExprKind::kNot: return "not " + expr_to_string(*e.args[0]);
    case ExprKind::kBinary:
      return fmt::format("{} {} {}", expr_to_string(*e.args[0]), e.text, expr_to_string(*e.args[1]));
    case ExprKind::kRelative:
      return fmt::format("{} {} {}", expr_to_string(*e.args[0]), e.text, expr_to_string(*e.args[1]));
  }
  return "?";
}

namespace {

void line(std::string& out, int indent, const std::string& text) {
  out.append(static_cast<std::size_t>(indent) * 2, ' ');
  out += text;
  out += '\n';
}

std::string deps(const std::vector<QualifiedName>& names) {
  std::vector<std::string> parts;
  for (const auto& n : names) parts.push_back(n.str());
  return fmt::format("{}", fmt::join(parts, ", "));
}

void dump_statements(std::string& out, int indent, const std::vector<Statement>& body) {
  for (const auto& s : body) {
    switch (s.kind) {
      case Statement::Kind::kRequire: line(out, indent, "require " + expr_to_string(*s.expr)); break;
      case Statement::Kind::kLet: line(out, indent, "let " + s.name + " = " + expr_to_string(*s.expr)); break;
      case Statement::Kind::kForEach:
        line(out, indent, "for each " + s.binding.var +
                              (s.binding.source ? " in " + expr_to_string(*s.binding.source) : ""));
        dump_statements(out, indent + 1, s.body);
        break;
    }
  }
}

}  // namespace

std::string dump(const Module& m) {
  std::string out;
  line(out, 0, "module " + m.name);
  for (const auto& i : m.imports) line(out, 1, "import " + i.module);
  for (const auto& w : m.workflows) {
    line(out, 1, fmt::format("workflow \"{}\" cca={} utility={} calendar={} reads={}", w.title, w.cca.value_or("-"),
                             w.utility.value_or("-"), w.calendar ? w.calendar->str() : "-", w.reads ? w.reads->str() : "-"));
  }
  for (const auto& p : m.params) line(out, 1, "param " + p.name + " = " + expr_to_string(*p.value));
  for (const auto& c : m.calendars) line(out, 1, fmt::format("calendar {} ({} holidays)", c.name, c.holidays.size()));
  for (const auto& r : m.reads) line(out, 1, fmt::format("reads {} file={}", r.name, r.file.value_or("-")));
  for (const auto& t : m.tasks) {
    line(out, 1, fmt::format("{} {} owner={} due={} needs=[{}]", t.kind == TaskKind::kGate ? "gate" : "milestone", t.name,
                             t.owner.value_or("-"), t.due ? expr_to_string(*t.due) : "-", deps(t.after)));
  }
  for (const auto& x : m.excludes) line(out, 1, fmt::format("exclude \"{}\" when {}", x.reason, expr_to_string(*x.when)));
  for (const auto& p : m.phases) {
    line(out, 1, fmt::format("phase {} select={} enroll={} needs=[{}]", p.name, p.select ? expr_to_string(*p.select) : "-",
                             p.enroll ? expr_to_string(*p.enroll) : "-", deps(p.after)));
  }
  for (const auto& s : m.notice_sets) {
    line(out, 1, "notices " + s.name);
    for (const auto& n : s.notices) {
      const Window& w = n.window;
      std::string window;
      switch (w.kind) {
        case WindowKind::kBetween: window = "between " + expr_to_string(*w.from) + " and " + expr_to_string(*w.to); break;
        case WindowKind::kWithin:
          window = "within " + expr_to_string(*w.span) + (w.before ? " before " : " after ") + expr_to_string(*w.anchor);
          break;
        case WindowKind::kBillingCycle:
          window = fmt::format("in billing cycle {} after {}", w.cycle_index, expr_to_string(*w.anchor));
          break;
        case WindowKind::kOn: window = "on " + expr_to_string(*w.from); break;
      }
      line(out, 2, fmt::format("{} {} {} sender={} template={} needs=[{}]", n.stage == Stage::kPre ? "pre" : "post", n.name,
                               window, n.sender.value_or("-"), n.template_path.value_or("-"), deps(n.after)));
    }
  }
  for (const auto& c : m.connects) line(out, 1, "connect submit " + (c.submit ? expr_to_string(*c.submit) : "-"));
  for (const auto& r : m.rules) {
    std::vector<std::string> qs;
    for (const auto& q : r.quantifiers) qs.push_back(q.var + (q.source ? " in " + expr_to_string(*q.source) : ""));
    line(out, 1, fmt::format("rule {} for each {}", r.name, fmt::join(qs, ", ")));
    dump_statements(out, 2, r.body);
  }
  for (const auto& r : m.requires_) line(out, 1, "require " + deps(r.rules));
  for (const auto& a : m.asserts) line(out, 1, "assert " + expr_to_string(*a.cond));
  return out;
}

}  // namespace ccaflow::ast
