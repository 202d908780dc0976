// Pass 3: types. Every expression gets a type (date, duration, number, text, bool, list,
// phase, cycle, notice); a mismatch is reported where it is written, saying what was
// needed and what was found.
#include <fmt/format.h>
#include <algorithm>
#include <set>

#include "compiler/passes.h"

namespace ccaflow {
namespace {

using ast::Expr;
using ast::ExprKind;
using ast::RefKind;

TypeRef T(Type kind) { return TypeRef{kind}; }
TypeRef list_of(Type element) { return TypeRef{Type::kList, element}; }

class TypeChecker {
 public:
  TypeChecker(Program& program, Diagnostics& diagnostics) : program_(program), diagnostics_(diagnostics) {}

  void run() {
    for (LoadedModule& module : program_.modules) check(module);
  }

 private:
  // --- helpers -----------------------------------------------------------------------

  Location where(const Expr& e) const { return module_->where(e.id); }

  std::string show(const Expr& e) const {
    std::string text = ast::expr_to_string(e);
    if (text.size() > 40) text = text.substr(0, 37) + "...";
    return text;
  }

  // Reports unless `found` is `wanted` (errors already reported stay quiet).
  void expect(const Expr& e, TypeRef found, TypeRef wanted, const std::string& what) {
    if (found.kind == Type::kError || found == wanted) return;
    if (wanted.kind == Type::kList && found.kind == Type::kList && found.element == Type::kError) return;
    std::string hint;
    if (wanted.kind == Type::kDuration && found.kind == Type::kNumber && e.kind == ast::ExprKind::kName) {
      hint = fmt::format(": define it with a unit, as in `param {} = 5 business days`", show(e));
    } else if (wanted.kind == Type::kDuration && found.kind == Type::kNumber) {
      hint = fmt::format(": add a unit, as in `{} days` (or business days, weeks, months, billing cycles)", show(e));
    } else if (wanted.kind == Type::kDate && found.kind == Type::kText) {
      hint = ": write dates without quotes, as YYYY-MM-DD";
    } else if (wanted.kind == Type::kDate && found.kind == Type::kDuration) {
      hint = fmt::format(": say from when, as in `{} before enroll`", show(e));
    }
    diagnostics_.error(where(e), fmt::format("type mismatch: {} needs {}, but `{}` is {}{}", what,
                                             article(wanted), show(e), article(found), hint));
  }

  static std::string article(TypeRef t) {
    std::string name = type_name(t);
    if (name.empty()) return name;
    bool vowel = std::string("aeiou").find(name[0]) != std::string::npos;
    return (vowel ? "an " : "a ") + name;
  }

  // --- inference ---------------------------------------------------------------------

  TypeRef param_type(const ast::Param* param) {
    if (auto it = param_types_.find(param); it != param_types_.end()) return it->second;
    if (!in_progress_.insert(param).second) {
      // The dates pass names the whole cycle; here it only must not recurse forever.
      return T(Type::kError);
    }
    if (in_progress_.size() > kMaxParamDepth) {
      diagnostics_.error(where(*param->value), fmt::format("parameter `{}` is defined through more than {} other "
                                                           "parameters: give some of them values of their own",
                                                           param->name, kMaxParamDepth));
      in_progress_.erase(param);
      return param_types_[param] = T(Type::kError);
    }
    // A parameter may live in another module: infer it there.
    const ast::Module* saved = module_;
    module_ = owner_of(param);
    TypeRef type = infer(*param->value);
    module_ = saved;
    in_progress_.erase(param);
    return param_types_[param] = type;
  }

  const ast::Module* owner_of(const ast::Param* param) const {
    for (const LoadedModule& m : program_.modules) {
      for (const auto& p : m.ast->params) {
        if (&p == param) return m.ast.get();
      }
    }
    return module_;
  }

