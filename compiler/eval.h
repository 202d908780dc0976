// Evaluates expressions on the model: date arithmetic in days, weeks, calendar months,
// business days (the workflow's calendar) and billing cycles (the account's read cycle).
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "compiler/model.h"

namespace ccaflow {

// An expression that cannot be evaluated (a date past the read schedule, billing cycles
// with no read cycle to count them on, an index out of range).
struct EvalError : std::runtime_error {
  EvalError(const ast::Expr* at_, std::string message_)
      : std::runtime_error(message_), at(at_), message(std::move(message_)) {}
  const ast::Expr* at;
  std::string message;
};

struct EvalScope {
  int phase = -1;                 // index into model.phases for enroll/switch
  int cycle = 0;                  // read cycle (1-based) for switch and billing cycles
  std::optional<Date> read;       // the read date a submission is computed for
  std::optional<Date> switch_on;  // an account's own switch date, when it is not its cycle's planned read
  std::vector<Value>* slots = nullptr;  // rule variables
};

class Evaluator {
 public:
  explicit Evaluator(const Model& model) : model_(model) {}

  // Values of parameters and due dates of tasks, filled in as the dates pass goes.
  std::map<const ast::Param*, Value> params;
  std::map<const ast::Task*, Date> task_dates;
  std::map<const ast::Phase*, int> phase_index;

  Value eval(const ast::Expr& e, const EvalScope& scope) const;
  Date eval_date(const ast::Expr& e, const EvalScope& scope) const { return eval(e, scope).date; }

  Date shift(Date date, const ast::Duration& d, int sign, const EvalScope& scope, const ast::Expr& at) const;
  // The notice's window (per cycle, or across every cycle of the phase when cycle == 0).
  WindowDates notice_window(int phase, int cycle, int notice) const;
  // A window evaluated afresh in `scope` (start and end; send is left to first_send).
  WindowDates window(const ast::Window& window, const EvalScope& scope) const;
  // The first business day a notice can go out in its window: once the window has opened
  // and the gates it waits for are due. nullopt when that day is past the window's end.
  std::optional<Date> first_send(const NoticeInfo& notice, const WindowDates& window) const;
  int billing_cycle_of(int phase, int cycle, Date date) const;
  // A list of the phase's read cycles (as cycle values).
  Value cycles_of(int phase) const;

 private:
  Value member(const ast::Expr& e, const Value& object, const EvalScope& scope) const;
  Value call(const ast::Expr& e, const EvalScope& scope) const;
  Value notices_of(int phase, int cycle, std::optional<ast::Stage> stage) const;

  const Model& model_;
};

// Three-way ordering of comparable values (numbers, dates, texts, booleans).
int compare_values(const Value& a, const Value& b);

}  // namespace ccaflow
