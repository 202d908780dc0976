// The one file that sees ANTLR (see style.md): the generated lexer and parser run here with
// our own error listener; the parse tree is turned into the AST and then discarded.
#include "compiler/parser.h"

#include "compiler/lexer.h"
#include "compiler/text.h"

#include <FlowParser.h>
#include <antlr4-runtime.h>

#include <charconv>
#include <fmt/format.h>
#include <unordered_map>

namespace ccaflow {
namespace {

using grammar::FlowParser;

// Validates the raw bytes before ANTLR sees them: a NUL byte or a malformed UTF-8
// sequence is reported at its line and column and stops the parse of this file.
bool check_encoding(const SourceFile& file, FileId id, Diagnostics& diagnostics) {
  const std::string& text = file.text;
  std::uint32_t line = 1, column = 1;
  std::size_t reported = 0;
  for (std::size_t i = 0; i < text.size() && reported < 5;) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte == 0) {
      diagnostics.error(Location{id, line, column, 1},
                        "NUL byte in workflow file (is this a binary file? workflow files are UTF-8 text)");
      ++reported;
      ++i;
      ++column;
      continue;
    }
    std::size_t length = utf8_sequence_length(std::string_view(text).substr(i));
    if (length == 0) {
      diagnostics.error(Location{id, line, column, 1},
                        fmt::format("invalid UTF-8 byte 0x{:02X}: save the file as UTF-8 text", byte));
      ++reported;
      ++i;
      ++column;
      continue;
    }
    if (byte == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += length;
  }
  return reported == 0;
}

// Byte column (1-based) of a character position (0-based code points) on a line.
std::uint32_t byte_column(const SourceFile& file, std::size_t line, std::size_t chars) {
  std::string_view text = file.line(static_cast<std::uint32_t>(line));
  std::size_t i = 0;
  for (std::size_t seen = 0; i < text.size() && seen < chars; ++seen) {
    auto byte = static_cast<unsigned char>(text[i]);
    i += byte < 0x80 ? 1 : byte < 0xE0 ? 2 : byte < 0xF0 ? 3 : 4;
  }
  return static_cast<std::uint32_t>(i + 1);
}

std::string describe_token(const antlr4::Token* token) {
  if (token == nullptr || token->getType() == antlr4::Token::EOF) return "end of file";
  std::string text = token->getText();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return fmt::format("`{}`", text);
}

// ANTLR phrases its messages for grammar authors; these are rephrased for the people
// who write workflows, keeping ANTLR's list of what was expected when it is short.
std::string rephrase(const std::string& message, const antlr4::Token* offending) {
  auto expecting = [&]() -> std::string {
    auto at = message.find(" expecting ");
    if (at == std::string::npos) return {};
    std::string list = message.substr(at + 11);
    if (!list.empty() && list.front() == '{') {
      if (list.find("ID") != std::string::npos) return "a name";
      std::size_t commas = 0;
      for (char c : list) commas += c == ',';
      if (commas >= 6) return {};
      list = list.substr(1, list.size() - 2);
    }
    if (list == "ID") return "a name";
    std::string out;
    for (char c : list) out += c == '\'' ? '`' : c;
    if (out == "<EOF>") out = "end of file";
    return out;
  };
  std::string what = describe_token(offending);
  if (offending != nullptr && offending->getType() == FlowParser::UNKNOWN) {
    return fmt::format("unexpected character {}", what);
  }
  if (message.rfind("missing ", 0) == 0) {
    auto at = message.find(" at ");
    std::string missing = message.substr(8, at == std::string::npos ? std::string::npos : at - 8);
    for (char& c : missing) c = c == '\'' ? '`' : c;
    return fmt::format("missing {} before {}", missing, what);
  }
  std::string expected = expecting();
  if (!expected.empty()) return fmt::format("unexpected {}, expected {}", what, expected);
  return fmt::format("unexpected {}", what);
}

class ErrorCollector : public antlr4::BaseErrorListener {
 public:
  ErrorCollector(const SourceFile& file, FileId id, Diagnostics& diagnostics)
      : file_(file), id_(id), diagnostics_(diagnostics) {}

  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t line,
                   size_t position, const std::string& message, std::exception_ptr) override {
    ++count;
    std::uint32_t length = 1;
    if (offending != nullptr && offending->getType() != antlr4::Token::EOF) {
      length = static_cast<std::uint32_t>(std::max<std::size_t>(1, offending->getText().size()));
    }
    if (line == 0) line = 1;
    diagnostics_.error(Location{id_, static_cast<std::uint32_t>(line),
                                byte_column(file_, line, position), length},
                       rephrase(message, offending) + import_hint(recognizer));
  }

