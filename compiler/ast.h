// The abstract syntax tree. Nodes carry a stable NodeId; source positions live in a side
// table (Module::locations) keyed by that id, so passes and the task graph can refer to a
// declaration by id and diagnostics can still point at its text.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/date.h"
#include "compiler/source.h"

namespace ccaflow::ast {

using NodeId = std::uint32_t;

enum class DurationUnit { kDays, kBusinessDays, kWeeks, kMonths, kBillingCycles };

struct Duration {
  int amount = 0;
  DurationUnit unit = DurationUnit::kDays;
  friend bool operator==(const Duration&, const Duration&) = default;
};

enum class ExprKind {
  kDate, kDuration, kNumber, kText, kBool,
  kName,       // text = the name
  kMember,     // args[0].text
  kIndex,      // args[0][args[1]]
  kCall,       // text(args...)
  kList,       // [args...]
  kNot,        // not args[0]
  kBinary,     // args[0] op args[1]; op in {+ - == != < <= > >= in and or}
  kRelative,   // args[0] (a duration) before/after args[1]; text = "before" or "after"
};

// What a name stands for, filled in by name resolution.
enum class RefKind {
  kUnresolved, kParam, kTask, kPhase, kNoticeSet, kCalendar, kReads, kRule, kModule, kOptouts, kResponses,
  kAttribute,  // an account attribute inside a selector
  kAnchor,     // enroll, switch, read inside a window or submission
  kVariable,   // a rule's quantifier or let variable
  kFunction,
};

struct Expr {
  NodeId id = 0;
  ExprKind kind = ExprKind::kNumber;
  std::string text;  // name, member, function, operator, or text literal value
  double number = 0;
  Date date{};
  Duration duration{};
  bool boolean = false;
  std::vector<std::unique_ptr<Expr>> args;