  TypeRef infer(Expr& e) {
    switch (e.kind) {
      case ExprKind::kDate: return T(Type::kDate);
      case ExprKind::kDuration: return T(Type::kDuration);
      case ExprKind::kNumber: return T(Type::kNumber);
      case ExprKind::kText: return T(Type::kText);
      case ExprKind::kBool: return T(Type::kBool);
      case ExprKind::kName: return infer_name(e);
      case ExprKind::kMember: return infer_member(e);
      case ExprKind::kIndex: {
        TypeRef list = infer(*e.args[0]);
        TypeRef index = infer(*e.args[1]);
        expect(*e.args[1], index, T(Type::kNumber), "a list index");
        if (list.kind == Type::kError) return list;
        if (list.kind != Type::kList) {
          diagnostics_.error(where(e), fmt::format("`{}` is {}, not a list", show(*e.args[0]), article(list)));
          return T(Type::kError);
        }
        return T(list.element);
      }
      case ExprKind::kCall: return infer_call(e);
      case ExprKind::kList: {
        TypeRef element = T(Type::kError);
        for (auto& item : e.args) {
          TypeRef t = infer(*item);
          if (element.kind == Type::kError) element = t;
          else expect(*item, t, element, "every item of a list");
        }
        return list_of(element.kind);
      }
      case ExprKind::kNot: {
        expect(*e.args[0], infer(*e.args[0]), T(Type::kBool), "`not`");
        return T(Type::kBool);
      }
      case ExprKind::kRelative: {
        TypeRef span = infer(*e.args[0]);
        TypeRef anchor = infer(*e.args[1]);
        expect(*e.args[0], span, T(Type::kDuration), fmt::format("`{}`", e.text));
        expect(*e.args[1], anchor, T(Type::kDate), fmt::format("`{}`", e.text));
        return T(Type::kDate);
      }
      case ExprKind::kBinary: return infer_binary(e);
    }
    return T(Type::kError);
  }

  TypeRef infer_name(Expr& e) {
    switch (e.ref) {
      case RefKind::kParam: return param_type(static_cast<const ast::Param*>(e.target));
      case RefKind::kTask: return T(Type::kDate);
      case RefKind::kPhase: return T(Type::kPhase);
      case RefKind::kAttribute: return attribute_type(static_cast<Attribute>(e.slot));
      case RefKind::kAnchor: return T(Type::kDate);
      case RefKind::kVariable:
        if (e.slot >= 0 && static_cast<std::size_t>(e.slot) < slots_.size()) return slots_[e.slot];
        return T(Type::kError);
      default: return T(Type::kError);
    }
  }

  TypeRef infer_member(Expr& e) {
    Expr& object = *e.args[0];
    const std::string& m = e.text;
    if (object.kind == ExprKind::kName && object.ref == RefKind::kTask) {
      if (m == "due") return T(Type::kDate);
      diagnostics_.error(where(e), fmt::format("a milestone or gate has `due`, not `{}`", m));
      return T(Type::kError);
    }
    TypeRef type = infer(object);
    struct Member {
      const char* name;
      TypeRef type;
    };
    std::vector<Member> members;
    switch (type.kind) {
      case Type::kError: return type;
      case Type::kPhase:
        members = {{"enroll", T(Type::kDate)}, {"name", T(Type::kText)}, {"pre", list_of(Type::kNotice)},
                   {"post", list_of(Type::kNotice)}, {"notices", list_of(Type::kNotice)},
                   {"cycles", list_of(Type::kCycle)}};
        break;
      case Type::kCycle:
        members = {{"switch", T(Type::kDate)}, {"read", T(Type::kDate)}, {"submit", T(Type::kDate)},
                   {"number", T(Type::kNumber)}, {"pre", list_of(Type::kNotice)},
                   {"post", list_of(Type::kNotice)}, {"notices", list_of(Type::kNotice)}, {"phase", T(Type::kPhase)}};
        break;
      case Type::kNotice:
        members = {{"start", T(Type::kDate)}, {"end", T(Type::kDate)}, {"send", T(Type::kDate)},
                   {"name", T(Type::kText)}};
        break;
      default:
        diagnostics_.error(where(e), fmt::format("`{}` is {} and has no member `{}`", show(object), article(type), m));
        return T(Type::kError);
    }
    std::vector<std::string> names;
    for (const Member& member : members) {
      if (m == member.name) return member.type;
      names.push_back(member.name);
    }
    diagnostics_.error(where(e), fmt::format("{} has no member `{}`: it has {}", article(type), m, fmt::join(names, ", ")));
    return T(Type::kError);
  }