  // Imports name modules, never paths: a path cannot reach outside the workflow's folder
  // and the stdlib.
  static std::string import_hint(antlr4::Recognizer* recognizer) {
    auto* parser = dynamic_cast<antlr4::Parser*>(recognizer);
    if (parser == nullptr) return {};
    antlr4::tree::ParseTree* ctx = parser->getContext();
    while (ctx != nullptr && dynamic_cast<FlowParser::ImportItemContext*>(ctx) == nullptr) ctx = ctx->parent;
    if (ctx == nullptr) return {};
    return ": an import names a module (`import sce` reads sce.flow from the workflow's folder or the stdlib), "
           "never a path";
  }

  std::size_t count = 0;

 private:
  const SourceFile& file_;
  FileId id_;
  Diagnostics& diagnostics_;
};

struct TooDeep {
  antlr4::Token* at;
};

// Caps the depth of the parse so that a chain of ten thousand `not`s cannot exhaust the stack.
class DepthGuard : public antlr4::tree::ParseTreeListener {
 public:
  explicit DepthGuard(int limit) : limit_(limit) {}
  void visitTerminal(antlr4::tree::TerminalNode*) override {}
  void visitErrorNode(antlr4::tree::ErrorNode*) override {}
  void enterEveryRule(antlr4::ParserRuleContext* ctx) override {
    if (++depth_ > limit_) throw TooDeep{ctx->getStart()};
  }
  void exitEveryRule(antlr4::ParserRuleContext*) override { --depth_; }

 private:
  int limit_;
  int depth_ = 0;
};

class Builder {
 public:
  Builder(const SourceFile& file, FileId id, ast::Module& module, Diagnostics& diagnostics,
          int max_depth)
      : file_(file), id_(id), module_(module), diagnostics_(diagnostics), max_depth_(max_depth) {}

  void build(FlowParser::FileContext* ctx) {
    for (auto* item : ctx->items) build_item(item);
  }

 private:
  Location loc(const antlr4::Token* token) const {
    if (token == nullptr) return Location{id_, 1, 1, 1};
    auto length = static_cast<std::uint32_t>(std::max<std::size_t>(1, token->getText().size()));
    return Location{id_, static_cast<std::uint32_t>(token->getLine()),
                    byte_column(file_, token->getLine(), token->getCharPositionInLine()), length};
  }
  Location loc(antlr4::ParserRuleContext* ctx) const {
    Location where = loc(ctx->getStart());
    const antlr4::Token* stop = ctx->getStop();
    if (stop != nullptr && stop->getLine() == ctx->getStart()->getLine() &&
        stop->getStopIndex() >= ctx->getStart()->getStartIndex()) {
      std::size_t end_col = byte_column(file_, stop->getLine(), stop->getCharPositionInLine()) +
                            stop->getText().size();
      where.length = static_cast<std::uint32_t>(std::max<std::size_t>(1, end_col - where.column));
    }
    return where;
  }
  ast::NodeId node(const antlr4::Token* token) { return module_.new_node(loc(token)); }
  ast::NodeId node(antlr4::ParserRuleContext* ctx) { return module_.new_node(loc(ctx)); }

  static std::string text(FlowParser::IdentContext* ctx) { return ctx->getText(); }

