#include "compiler/eval.h"

#include <algorithm>
#include <fmt/format.h>
#include <set>

namespace ccaflow {

using ast::Expr;
using ast::ExprKind;
using ast::RefKind;

int compare_values(const Value& a, const Value& b) {
  switch (a.type) {
    case Type::kNumber: return a.number < b.number ? -1 : a.number > b.number ? 1 : 0;
    case Type::kDate: return a.date < b.date ? -1 : a.date > b.date ? 1 : 0;
    case Type::kText: return a.text.compare(b.text) < 0 ? -1 : a.text == b.text ? 0 : 1;
    case Type::kBool: return static_cast<int>(a.boolean) - static_cast<int>(b.boolean);
    case Type::kDuration: return a.duration == b.duration ? 0 : 1;
    default: return 0;
  }
}

Date Evaluator::shift(Date date, const ast::Duration& d, int sign, const EvalScope& scope, const Expr& at) const {
  int n = d.amount * sign;
  switch (d.unit) {
    case ast::DurationUnit::kDays: return add_days(date, n);
    case ast::DurationUnit::kWeeks: return add_days(date, 7 * n);
    case ast::DurationUnit::kMonths: return add_months(date, n);
    case ast::DurationUnit::kBusinessDays: return model_.calendar.add_business_days(date, n);
    case ast::DurationUnit::kBillingCycles: {
      if (scope.cycle <= 0 || !model_.reads.has_cycle(scope.cycle)) {
        throw EvalError{&at, "billing cycles are counted on an account's read cycle: use them in a notice window "
                             "or in a rule over cycles"};
      }
      if (n == 0) return date;
      auto read = model_.reads.nth_read_from(scope.cycle, date, n);
      if (!read) {
        throw EvalError{&at, fmt::format("{} {} {} runs past the read schedule for cycle {} ({}..{})",
                                         duration_to_string(d), sign > 0 ? "after" : "before", format_date(date),
                                         scope.cycle, format_date(model_.reads.reads(scope.cycle).front()),
                                         format_date(model_.reads.reads(scope.cycle).back()))};
      }
      return *read;
    }
  }
  return date;
}

WindowDates Evaluator::notice_window(int phase, int cycle, int notice) const {
  const PhaseInfo& p = model_.phases.at(phase);
  if (cycle > 0) return p.cycles.at(cycle - 1).windows.at(notice);
  WindowDates all = p.cycles.front().windows.at(notice);
  for (const CycleInfo& c : p.cycles) {
    const WindowDates& w = c.windows.at(notice);
    all.start = std::min(all.start, w.start);
    all.end = std::max(all.end, w.end);
    all.send = std::min(all.send, w.send);
  }
  return all;
}

int Evaluator::billing_cycle_of(int phase, int cycle, Date date) const {
  Date start = model_.phases.at(phase).cycles.at(cycle - 1).read;
  if (date < start) return 0;
  const auto& reads = model_.reads.reads(cycle);
  auto it = std::upper_bound(reads.begin(), reads.end(), date);
  auto first = std::lower_bound(reads.begin(), reads.end(), start);
  return static_cast<int>(it - first);
}

Value Evaluator::notices_of(int phase, int cycle, std::optional<ast::Stage> stage) const {
  Value list;
  list.type = Type::kList;
  for (std::size_t i = 0; i < model_.notices.size(); ++i) {
    if (stage && model_.notices[i].decl->stage != *stage) continue;
    Value n;
    n.type = Type::kNotice;
    n.phase = phase;
    n.cycle = cycle;
    n.notice = static_cast<int>(i);
    list.list.push_back(n);
  }
  return list;
}

WindowDates Evaluator::window(const ast::Window& w, const EvalScope& scope) const {
  WindowDates out;
  switch (w.kind) {
    case ast::WindowKind::kBetween:
      out.start = eval_date(*w.from, scope);
      out.end = eval_date(*w.to, scope);
      break;
    case ast::WindowKind::kWithin: {
      Date anchor = eval_date(*w.anchor, scope);
      ast::Duration span = eval(*w.span, scope).duration;
      if (w.before) {
        out.start = shift(anchor, span, -1, scope, *w.span);
        out.end = add_days(anchor, -1);
      } else {
        out.start = anchor;
        out.end = add_days(shift(anchor, span, 1, scope, *w.span), -1);
      }
      break;
    }
    case ast::WindowKind::kBillingCycle: {
      Date anchor = eval_date(*w.anchor, scope);
      ast::Duration before{w.cycle_index - 1, ast::DurationUnit::kBillingCycles};
      ast::Duration through{w.cycle_index, ast::DurationUnit::kBillingCycles};
      out.start = shift(anchor, before, 1, scope, *w.anchor);
      out.end = add_days(shift(anchor, through, 1, scope, *w.anchor), -1);
      break;
    }
    case ast::WindowKind::kOn:
      out.start = out.end = eval_date(*w.from, scope);
      break;
  }
  return out;
}

std::optional<Date> Evaluator::first_send(const NoticeInfo& notice, const WindowDates& w) const {
  Date earliest = w.start;
  for (int g : notice.deps) earliest = std::max(earliest, model_.gates.at(static_cast<std::size_t>(g)).due);
  if (earliest > w.end) return std::nullopt;
  Date send = model_.calendar.next_business_day(earliest);
  if (send > w.end) return std::nullopt;
  return send;
}

Value Evaluator::cycles_of(int phase) const {
  Value list;
  list.type = Type::kList;
  for (const CycleInfo& c : model_.phases.at(phase).cycles) {
    Value v;
    v.type = Type::kCycle;
    v.phase = phase;
    v.cycle = c.cycle;
    list.list.push_back(v);
  }
  return list;
}

Value Evaluator::member(const Expr& e, const Value& object, const EvalScope&) const {
  const std::string& m = e.text;
  if (object.type == Type::kPhase) {
    const PhaseInfo& p = model_.phases.at(object.phase);
    if (m == "enroll") return Value::of_date(p.enroll);
    if (m == "name") return Value::of_text(p.id);
    if (m == "pre") return notices_of(object.phase, 0, ast::Stage::kPre);
    if (m == "post") return notices_of(object.phase, 0, ast::Stage::kPost);
    if (m == "notices") return notices_of(object.phase, 0, std::nullopt);
    if (m == "cycles") return cycles_of(object.phase);
  } else if (object.type == Type::kCycle) {
    const CycleInfo& c = model_.phases.at(object.phase).cycles.at(object.cycle - 1);
    if (m == "switch" || m == "read") return Value::of_date(c.read);
    if (m == "submit") return Value::of_date(c.submit);
    if (m == "number") return Value::of_number(c.cycle);
    if (m == "pre") return notices_of(object.phase, object.cycle, ast::Stage::kPre);
    if (m == "post") return notices_of(object.phase, object.cycle, ast::Stage::kPost);
    if (m == "notices") return notices_of(object.phase, object.cycle, std::nullopt);
    if (m == "phase") {
      Value v;
      v.type = Type::kPhase;
      v.phase = object.phase;
      return v;
    }
  } else if (object.type == Type::kNotice) {
    WindowDates w = notice_window(object.phase, object.cycle, object.notice);
    if (m == "start") return Value::of_date(w.start);
    if (m == "end") return Value::of_date(w.end);
    if (m == "send") return Value::of_date(w.send);
    if (m == "name") return Value::of_text(model_.notices.at(object.notice).id);
  } else if (object.type == Type::kDate && m == "due") {
    return object;  // a gate's name already evaluates to its due date
  }
  throw EvalError{&e, fmt::format("no member `{}` here", m)};
}

Value Evaluator::call(const Expr& e, const EvalScope& scope) const {
  std::vector<Value> args;
  for (const auto& a : e.args) args.push_back(eval(*a, scope));
  const std::string& f = e.text;
  if (f == "count") return Value::of_number(static_cast<double>(args[0].list.size()));
  if (f == "distinct_days") {
    std::set<Date> days;
    for (const Value& n : args[0].list) {
      if (!days.insert(notice_window(n.phase, n.cycle, n.notice).send).second) return Value::of_bool(false);
    }
    return Value::of_bool(true);
  }
  if (f == "max" || f == "min") {
    Value best = args[0];
    for (const Value& v : args) {
      int c = compare_values(v, best);
      if ((f == "max" && c > 0) || (f == "min" && c < 0)) best = v;
    }
    return best;
  }
  if (f == "billing_cycle") {
    const Value& c = args[0];
    return Value::of_number(billing_cycle_of(c.phase, c.cycle, args[1].date));
  }
  if (f == "business_day") return Value::of_bool(model_.calendar.is_business_day(args[0].date));
  if (f == "days_between") return Value::of_number(static_cast<double>((args[1].date - args[0].date).count()));
  throw EvalError{&e, fmt::format("unknown function `{}`", f)};
}

Value Evaluator::eval(const Expr& e, const EvalScope& scope) const {
  switch (e.kind) {
    case ExprKind::kDate: return Value::of_date(e.date);
    case ExprKind::kDuration: return Value::of_duration(e.duration);
    case ExprKind::kNumber: return Value::of_number(e.number);
    case ExprKind::kText: return Value::of_text(e.text);
    case ExprKind::kBool: return Value::of_bool(e.boolean);
    case ExprKind::kName:
      switch (e.ref) {
        case RefKind::kParam: {
          auto it = params.find(static_cast<const ast::Param*>(e.target));
          if (it == params.end()) throw EvalError{&e, fmt::format("`{}` has no value yet", e.text)};
          return it->second;
        }
        case RefKind::kTask: {
          auto it = task_dates.find(static_cast<const ast::Task*>(e.target));
          if (it == task_dates.end()) throw EvalError{&e, fmt::format("`{}` has no due date yet", e.text)};
          return Value::of_date(it->second);
        }
        case RefKind::kPhase: {
          auto it = phase_index.find(static_cast<const ast::Phase*>(e.target));
          if (it == phase_index.end()) throw EvalError{&e, fmt::format("phase `{}` has no dates yet", e.text)};
          Value v;
          v.type = Type::kPhase;
          v.phase = it->second;
          return v;
        }
        case RefKind::kAnchor: {
          auto anchor = static_cast<Anchor>(e.slot);
          if (anchor == Anchor::kRead) {
            if (!scope.read) throw EvalError{&e, "`read` has no date here"};
            return Value::of_date(*scope.read);
          }
          if (scope.phase < 0) throw EvalError{&e, fmt::format("`{}` needs a phase", e.text)};
          const PhaseInfo& p = model_.phases.at(scope.phase);
          if (anchor == Anchor::kEnroll) return Value::of_date(p.enroll);
          if (scope.switch_on) return Value::of_date(*scope.switch_on);
          if (scope.cycle <= 0 || static_cast<std::size_t>(scope.cycle) > p.cycles.size()) {
            throw EvalError{&e, "`switch` needs a read cycle"};
          }
          return Value::of_date(p.cycles[scope.cycle - 1].read);
        }
        case RefKind::kVariable: return scope.slots->at(e.slot);
        default: throw EvalError{&e, fmt::format("`{}` has no value here", e.text)};
      }
    case ExprKind::kMember: return member(e, eval(*e.args[0], scope), scope);
    case ExprKind::kIndex: {
      Value list = eval(*e.args[0], scope);
      Value index = eval(*e.args[1], scope);
      auto i = static_cast<long>(index.number);
      if (i < 0 || static_cast<std::size_t>(i) >= list.list.size() || static_cast<double>(i) != index.number) {
        throw EvalError{&e, fmt::format("index {} is outside the list, which has {} item{}", value_to_string(index),
                                        list.list.size(), list.list.size() == 1 ? "" : "s")};
      }
      return list.list[static_cast<std::size_t>(i)];
    }
    case ExprKind::kCall: return call(e, scope);
    case ExprKind::kList: {
      Value list;
      list.type = Type::kList;
      for (const auto& a : e.args) list.list.push_back(eval(*a, scope));
      return list;
    }
    case ExprKind::kNot: return Value::of_bool(!eval(*e.args[0], scope).boolean);
    case ExprKind::kRelative: {
      Value span = eval(*e.args[0], scope);
      Value anchor = eval(*e.args[1], scope);
      return Value::of_date(shift(anchor.date, span.duration, e.text == "before" ? -1 : 1, scope, e));
    }
    case ExprKind::kBinary: {
      const std::string& op = e.text;
      if (op == "and") return Value::of_bool(eval(*e.args[0], scope).boolean && eval(*e.args[1], scope).boolean);
      if (op == "or") return Value::of_bool(eval(*e.args[0], scope).boolean || eval(*e.args[1], scope).boolean);
      Value a = eval(*e.args[0], scope);
      Value b = eval(*e.args[1], scope);
      if (op == "+" || op == "-") {
        int sign = op == "+" ? 1 : -1;
        if (a.type == Type::kNumber) return Value::of_number(a.number + sign * b.number);
        if (a.type == Type::kDuration) return Value::of_date(shift(b.date, a.duration, 1, scope, e));
        return Value::of_date(shift(a.date, b.duration, sign, scope, e));
      }
      if (op == "in") {
        for (const Value& item : b.list) {
          if (compare_values(a, item) == 0) return Value::of_bool(true);
        }
        return Value::of_bool(false);
      }
      int c = compare_values(a, b);
      if (op == "==") return Value::of_bool(c == 0);
      if (op == "!=") return Value::of_bool(c != 0);
      if (op == "<") return Value::of_bool(c < 0);
      if (op == "<=") return Value::of_bool(c <= 0);
      if (op == ">") return Value::of_bool(c > 0);
      return Value::of_bool(c >= 0);
    }
  }
  throw EvalError{&e, "cannot evaluate this expression"};
}

}  // namespace ccaflow