  TypeRef infer_call(Expr& e) {
    std::vector<TypeRef> args;
    for (auto& arg : e.args) args.push_back(infer(*arg));
    auto arity = [&](std::size_t n) {
      if (e.args.size() == n) return true;
      diagnostics_.error(where(e), fmt::format("`{}` takes {} argument{}, not {}", e.text, n, n == 1 ? "" : "s", e.args.size()));
      return false;
    };
    const std::string& f = e.text;
    if (f == "count") {
      if (arity(1) && args[0].kind != Type::kList && args[0].kind != Type::kError) {
        diagnostics_.error(where(*e.args[0]), fmt::format("`count` needs a list, but `{}` is {}", show(*e.args[0]), article(args[0])));
      }
      return T(Type::kNumber);
    }
    if (f == "distinct_days") {
      if (arity(1)) expect(*e.args[0], args[0], list_of(Type::kNotice), "`distinct_days`");
      return T(Type::kBool);
    }
    if (f == "max" || f == "min") {
      if (e.args.empty()) {
        diagnostics_.error(where(e), fmt::format("`{}` needs at least one argument", f));
        return T(Type::kError);
      }
      TypeRef first = args[0];
      if (first.kind != Type::kDate && first.kind != Type::kNumber && first.kind != Type::kError) {
        diagnostics_.error(where(*e.args[0]), fmt::format("`{}` compares dates or numbers, but `{}` is {}", f,
                                                          show(*e.args[0]), article(first)));
        return T(Type::kError);
      }
      for (std::size_t i = 1; i < args.size(); ++i) expect(*e.args[i], args[i], first, fmt::format("`{}`", f));
      return first;
    }
    if (f == "billing_cycle") {
      if (arity(2)) {
        expect(*e.args[0], args[0], T(Type::kCycle), "`billing_cycle`'s first argument");
        expect(*e.args[1], args[1], T(Type::kDate), "`billing_cycle`'s second argument");
      }
      return T(Type::kNumber);
    }
    if (f == "business_day") {
      if (arity(1)) expect(*e.args[0], args[0], T(Type::kDate), "`business_day`");
      return T(Type::kBool);
    }
    if (f == "days_between") {
      if (arity(2)) {
        expect(*e.args[0], args[0], T(Type::kDate), "`days_between`");
        expect(*e.args[1], args[1], T(Type::kDate), "`days_between`");
      }
      return T(Type::kNumber);
    }
    return T(Type::kError);
  }

  TypeRef infer_binary(Expr& e) {
    const std::string& op = e.text;
    TypeRef left = infer(*e.args[0]);
    TypeRef right = infer(*e.args[1]);
    if (left.kind == Type::kError || right.kind == Type::kError) {
      return (op == "+" || op == "-") ? T(Type::kError) : T(Type::kBool);
    }
    if (op == "and" || op == "or") {
      expect(*e.args[0], left, T(Type::kBool), fmt::format("`{}`", op));
      expect(*e.args[1], right, T(Type::kBool), fmt::format("`{}`", op));
      return T(Type::kBool);
    }
    if (op == "+" || op == "-") {
      if (left.kind == Type::kDate && right.kind == Type::kDuration) return T(Type::kDate);
      if (op == "+" && left.kind == Type::kDuration && right.kind == Type::kDate) return T(Type::kDate);
      if (left.kind == Type::kNumber && right.kind == Type::kNumber) return T(Type::kNumber);
      std::string hint;
      if (left.kind == Type::kDate && right.kind == Type::kDate) hint = ": use days_between(A, B) for the days between two dates";
      else if (left.kind == Type::kDate && right.kind == Type::kNumber) hint = fmt::format(": add a unit, as in `{} days`", show(*e.args[1]));
      diagnostics_.error(where(e), fmt::format("type mismatch: cannot {} {} {} {}{}", op == "+" ? "add" : "subtract",
                                               article(right), op == "+" ? "to" : "from", article(left), hint));
      return T(Type::kError);
    }
    if (op == "in") {
      if (right.kind != Type::kList) {
        diagnostics_.error(where(*e.args[1]), fmt::format("type mismatch: `in` needs a list, as in [\"a\", \"b\"], but `{}` is {}",
                                                          show(*e.args[1]), article(right)));
      } else if (right.element != Type::kError && right.element != left.kind) {
        diagnostics_.error(where(e), fmt::format("type mismatch: `{}` is {}, but the list holds {} values", show(*e.args[0]),
                                                 article(left), type_name(T(right.element))));
      }
      return T(Type::kBool);
    }
    // Comparisons.
    if (left != right) {
      diagnostics_.error(where(e), fmt::format("type mismatch: cannot compare {} (`{}`) with {} (`{}`)", article(left),
                                               show(*e.args[0]), article(right), show(*e.args[1])));
      return T(Type::kBool);
    }
    if (op != "==" && op != "!=" && left.kind != Type::kDate && left.kind != Type::kNumber) {
      diagnostics_.error(where(e), fmt::format("`{}` orders dates and numbers, not {} values", op, type_name(left)));
    }
    return T(Type::kBool);
  }