  static std::string unquote(const antlr4::Token* token) {
    std::string raw = token->getText();
    std::string out;
    for (std::size_t i = 1; i + 1 < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 2 < raw.size()) {
        char next = raw[++i];
        out += next == 'n' ? '\n' : next == 't' ? '\t' : next;
      } else {
        out += raw[i];
      }
    }
    return out;
  }

  int integer(const antlr4::Token* token, const char* what) {
    std::string raw = token->getText();
    int value = 0;
    auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), value);
    if (ec != std::errc{} || end != raw.data() + raw.size() || value > 100000) {
      diagnostics_.error(loc(token), fmt::format("{} must be a whole number from 0 to 100000, not {}", what, raw));
      return 0;
    }
    return value;
  }

  ast::QualifiedName qualified(FlowParser::QualifiedNameContext* ctx) {
    ast::QualifiedName name;
    name.id = node(ctx);
    for (auto* part : ctx->parts) name.parts.push_back(text(part));
    return name;
  }

  std::vector<ast::QualifiedName> qualified_list(const std::vector<FlowParser::QualifiedNameContext*>& list) {
    std::vector<ast::QualifiedName> out;
    for (auto* ctx : list) out.push_back(qualified(ctx));
    return out;
  }

  // Reports a property given twice in one declaration ("enroll" twice in a phase).
  template <typename T>
  void set_once(T& slot, T value, antlr4::ParserRuleContext* ctx, const char* what,
                ast::NodeId& first) {
    if (slot) {
      auto& d = diagnostics_.error(loc(ctx->getStart()), fmt::format("`{}` is given twice", what));
      d.notes.push_back({module_.where(first), "first given here"});
      return;
    }
    slot = std::move(value);
    first = node(ctx->getStart());
  }

  void build_item(FlowParser::ItemContext* item) {
    if (auto* ctx = dynamic_cast<FlowParser::ImportItemContext*>(item)) {
      for (auto* m : ctx->modules) module_.imports.push_back({node(m), text(m)});
    } else if (auto* ctx = dynamic_cast<FlowParser::WorkflowItemContext*>(item)) {
      build_workflow(ctx);
    } else if (auto* ctx = dynamic_cast<FlowParser::ParamItemContext*>(item)) {
      ast::Param& param = module_.params.emplace_back();
      param.id = node(ctx->name);
      param.name = text(ctx->name);
      param.value = expr(ctx->value);
    } else if (auto* ctx = dynamic_cast<FlowParser::CalendarItemContext*>(item)) {
      build_calendar(ctx);
    } else if (auto* ctx = dynamic_cast<FlowParser::ReadsItemContext*>(item)) {
      build_reads(ctx);
    } else if (auto* ctx = dynamic_cast<FlowParser::TaskItemContext*>(item)) {
      build_task(ctx);
    } else if (auto* ctx = dynamic_cast<FlowParser::ExcludeItemContext*>(item)) {
      ast::Exclude& exclude = module_.excludes.emplace_back();
      exclude.id = node(ctx);
      exclude.reason = unquote(ctx->reason);
      exclude.when = expr(ctx->cond);
    } else if (auto* ctx = dynamic_cast<FlowParser::PhaseItemContext*>(item)) {
      build_phase(ctx);
    } else if (auto* ctx = dynamic_cast<FlowParser::NoticesItemContext*>(item)) {
      build_notices(ctx);
    } else if (auto* ctx = dynamic_cast<FlowParser::ConnectItemContext*>(item)) {
      build_connect(ctx);
    } else if (auto* ctx = dynamic_cast<FlowParser::RuleItemContext*>(item)) {
      build_rule(ctx);
    } else if (auto* ctx = dynamic_cast<FlowParser::RequireItemContext*>(item)) {
      ast::Require& require = module_.requires_.emplace_back();
      require.id = node(ctx);
      require.rules = qualified_list(ctx->rules);
    } else if (auto* ctx = dynamic_cast<FlowParser::OptoutsItemContext*>(item)) {
      build_optouts(ctx);
    } else if (auto* ctx = dynamic_cast<FlowParser::ResponsesItemContext*>(item)) {
      ast::ResponsePolicy& policy = module_.response_policies.emplace_back();
      policy.id = node(ctx->name);
      policy.name = text(ctx->name);
      for (auto* prop : ctx->props) {
        if (auto* p = dynamic_cast<FlowParser::RetryCodesPropContext*>(prop)) {
          for (auto* code : p->codes) policy.retry.emplace_back(node(code), unquote(code));
        } else if (auto* p = dynamic_cast<FlowParser::HoldCodesPropContext*>(prop)) {
          for (auto* code : p->codes) policy.hold.emplace_back(node(code), unquote(code));
        }
      }
    } else if (auto* ctx = dynamic_cast<FlowParser::AssertItemContext*>(item)) {
      ast::Assert& assertion = module_.asserts.emplace_back();
      assertion.id = node(ctx->cond);
      assertion.cond = expr(ctx->cond);
      if (ctx->message != nullptr) assertion.message = unquote(ctx->message);
    }
  }

  void build_workflow(FlowParser::WorkflowItemContext* ctx) {
    ast::Workflow& workflow = module_.workflows.emplace_back();
    workflow.id = node(ctx->getStart());
    workflow.title = unquote(ctx->title);
    ast::NodeId calendar_first = 0, reads_first = 0, optouts_first = 0, responses_first = 0;
    for (auto* prop : ctx->props) {
      if (auto* p = dynamic_cast<FlowParser::CcaPropContext*>(prop)) {
        set_once(workflow.cca, std::optional<std::string>(text(p->code)), p, "cca", workflow.cca_id);
        if (p->duns != nullptr) workflow.cca_duns = duns(p->duns);
      } else if (auto* p = dynamic_cast<FlowParser::UtilityPropContext*>(prop)) {
        set_once(workflow.utility, std::optional<std::string>(text(p->code)), p, "utility", workflow.utility_id);
        if (p->name != nullptr) workflow.utility_name = unquote(p->name);
        if (p->duns != nullptr) workflow.utility_duns = duns(p->duns);
      } else if (auto* p = dynamic_cast<FlowParser::CalendarPropContext*>(prop)) {
        set_once(workflow.calendar, std::optional(qualified(p->ref)), p, "calendar", calendar_first);
      } else if (auto* p = dynamic_cast<FlowParser::ReadSchedulePropContext*>(prop)) {
        set_once(workflow.reads, std::optional(qualified(p->ref)), p, "reads", reads_first);
      } else if (auto* p = dynamic_cast<FlowParser::OptoutPolicyPropContext*>(prop)) {
        set_once(workflow.optouts, std::optional(qualified(p->ref)), p, "optouts", optouts_first);
      } else if (auto* p = dynamic_cast<FlowParser::ResponsePolicyPropContext*>(prop)) {
        set_once(workflow.responses, std::optional(qualified(p->ref)), p, "responses", responses_first);
      } else if (auto* p = dynamic_cast<FlowParser::CustomersPropContext*>(prop)) {
        set_once(workflow.customers, std::optional<std::string>(unquote(p->path)), p, "customers",
                 workflow.customers_id);
      }
    }
  }

  // A DUNS number, as the 814's N1 segments carry it: nine digits.
  std::string duns(const antlr4::Token* token) {
    std::string value = unquote(token);
    if (value.size() != 9 || value.find_first_not_of("0123456789") != std::string::npos) {
      diagnostics_.error(loc(token), fmt::format("a DUNS number has nine digits, not \"{}\"", value));
    }
    return value;
  }

  void build_optouts(FlowParser::OptoutsItemContext* ctx) {
    ast::OptoutPolicy& policy = module_.optout_policies.emplace_back();
    policy.id = node(ctx->name);
    policy.name = text(ctx->name);
    ast::NodeId early_first = 0, free_first = 0, return_first = 0;
    for (auto* prop : ctx->props) {
      if (auto* p = dynamic_cast<FlowParser::EarlyOptoutPropContext*>(prop)) {
        set_once(policy.hold_early, std::optional<bool>(p->action->getText() == "hold"), p, "early", early_first);
      } else if (auto* p = dynamic_cast<FlowParser::FreePeriodPropContext*>(prop)) {
        set_once(policy.free_period, primary(p->span), p, "free", free_first);
      } else if (auto* p = dynamic_cast<FlowParser::ReturnNoticePropContext*>(prop)) {
        set_once(policy.return_notice, primary(p->span), p, "return", return_first);
      } else if (auto* p = dynamic_cast<FlowParser::FeePropContext*>(prop)) {
        ast::OptoutPolicy::Fee fee;
        fee.id = node(p->customerClass);
        fee.customer_class = text(p->customerClass);
        fee.amount = std::strtod(p->amount->getText().c_str(), nullptr);
        policy.fees.push_back(std::move(fee));
      }
    }
  }

  void build_calendar(FlowParser::CalendarItemContext* ctx) {
    ast::Calendar& calendar = module_.calendars.emplace_back();
    calendar.id = node(ctx->name);
    calendar.name = text(ctx->name);
    for (auto* entry : ctx->entries) {
      if (auto* e = dynamic_cast<FlowParser::WeekendEntryContext*>(entry)) {
        calendar.weekend_given = true;
        for (auto* day : e->days) calendar.weekend.emplace_back(node(day), text(day));
      } else if (auto* e = dynamic_cast<FlowParser::HolidayEntryContext*>(entry)) {
        ast::Holiday holiday;
        holiday.id = node(e->day);
        holiday.name = unquote(e->name);
        if (auto date = parse_date(e->day->getText())) {
          holiday.date = *date;
          calendar.holidays.push_back(std::move(holiday));
        } else {
          bad_date(e->day);
        }
      }
    }
  }

  void build_reads(FlowParser::ReadsItemContext* ctx) {
    ast::Reads& reads = module_.reads.emplace_back();
    reads.id = node(ctx->name);
    reads.name = text(ctx->name);
    ast::NodeId calendar_first = 0;
    for (auto* prop : ctx->props) {
      if (auto* p = dynamic_cast<FlowParser::ReadsFilePropContext*>(prop)) {
        set_once(reads.file, std::optional<std::string>(unquote(p->path)), p, "file", reads.file_id);
        reads.file_id = node(p->path);
      } else if (auto* p = dynamic_cast<FlowParser::ReadsCalendarPropContext*>(prop)) {
        set_once(reads.calendar, std::optional(qualified(p->ref)), p, "calendar", calendar_first);
      }
    }
  }

  void build_task(FlowParser::TaskItemContext* ctx) {
    ast::Task& task = module_.tasks.emplace_back();
    task.id = node(ctx->name);
    task.kind = ctx->kind->getText() == "gate" ? ast::TaskKind::kGate : ast::TaskKind::kMilestone;
    task.name = text(ctx->name);
    if (ctx->title != nullptr) task.title = unquote(ctx->title);
    ast::NodeId due_first = 0, after_first = 0;
    for (auto* prop : ctx->props) {
      if (auto* p = dynamic_cast<FlowParser::OwnerPropContext*>(prop)) {
        set_once(task.owner, std::optional<std::string>(text(p->who)), p, "owner", task.owner_id);
        task.owner_id = node(p->who);
      } else if (auto* p = dynamic_cast<FlowParser::DuePropContext*>(prop)) {
        set_once(task.due, term(p->when), p, "due", due_first);
      } else if (auto* p = dynamic_cast<FlowParser::TaskAfterPropContext*>(prop)) {
        if (!task.after.empty()) duplicate(p, "needs", after_first);
        after_first = node(p->getStart());
        for (auto& dep : qualified_list(p->deps)) task.after.push_back(std::move(dep));
      }
    }
  }

  void build_phase(FlowParser::PhaseItemContext* ctx) {
    ast::Phase& phase = module_.phases.emplace_back();
    phase.id = node(ctx->name);
    phase.name = text(ctx->name);
    if (ctx->title != nullptr) phase.title = unquote(ctx->title);
    ast::NodeId select_first = 0, enroll_first = 0, after_first = 0;
    for (auto* prop : ctx->props) {
      if (auto* p = dynamic_cast<FlowParser::SelectPropContext*>(prop)) {
        set_once(phase.select, expr(p->cond), p, "select", select_first);
      } else if (auto* p = dynamic_cast<FlowParser::EnrollPropContext*>(prop)) {
        set_once(phase.enroll, term(p->when), p, "enroll", enroll_first);
      } else if (auto* p = dynamic_cast<FlowParser::PhaseAfterPropContext*>(prop)) {
        if (!phase.after.empty()) duplicate(p, "needs", after_first);
        after_first = node(p->getStart());
        for (auto& dep : qualified_list(p->deps)) phase.after.push_back(std::move(dep));
      }
    }
  }

  void build_notices(FlowParser::NoticesItemContext* ctx) {
    ast::NoticeSet& set = module_.notice_sets.emplace_back();
    set.id = node(ctx->name);
    set.name = text(ctx->name);
    for (auto* n : ctx->notices) {
      ast::Notice& notice = set.notices.emplace_back();
      notice.id = node(n->name);
      notice.stage = n->stage->getText() == "pre" ? ast::Stage::kPre : ast::Stage::kPost;
      notice.name = text(n->name);
      build_window(n->window(), notice.window);
      ast::NodeId first = 0, after_first = 0;
      for (auto* prop : n->props) {
        if (auto* p = dynamic_cast<FlowParser::NoticeAfterPropContext*>(prop)) {
          if (!notice.after.empty()) duplicate(p, "needs", after_first);
          after_first = node(p->getStart());
          for (auto& dep : qualified_list(p->deps)) notice.after.push_back(std::move(dep));
        } else if (auto* p = dynamic_cast<FlowParser::SenderPropContext*>(prop)) {
          set_once(notice.sender, std::optional<std::string>(text(p->who)), p, "sender", notice.sender_id);
          notice.sender_id = node(p->who);
        } else if (auto* p = dynamic_cast<FlowParser::TemplatePropContext*>(prop)) {
          set_once(notice.template_path, std::optional<std::string>(unquote(p->path)), p, "template", first);
        } else if (auto* p = dynamic_cast<FlowParser::NoticeRetryPropContext*>(prop)) {
          notice.retry = integer(p->times, "retry");
        } else if (auto* p = dynamic_cast<FlowParser::NoticeDeadlinePropContext*>(prop)) {
          set_once(notice.deadline, term(p->span), p, "deadline", first);
        }
      }
    }
  }

  void build_window(FlowParser::WindowContext* ctx, ast::Window& window) {
    window.id = node(ctx);
    if (auto* w = dynamic_cast<FlowParser::BetweenWindowContext*>(ctx)) {
      window.kind = ast::WindowKind::kBetween;
      window.from = term(w->from);
      window.to = term(w->to);
    } else if (auto* w = dynamic_cast<FlowParser::WithinWindowContext*>(ctx)) {
      window.kind = ast::WindowKind::kWithin;
      window.span = primary(w->span);
      window.before = w->direction->getText() == "before";
      window.anchor = term(w->anchor);
    } else if (auto* w = dynamic_cast<FlowParser::CycleWindowContext*>(ctx)) {
      window.kind = ast::WindowKind::kBillingCycle;
      window.cycle_index = integer(w->index, "the billing cycle number");
      window.anchor = term(w->anchor);
    } else if (auto* w = dynamic_cast<FlowParser::OnWindowContext*>(ctx)) {
      window.kind = ast::WindowKind::kOn;
      window.from = term(w->day);
    }
  }

  void build_connect(FlowParser::ConnectItemContext* ctx) {
    ast::Connect& connect = module_.connects.emplace_back();
    connect.id = node(ctx->getStart());
    ast::NodeId submit_first = 0, deadline_first = 0;
    for (auto* prop : ctx->props) {
      if (auto* p = dynamic_cast<FlowParser::SubmitPropContext*>(prop)) {
        set_once(connect.submit, term(p->when), p, "submit", submit_first);
      } else if (auto* p = dynamic_cast<FlowParser::ConnectRetryPropContext*>(prop)) {
        connect.retry = integer(p->times, "retry");
      } else if (auto* p = dynamic_cast<FlowParser::ConnectDeadlinePropContext*>(prop)) {
        set_once(connect.deadline, term(p->span), p, "deadline", deadline_first);
      }
    }
  }

  ast::Quantifier quantifier(FlowParser::QuantifierContext* ctx) {
    ast::Quantifier q;
    q.id = node(ctx->var);
    std::string kind = ctx->kind->getText();
    q.kind = kind == "phase" ? ast::QuantifierKind::kPhase
             : kind == "cycle" ? ast::QuantifierKind::kCycle
                               : ast::QuantifierKind::kNotice;
    q.var = text(ctx->var);
    if (ctx->source != nullptr) q.source = term(ctx->source);
    return q;
  }

  ast::Statement statement(FlowParser::StatementContext* ctx) {
    ast::Statement s;
    if (auto* st = dynamic_cast<FlowParser::RequireStatementContext*>(ctx)) {
      s.kind = ast::Statement::Kind::kRequire;
      s.id = node(st->cond);
      s.expr = expr(st->cond);
      if (st->message != nullptr) s.message = unquote(st->message);
    } else if (auto* st = dynamic_cast<FlowParser::LetStatementContext*>(ctx)) {
      s.kind = ast::Statement::Kind::kLet;
      s.id = node(st->name);
      s.name = text(st->name);
      s.expr = expr(st->value);
    } else if (auto* st = dynamic_cast<FlowParser::ForEachStatementContext*>(ctx)) {
      s.kind = ast::Statement::Kind::kForEach;
      s.id = node(st->getStart());
      s.binding = quantifier(st->binding);
      for (auto* inner : st->body) s.body.push_back(statement(inner));
    }
    return s;
  }

  void build_rule(FlowParser::RuleItemContext* ctx) {
    ast::Rule& rule = module_.rules.emplace_back();
    rule.id = node(ctx->name);
    rule.name = text(ctx->name);
    if (ctx->title != nullptr) rule.title = unquote(ctx->title);
    for (auto* q : ctx->quantifiers) rule.quantifiers.push_back(quantifier(q));
    for (auto* s : ctx->body) rule.body.push_back(statement(s));
  }

  void duplicate(antlr4::ParserRuleContext* ctx, const char* what, ast::NodeId first) {
    auto& d = diagnostics_.error(loc(ctx->getStart()), fmt::format("`{}` is given twice", what));
    d.notes.push_back({module_.where(first), "first given here"});
  }

  void bad_date(const antlr4::Token* token) {
    diagnostics_.error(loc(token), fmt::format("{} is not a calendar date (YYYY-MM-DD)", token->getText()));
  }

  // --- expressions -------------------------------------------------------------------

  ast::ExprPtr make(ast::ExprKind kind, antlr4::ParserRuleContext* ctx) {
    auto e = std::make_unique<ast::Expr>();
    e->kind = kind;
    e->id = node(ctx);
    return e;
  }

  ast::ExprPtr binary(antlr4::ParserRuleContext* ctx, const std::string& op, ast::ExprPtr left,
                      ast::ExprPtr right) {
    auto e = make(ast::ExprKind::kBinary, ctx);
    e->text = op;
    e->args.push_back(std::move(left));
    e->args.push_back(std::move(right));
    return e;
  }

  // Guards recursion on deep operator chains (`a - a - a ...` parses as a loop in ANTLR
  // but still makes a deep tree).
  struct Depth {
    explicit Depth(Builder& b) : builder(b) { ++builder.depth_; }
    ~Depth() { --builder.depth_; }
    Builder& builder;
  };
  bool too_deep(antlr4::ParserRuleContext* ctx) {
    if (depth_ <= max_depth_) return false;
    if (!reported_depth_) {
      diagnostics_.error(loc(ctx->getStart()), "expression nested too deeply: split it up");
      reported_depth_ = true;
    }
    return true;
  }

  ast::ExprPtr expr(FlowParser::ExprContext* ctx) {
    Depth guard(*this);
    if (too_deep(ctx)) return make(ast::ExprKind::kBool, ctx);
    if (auto* c = dynamic_cast<FlowParser::CompareExprContext*>(ctx)) {
      return binary(ctx, c->op->getText(), expr(c->left), expr(c->right));
    }
    if (auto* c = dynamic_cast<FlowParser::InExprContext*>(ctx)) {
      return binary(ctx, "in", expr(c->left), expr(c->right));
    }
    if (auto* c = dynamic_cast<FlowParser::NotExprContext*>(ctx)) {
      auto e = make(ast::ExprKind::kNot, ctx);
      e->args.push_back(expr(c->operand));
      return e;
    }
    if (auto* c = dynamic_cast<FlowParser::AndExprContext*>(ctx)) {
      return binary(ctx, "and", expr(c->left), expr(c->right));
    }
    if (auto* c = dynamic_cast<FlowParser::OrExprContext*>(ctx)) {
      return binary(ctx, "or", expr(c->left), expr(c->right));
    }
    auto* c = dynamic_cast<FlowParser::TermExprContext*>(ctx);
    return term(c->value);
  }

  ast::ExprPtr term(FlowParser::TermContext* ctx) {
    Depth guard(*this);
    if (too_deep(ctx)) return make(ast::ExprKind::kBool, ctx);
    if (auto* c = dynamic_cast<FlowParser::MemberTermContext*>(ctx)) {
      auto e = make(ast::ExprKind::kMember, ctx);
      e->text = c->member->getText();
      e->args.push_back(term(c->operand));
      // Point the member's location at the member name, where "unknown member" belongs.
      module_.locations[e->id] = loc(c->member);
      return e;
    }
    if (auto* c = dynamic_cast<FlowParser::IndexTermContext*>(ctx)) {
      auto e = make(ast::ExprKind::kIndex, ctx);
      e->args.push_back(term(c->operand));
      e->args.push_back(expr(c->index));
      return e;
    }
    if (auto* c = dynamic_cast<FlowParser::AddTermContext*>(ctx)) {
      return binary(ctx, c->op->getText(), term(c->left), term(c->right));
    }
    if (auto* c = dynamic_cast<FlowParser::RelativeTermContext*>(ctx)) {
      auto e = make(ast::ExprKind::kRelative, ctx);
      e->text = c->direction->getText();
      e->args.push_back(term(c->span));
      e->args.push_back(term(c->anchor));
      return e;
    }
    auto* c = dynamic_cast<FlowParser::PrimaryTermContext*>(ctx);
    return primary(c->primary());
  }

  ast::ExprPtr primary(FlowParser::PrimaryContext* ctx) {
    Depth guard(*this);
    if (too_deep(ctx)) return make(ast::ExprKind::kBool, ctx);
    if (auto* c = dynamic_cast<FlowParser::DateLiteralContext*>(ctx)) {
      auto e = make(ast::ExprKind::kDate, ctx);
      if (auto date = parse_date(c->value->getText())) e->date = *date;
      else bad_date(c->value);
      return e;
    }
    if (auto* c = dynamic_cast<FlowParser::DurationLiteralContext*>(ctx)) {
      auto e = make(ast::ExprKind::kDuration, ctx);
      e->duration.amount = integer(c->amount, "a duration");
      auto* unit = c->unit;
      if (dynamic_cast<FlowParser::BusinessDaysUnitContext*>(unit)) e->duration.unit = ast::DurationUnit::kBusinessDays;
      else if (dynamic_cast<FlowParser::WeeksUnitContext*>(unit)) e->duration.unit = ast::DurationUnit::kWeeks;
      else if (dynamic_cast<FlowParser::MonthsUnitContext*>(unit)) e->duration.unit = ast::DurationUnit::kMonths;
      else if (dynamic_cast<FlowParser::BillingCyclesUnitContext*>(unit)) e->duration.unit = ast::DurationUnit::kBillingCycles;
      else e->duration.unit = ast::DurationUnit::kDays;
      return e;
    }
    if (auto* c = dynamic_cast<FlowParser::NumberLiteralContext*>(ctx)) {
      auto e = make(ast::ExprKind::kNumber, ctx);
      std::string raw = c->value->getText();
      e->number = std::strtod(raw.c_str(), nullptr);
      return e;
    }
    if (auto* c = dynamic_cast<FlowParser::TextLiteralContext*>(ctx)) {
      auto e = make(ast::ExprKind::kText, ctx);
      e->text = unquote(c->value);
      return e;
    }
    if (auto* c = dynamic_cast<FlowParser::BoolLiteralContext*>(ctx)) {
      auto e = make(ast::ExprKind::kBool, ctx);
      e->boolean = c->value->getText() == "true";
      return e;
    }
    if (auto* c = dynamic_cast<FlowParser::CallPrimaryContext*>(ctx)) {
      auto e = make(ast::ExprKind::kCall, ctx);
      e->text = text(c->function);
      for (auto* arg : c->args) e->args.push_back(expr(arg));
      return e;
    }
    if (auto* c = dynamic_cast<FlowParser::NamePrimaryContext*>(ctx)) {
      auto e = make(ast::ExprKind::kName, ctx);
      e->text = text(c->name);
      return e;
    }
    if (auto* c = dynamic_cast<FlowParser::ListPrimaryContext*>(ctx)) {
      auto e = make(ast::ExprKind::kList, ctx);
      for (auto* item : c->items) e->args.push_back(expr(item));
      return e;
    }
    auto* c = dynamic_cast<FlowParser::ParenPrimaryContext*>(ctx);
    return expr(c->inner);
  }

  const SourceFile& file_;
  FileId id_;
  ast::Module& module_;
  Diagnostics& diagnostics_;
  int max_depth_;
  int depth_ = 0;
  bool reported_depth_ = false;
};