  // Filled in by name resolution: what a kName (or a qualified kMember) refers to.
  RefKind ref = RefKind::kUnresolved;
  const void* target = nullptr;  // the declaration it names (kind given by `ref`)
  int slot = -1;                 // attribute, anchor or variable slot
};

using ExprPtr = std::unique_ptr<Expr>;

struct QualifiedName {
  NodeId id = 0;
  std::vector<std::string> parts;
  std::string str() const;
};

enum class Owner { kUtility, kCca, kJoint };
enum class TaskKind { kMilestone, kGate };
enum class Stage { kPre, kPost };

struct Import {
  NodeId id = 0;
  std::string module;
};

struct Workflow {
  NodeId id = 0;
  std::string title;
  std::optional<std::string> cca, utility, customers;
  std::string utility_name, cca_duns, utility_duns;
  std::optional<QualifiedName> calendar, reads, optouts, responses;
  NodeId cca_id = 0, utility_id = 0, customers_id = 0;
};

struct Param {
  NodeId id = 0;
  std::string name;
  ExprPtr value;
};

struct Holiday {
  NodeId id = 0;
  Date date{};
  std::string name;
};

struct Calendar {
  NodeId id = 0;
  std::string name;
  std::vector<std::pair<NodeId, std::string>> weekend;  // day names as written
  bool weekend_given = false;
  std::vector<Holiday> holidays;
};

struct Reads {
  NodeId id = 0;
  std::string name;
  std::optional<std::string> file;
  NodeId file_id = 0;
  std::optional<QualifiedName> calendar;
};

struct Task {  // a milestone or a manual gate
  NodeId id = 0;
  TaskKind kind = TaskKind::kMilestone;
  std::string name;
  std::string title;
  std::optional<std::string> owner;
  NodeId owner_id = 0;
  ExprPtr due;
  std::vector<QualifiedName> after;
};

struct Exclude {
  NodeId id = 0;
  std::string reason;
  ExprPtr when;
};

struct Phase {
  NodeId id = 0;
  std::string name;
  std::string title;
  ExprPtr select;
  ExprPtr enroll;
  std::vector<QualifiedName> after;
};

enum class WindowKind { kBetween, kWithin, kBillingCycle, kOn };

struct Window {
  NodeId id = 0;
  WindowKind kind = WindowKind::kBetween;
  ExprPtr from, to;  // between: both; on: from
  ExprPtr span;      // within: the duration
  bool before = false;
  ExprPtr anchor;    // within and billing cycle
  int cycle_index = 0;
};

struct Notice {
  NodeId id = 0;
  Stage stage = Stage::kPre;
  std::string name;
  Window window;
  std::vector<QualifiedName> after;
  std::optional<std::string> sender;
  NodeId sender_id = 0;
  std::optional<std::string> template_path;
  int retry = 0;
  ExprPtr deadline;
};

struct NoticeSet {
  NodeId id = 0;
  std::string name;
  std::vector<Notice> notices;
};

struct Connect {
  NodeId id = 0;
  ExprPtr submit;
  int retry = 0;
  ExprPtr deadline;
};

enum class QuantifierKind { kPhase, kCycle, kNotice };

struct Quantifier {
  NodeId id = 0;
  QuantifierKind kind = QuantifierKind::kPhase;
  std::string var;
  ExprPtr source;  // optional: `in p.pre`
  int slot = -1;
  // Without a source, a cycle ranges over the innermost enclosing phase variable, and a
  // notice over the innermost enclosing cycle or phase variable: that variable's slot.
  int over = -1;
};

struct Statement {
  enum class Kind { kRequire, kLet, kForEach } kind = Kind::kRequire;
  NodeId id = 0;
  ExprPtr expr;         // require condition, let value
  std::string message;  // require
  std::string name;     // let
  int slot = -1;        // let
  Quantifier binding;   // for each
  std::vector<Statement> body;
};

struct Rule {
  NodeId id = 0;
  std::string name;
  std::string title;
  std::vector<Quantifier> quantifiers;
  std::vector<Statement> body;
  int slot_count = 0;  // variables, filled in by name resolution
};

struct Require {
  NodeId id = 0;
  std::vector<QualifiedName> rules;
};

struct Assert {
  NodeId id = 0;
  ExprPtr cond;
  std::string message;
};

// How opt-outs are handled (domain.md's settings): early ones held or rejected, the free
// follow-up period, the Six-Month Advance Notice, re-entry fees by customer class.
struct OptoutPolicy {
  NodeId id = 0;
  std::string name;
  std::optional<bool> hold_early;
  ExprPtr free_period;
  ExprPtr return_notice;
  struct Fee {
    NodeId id = 0;
    std::string customer_class;
    double amount = 0;
  };
  std::vector<Fee> fees;
};

// Which reject reason codes are retried on the next read and which wait for an operator.
struct ResponsePolicy {
  NodeId id = 0;
  std::string name;
  std::vector<std::pair<NodeId, std::string>> retry, hold;
};

// One parsed file.
struct Module {
  std::string name;  // import name; the root workflow's file stem
  FileId file = kNoFile;
  std::string directory;
  std::vector<Import> imports;
  std::vector<Workflow> workflows;
  std::vector<Param> params;
  std::vector<Calendar> calendars;
  std::vector<Reads> reads;
  std::vector<Task> tasks;
  std::vector<Exclude> excludes;
  std::vector<Phase> phases;
  std::vector<NoticeSet> notice_sets;
  std::vector<Connect> connects;
  std::vector<Rule> rules;
  std::vector<Require> requires_;
  std::vector<Assert> asserts;
  std::vector<OptoutPolicy> optout_policies;
  std::vector<ResponsePolicy> response_policies;

  // The side table: every node's position in the source.
  std::vector<Location> locations;
  NodeId new_node(Location where) {
    locations.push_back(where);
    return static_cast<NodeId>(locations.size() - 1);
  }
  Location where(NodeId id) const { return id < locations.size() ? locations[id] : Location{}; }
};

// Prints the module as an indented tree (check --dump ast).
std::string dump(const Module& module);
std::string expr_to_string(const Expr& expr);

}  // namespace ccaflow::ast