  // --- rules --------------------------------------------------------------------------

  void set_slot(int slot, TypeRef type) {
    if (slot < 0) return;
    if (static_cast<std::size_t>(slot) >= slots_.size()) slots_.resize(slot + 1);
    slots_[slot] = type;
  }

  void check_quantifier(ast::Quantifier& q) {
    static const Type kElement[] = {Type::kPhase, Type::kCycle, Type::kNotice};
    Type element = kElement[static_cast<int>(q.kind)];
    if (q.source) {
      TypeRef source = infer(*q.source);
      bool ok = source.kind == Type::kError || source == list_of(element) ||
                (q.kind == ast::QuantifierKind::kCycle && source.kind == Type::kPhase);
      if (!ok) {
        diagnostics_.error(where(*q.source), fmt::format("`for each {} {} in ...` needs {}, but `{}` is {}",
                                                         type_name(T(element)), q.var,
                                                         q.kind == ast::QuantifierKind::kCycle ? "a phase or a list of cycles"
                                                                                                : "a list of " + type_name(T(element)) + "s",
                                                         show(*q.source), article(source)));
      }
    } else if (q.kind != ast::QuantifierKind::kPhase) {
      q.over = enclosing(q.kind == ast::QuantifierKind::kCycle ? std::initializer_list<Type>{Type::kPhase}
                                                                  : std::initializer_list<Type>{Type::kCycle, Type::kPhase});
      if (q.over < 0) {
        diagnostics_.error(module_->where(q.id), fmt::format("`{} {}` needs a phase to range over: write `for each phase p, {} {} in p`",
                                                             q.kind == ast::QuantifierKind::kCycle ? "cycle" : "notice", q.var,
                                                             q.kind == ast::QuantifierKind::kCycle ? "cycle" : "notice", q.var));
      }
    }
    set_slot(q.slot, T(element));
    scope_.push_back(q.slot);
  }

  // The innermost variable in scope whose type is one of `kinds`, or -1.
  int enclosing(std::initializer_list<Type> kinds) const {
    for (auto it = scope_.rbegin(); it != scope_.rend(); ++it) {
      Type t = slots_[static_cast<std::size_t>(*it)].kind;
      if (std::find(kinds.begin(), kinds.end(), t) != kinds.end()) return *it;
    }
    return -1;
  }

  void check_statements(std::vector<ast::Statement>& body) {
    std::size_t mark = scope_.size();
    for (auto& s : body) {
      switch (s.kind) {
        case ast::Statement::Kind::kRequire:
          expect(*s.expr, infer(*s.expr), T(Type::kBool), "`require`");
          break;
        case ast::Statement::Kind::kLet:
          set_slot(s.slot, infer(*s.expr));
          scope_.push_back(s.slot);
          break;
        case ast::Statement::Kind::kForEach: {
          std::size_t inner = scope_.size();
          check_quantifier(s.binding);
          check_statements(s.body);
          scope_.resize(inner);
          break;
        }
      }
    }
    scope_.resize(mark);
  }