// Bracket nesting is checked on the token stream before parsing, so that 20,000 nested
// parentheses get one clear diagnostic instead of a deep recursion.
bool check_nesting(antlr4::CommonTokenStream& tokens, const SourceFile& file, FileId id,
                   int limit, Diagnostics& diagnostics) {
  int depth = 0;
  for (antlr4::Token* token : tokens.getTokens()) {
    std::string text = token->getType() == antlr4::Token::EOF ? "" : token->getText();
    if (text == "(" || text == "[" || text == "{") {
      if (++depth > limit) {
        diagnostics.error(Location{id, static_cast<std::uint32_t>(token->getLine()),
                                   byte_column(file, token->getLine(), token->getCharPositionInLine()), 1},
                          fmt::format("brackets nested more than {} deep: simplify the expression", limit));
        return false;
      }
    } else if (text == ")" || text == "]" || text == "}") {
      if (depth > 0) --depth;
    }
  }
  return true;
}

}  // namespace

std::unique_ptr<ast::Module> parse_module(const SourceManager& sources, FileId id,
                                          Diagnostics& diagnostics, const ParseLimits& limits) {
  const SourceFile& file = sources.file(id);
  if (file.text.size() > limits.max_bytes) {
    diagnostics.error(Location{id, 1, 1, 1},
                      fmt::format("file is {} bytes, over the {} byte limit for workflow files: "
                                  "is this really a workflow?",
                                  file.text.size(), limits.max_bytes));
    return nullptr;
  }
  if (!check_encoding(file, id, diagnostics)) return nullptr;

  std::string text = file.text;
  // A BOM is one character to ANTLR and to byte_column(), so a single space keeps columns right.
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.replace(0, 3, " ");
  antlr4::ANTLRInputStream input(text);
  FlowTokens lexer(&input);
  antlr4::CommonTokenStream tokens(&lexer);
  tokens.fill();
  if (!check_nesting(tokens, file, id, limits.max_nesting, diagnostics)) return nullptr;

  FlowParser parser(&tokens);
  parser.removeErrorListeners();
  ErrorCollector errors(file, id, diagnostics);
  parser.addErrorListener(&errors);
  DepthGuard depth(limits.max_depth);
  parser.addParseListener(&depth);

  FlowParser::FileContext* tree = nullptr;
  try {
    tree = parser.file();
  } catch (const TooDeep& deep) {
    Location where{id, 1, 1, 1};
    if (deep.at != nullptr) {
      where = Location{id, static_cast<std::uint32_t>(deep.at->getLine()),
                       byte_column(file, deep.at->getLine(), deep.at->getCharPositionInLine()), 1};
    }
    diagnostics.error(where, "expression nested too deeply: split it up");
    return nullptr;
  } catch (const std::exception& e) {
    diagnostics.error(Location{id, 1, 1, 1}, fmt::format("the parser failed: {}", e.what()));
    return nullptr;
  }
  if (errors.count > 0) return nullptr;

  auto module = std::make_unique<ast::Module>();
  module->file = id;
  module->locations.emplace_back();  // node 0 means "no node"
  std::size_t before = diagnostics.error_count();
  Builder builder(file, id, *module, diagnostics, limits.max_depth);
  builder.build(tree);
  if (diagnostics.error_count() > before) return nullptr;
  return module;
}

}  // namespace ccaflow
