// The program being compiled (modules and their symbol tables) and the checked model the
// passes build from it: evaluated parameters, the calendar and read schedule, gates,
// phases with their per-cycle switch and submission dates, notice windows, rule outcomes.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ast.h"
#include "compiler/calendar.h"
#include "compiler/diagnostics.h"

namespace ccaflow {

// --- types and values --------------------------------------------------------------------

enum class Type { kError, kBool, kNumber, kText, kDate, kDuration, kList, kPhase, kCycle, kNotice };

struct TypeRef {
  Type kind = Type::kError;
  Type element = Type::kError;  // for lists
  friend bool operator==(const TypeRef&, const TypeRef&) = default;
};

std::string type_name(TypeRef type);

struct Value {
  Type type = Type::kError;
  bool boolean = false;
  double number = 0;
  std::string text;
  Date date{};
  ast::Duration duration{};
  std::vector<Value> list;
  int phase = -1, cycle = 0, notice = -1;  // references into the model

  static Value of_bool(bool b) { Value v; v.type = Type::kBool; v.boolean = b; return v; }
  static Value of_number(double n) { Value v; v.type = Type::kNumber; v.number = n; return v; }
  static Value of_text(std::string s) { Value v; v.type = Type::kText; v.text = std::move(s); return v; }
  static Value of_date(Date d) { Value v; v.type = Type::kDate; v.date = d; return v; }
  static Value of_duration(ast::Duration d) { Value v; v.type = Type::kDuration; v.duration = d; return v; }
};

std::string value_to_string(const Value& value);
std::string duration_to_string(const ast::Duration& duration);

// Account attributes a selector can test, in slot order.
enum class Attribute {
  kAccount, kClass, kRateSchedule, kCity, kCounty, kReadCycle,
  kDirectAccess, kCare, kFera, kMedicalBaseline, kNem,
};
std::optional<Attribute> attribute_named(std::string_view name);
const std::vector<std::string>& attribute_names();
TypeRef attribute_type(Attribute attribute);

enum class Anchor { kEnroll, kSwitch, kRead };

// --- the program ------------------------------------------------------------------------

struct Symbol {
  ast::RefKind kind = ast::RefKind::kUnresolved;
  const void* decl = nullptr;
  ast::NodeId id = 0;
};

struct LoadedModule {
  std::unique_ptr<ast::Module> ast;
  std::string path;  // as shown in diagnostics
  bool is_root = false;
  std::map<std::string, Symbol> symbols;  // filled in by name resolution
  std::map<std::string, ast::Module*> imports;  // import name -> module
};

class SourceFiles;

struct CompileOptions {
  std::string stdlib_dir;  // empty: CCAFLOW_STDLIB or the built-in path
  std::map<std::string, std::string> overrides;  // --set NAME=VALUE
  const SourceFiles* files = nullptr;  // nullptr: the disk
};

// --- the checked model --------------------------------------------------------------------

struct WindowDates {
  Date start{}, end{}, send{};
};

struct ParamInfo {
  std::string name;  // qualified for imported modules
  const ast::Param* decl = nullptr;
  Value value;
  bool overridden = false;
};

struct GateInfo {
  std::string id;
  const ast::Task* decl = nullptr;
  const ast::Module* module = nullptr;
  std::string owner;
  Date due{};
  std::vector<int> deps;  // gate indices
};

struct NoticeInfo {
  std::string id;  // set.notice
  const ast::Notice* decl = nullptr;
  const ast::NoticeSet* set = nullptr;
  const ast::Module* module = nullptr;
  std::vector<int> deps;  // gate indices: `after` plus gates named in the window
};

struct CycleInfo {
  int cycle = 0;
  Date read{};    // the switch date
  Date submit{};  // when the Connect CCASR goes to the utility
  std::vector<WindowDates> windows;  // per notice
};

struct PhaseInfo {
  std::string id;
  const ast::Phase* decl = nullptr;
  const ast::Module* module = nullptr;
  Date enroll{};
  std::vector<int> deps;  // gate indices
  std::vector<CycleInfo> cycles;  // one per read cycle
};

struct ExclusionInfo {
  std::string reason;
  const ast::Exclude* decl = nullptr;
};

// The opt-out settings a run applies (from the workflow's `optouts` policy).
struct OptoutTerms {
  std::string name;               // empty: the workflow names no policy
  bool hold_early = true;         // early opt-outs wait for the notice period (else rejected)
  ast::Duration free_period{60, ast::DurationUnit::kDays};
  ast::Duration return_notice{6, ast::DurationUnit::kMonths};
  std::map<std::string, long> fee_cents;  // by customer class
};

struct ResponseCodes {
  std::string name;
  std::vector<std::string> retry, hold;
};

struct RuleOutcome {
  std::string rule;   // qualified rule name, or "assert"
  std::string title;
  int phase = -1;     // -1 when not about one phase
  bool pass = true;
  std::string detail; // what failed, with the dates
};

struct Model {
  std::string title, cca, utility;
  std::string utility_name, cca_duns, utility_duns;  // for the 814's N1 segments
  std::optional<std::string> customers;  // resolved path of the default customer file
  std::string calendar_name, reads_name, reads_path;
  BusinessCalendar calendar;
  ReadSchedule reads;
  std::vector<ParamInfo> params;
  std::vector<GateInfo> gates;
  std::vector<NoticeInfo> notices;
  std::vector<PhaseInfo> phases;
  std::vector<ExclusionInfo> exclusions;
  const ast::Connect* connect = nullptr;
  std::string lead_text;  // the submission expression as written
  std::vector<RuleOutcome> outcomes;
  OptoutTerms optouts;
  ResponseCodes responses;
};

class Evaluator;

struct Program {
  SourceManager sources;
  std::shared_ptr<Evaluator> evaluator;  // created by the dates pass, used by later passes
  std::vector<LoadedModule> modules;  // [0] is the root workflow
  CompileOptions options;
  Model model;
  // Problems with --set NAME=VALUE: command-line usage errors (exit 2), not workflow errors.
  std::vector<std::string> usage_errors;
  // Every file the compile read (workflow, modules, read schedule), by the path it was read
  // under: a run stores them so it can always recompile exactly what it started with.
  std::map<std::string, std::string> inputs;
  const SourceFiles& files() const;
  std::optional<std::string> read_input(const std::string& path, std::string& error, std::size_t max_bytes);

  LoadedModule& root() { return modules.front(); }
  const LoadedModule& root() const { return modules.front(); }
  const std::string& path_of(const ast::Module& module) const;
  const LoadedModule& loaded(const ast::Module* module) const;
  // What a possibly qualified name (`jrc`, `sce.business_days`) names, seen from `from`.
  std::optional<Symbol> lookup(const LoadedModule& from, const std::vector<std::string>& parts) const;
  Location where(const ast::Module& module, ast::NodeId id) const { return module.where(id); }
};

}  // namespace ccaflow