  void check(LoadedModule& module) {
    module_ = module.ast.get();
    ast::Module& m = *module.ast;
    for (auto& p : m.params) {
      TypeRef t = param_type(&p);
      if (t.kind == Type::kPhase || t.kind == Type::kCycle || t.kind == Type::kNotice) {
        diagnostics_.error(where(*p.value), "a parameter holds a date, duration, number, text, yes/no value or list");
      }
    }
    for (auto& t : m.tasks) {
      if (t.due) expect(*t.due, infer(*t.due), T(Type::kDate), "`due`");
      else diagnostics_.error(m.where(t.id), fmt::format("{} `{}` has no due date: add `due YYYY-MM-DD`",
                                                         t.kind == ast::TaskKind::kGate ? "gate" : "milestone", t.name));
    }
    for (auto& x : m.excludes) expect(*x.when, infer(*x.when), T(Type::kBool), "`exclude ... when`");
    for (auto& p : m.phases) {
      if (p.select) expect(*p.select, infer(*p.select), T(Type::kBool), "`select`");
      else diagnostics_.error(m.where(p.id), fmt::format("phase `{}` has no `select`: say which accounts it holds, "
                                                         "as in `select class == \"residential\"`", p.name));
      if (p.enroll) expect(*p.enroll, infer(*p.enroll), T(Type::kDate), "`enroll`");
      else diagnostics_.error(m.where(p.id), fmt::format("phase `{}` has no enrollment date: add `enroll YYYY-MM-DD`", p.name));
    }
    for (auto& set : m.notice_sets) {
      for (auto& n : set.notices) {
        ast::Window& w = n.window;
        if (w.from) expect(*w.from, infer(*w.from), T(Type::kDate), "a window's start");
        if (w.to) expect(*w.to, infer(*w.to), T(Type::kDate), "a window's end");
        if (w.anchor) expect(*w.anchor, infer(*w.anchor), T(Type::kDate), "a window's anchor");
        if (w.span) expect(*w.span, infer(*w.span), T(Type::kDuration), "`within`");
        if (n.deadline) expect(*n.deadline, infer(*n.deadline), T(Type::kDuration), "`deadline`");
      }
    }
    for (auto& c : m.connects) {
      if (c.submit) expect(*c.submit, infer(*c.submit), T(Type::kDate), "`submit`");
      else diagnostics_.error(m.where(c.id), "`connect for each phase` has no `submit`: add `submit 5 business days before read`");
      if (c.deadline) expect(*c.deadline, infer(*c.deadline), T(Type::kDuration), "`deadline`");
    }
    for (auto& rule : m.rules) {
      slots_.assign(rule.slot_count, T(Type::kError));
      for (auto& q : rule.quantifiers) check_quantifier(q);
      check_statements(rule.body);
      slots_.clear();
      scope_.clear();
    }
    for (auto& a : m.asserts) expect(*a.cond, infer(*a.cond), T(Type::kBool), "`assert`");
    for (auto& o : m.optout_policies) {
      if (o.free_period) expect(*o.free_period, infer(*o.free_period), T(Type::kDuration), "`free`");
      if (o.return_notice) expect(*o.return_notice, infer(*o.return_notice), T(Type::kDuration), "`return`");
    }
  }

  Program& program_;
  Diagnostics& diagnostics_;
  const ast::Module* module_ = nullptr;
  std::map<const ast::Param*, TypeRef> param_types_;
  std::set<const ast::Param*> in_progress_;
  static constexpr std::size_t kMaxParamDepth = 256;
  std::vector<TypeRef> slots_;
  std::vector<int> scope_;  // slots of the variables in scope, outermost first
};

}  // namespace

void check_types(Program& program, Diagnostics& diagnostics) {
  TypeChecker(program, diagnostics).run();
}

}  // namespace ccaflow
