// ccaflow: the command line. Thin by design: each command parses its options with CLI11
// and calls into the compiler and runtime libraries.
//
// Exit status (the contract other tools rely on): 0 success; 1 errors in the workflow or
// its inputs; 2 bad command-line usage; 3 a task failed; 4 database busy or unknown schema;
// 5 the workflow differs from the one stored in the database.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <iostream>
#include <map>

#include "compiler/compiler.h"
#include "compiler/eval.h"
#include "runtime/executor.h"
#include "runtime/exit_codes.h"
#include "runtime/lifecycle.h"
#include "runtime/plan.h"
#include "runtime/status.h"

namespace {

using namespace ccaflow;

using exit_code::kInputError;
using exit_code::kOk;
using exit_code::kUsage;

struct RunOptions {
  std::string file, db, customers, as_of, outbox;
};

struct ApproveOptions {
  std::string db, task, by, note;
};

// --as-of, or today when it is not given.
std::optional<Date> as_of_date(const std::string& text) {
  if (text.empty()) {
    return std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now());
  }
  auto date = parse_date(text);
  if (!date) std::cerr << "ccaflow: error: --as-of takes a date as YYYY-MM-DD, not `" << text << "`\n";
  return date;
}

int run_run(const RunOptions& options, bool resume) {
  auto as_of = as_of_date(options.as_of);
  if (!as_of) return kUsage;
  RunRequest request;
  if (!resume) request.workflow = options.file;
  request.db = options.db;
  if (!options.customers.empty()) request.customers = options.customers;
  if (!options.outbox.empty()) request.outbox = options.outbox;
  request.as_of = *as_of;
  return resume ? resume_workflow(request) : run_workflow(request);
}

struct CheckOptions {
  std::vector<std::string> files;
  std::string dump;
};

struct PlanOptions {
  std::string file;
  std::string customers;
  std::string as_of;
  std::vector<std::string> sets;
  std::string format = "text";
};

bool parse_sets(const std::vector<std::string>& sets, std::map<std::string, std::string>& out) {
  for (const std::string& s : sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "ccaflow: error: --set takes NAME=VALUE, not `" << s << "`\n";
      return false;
    }
    out[s.substr(0, eq)] = s.substr(eq + 1);
  }
  return true;
}

// Prints diagnostics and --set problems; returns the exit status they call for.
int report(const CompileResult& result) {
  std::cerr << result.render_diagnostics();
  for (const std::string& e : result.program->usage_errors) std::cerr << "ccaflow: error: " << e << "\n";
  if (!result.program->usage_errors.empty()) return kUsage;
  return result.diagnostics.has_errors() ? kInputError : kOk;
}

int run_check(const CheckOptions& options) {
  int status = kOk;
  for (const std::string& file : options.files) {
    CompileResult result = compile(file);
    int s = report(result);
    if (s != kOk) {
      status = std::max(status, s);
      continue;
    }
    const Model& model = result.program->model;
    if (options.dump == "ast") {
      for (const LoadedModule& m : result.program->modules) std::cout << ast::dump(*m.ast);
    } else if (options.dump == "graph") {
      for (int v : result.graph->order()) {
        const TaskNode& n = result.graph->nodes()[static_cast<std::size_t>(v)];
        std::vector<std::string> deps;
        for (int d : n.deps) deps.push_back(result.graph->nodes()[static_cast<std::size_t>(d)].id);
        std::cout << fmt::format("{} {} {}..{} <- [{}]\n", node_kind_name(n.kind), n.id, format_date(n.earliest),
                                 format_date(n.latest), fmt::join(deps, ", "));
      }
    }
    std::size_t rules = 0;
    for (const RuleOutcome& o : model.outcomes) rules += o.pass;
    std::cout << fmt::format("{}: ok: {} ({}), {} phase{}, {} tasks, {} rule checks passed\n", file, model.title, model.cca,
                             model.phases.size(), model.phases.size() == 1 ? "" : "s", result.graph->nodes().size(), rules);
  }
  return status;
}

int run_plan(const PlanOptions& options) {
  CompileOptions compile_options;
  if (!parse_sets(options.sets, compile_options.overrides)) return kUsage;
  std::optional<Date> as_of;
  if (!options.as_of.empty()) {
    as_of = parse_date(options.as_of);
    if (!as_of) {
      std::cerr << "ccaflow: error: --as-of takes a date as YYYY-MM-DD, not `" << options.as_of << "`\n";
      return kUsage;
    }
  }
  CompileResult result = compile(options.file, compile_options);
  int status = report(result);
  if (status == kUsage || !result.graph) return status == kOk ? kInputError : status;

  std::optional<CustomerPlan> customers;
  std::string customer_file = options.customers;
  if (customer_file.empty() && result.program->model.customers) customer_file = *result.program->model.customers;
  if (!customer_file.empty()) {
    std::vector<std::string> errors;
    AssignOptions assign;
    assign.progress = true;
    customers = assign_customers(*result.program, customer_file, errors, assign);
    for (const std::string& e : errors) std::cerr << e;
    if (!customers) return kInputError;
  }
  PlanView view{*result.program, *result.graph, customers ? &*customers : nullptr, as_of, options.file};
  if (options.format == "json") {
    nlohmann::json doc = plan_json(view);
    doc["ok"] = status == kOk;
    // Input that is not UTF-8 (a path, a --set text) is shown with U+FFFD, not refused.
    std::cout << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (options.format == "dot") {
    std::cout << plan_dot(view);
  } else {
    std::cout << plan_text(view);
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ccaflow: plans and runs a Community Choice Aggregator's customer enrollment.\n"
               "Exit status: 0 ok; 1 errors in the workflow or its inputs; 2 bad usage; 3 a task failed (resumable);\n"
               "4 database in use or of an unknown schema; 5 the workflow differs from the one stored in the database."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");

  CheckOptions check;
  CLI::App* check_cmd = app.add_subcommand("check", "Compile workflow files and print diagnostics; exit 0 when there are no errors");
  check_cmd->add_option("FILE", check.files, "Workflow files (.flow)")->required();
  check_cmd->add_option("--dump", check.dump, "Also print an intermediate stage: ast or graph")
      ->check(CLI::IsMember({"ast", "graph"}));

  PlanOptions plan;
  CLI::App* plan_cmd = app.add_subcommand(
      "plan", "Dry run: the compiled schedule and what it would do to the given accounts; writes nothing");
  plan_cmd->add_option("FILE", plan.file, "The workflow file")->required();
  plan_cmd->add_option("--customers", plan.customers, "Customer CSV (default: the workflow's `customers` file, if any)");
  plan_cmd->add_option("--as-of", plan.as_of, "Mark what is past or due on this date (YYYY-MM-DD)");
  plan_cmd->add_option("--set", plan.sets, "Override a parameter: NAME=VALUE (repeatable)");
  plan_cmd->add_option("--format", plan.format, "Output: text (a calendar), json, or dot (Graphviz)")
      ->check(CLI::IsMember({"text", "json", "dot"}));

  RunOptions run;
  CLI::App* run_cmd = app.add_subcommand(
      "run", "Start, or continue, the run stored in DB: execute every task due on or before the as-of date.\n"
             "Exit status: 0 ok, 1 bad workflow or inputs, 3 a task failed (resumable), 4 database busy or\n"
             "unknown, 5 the workflow differs from the stored one");
  run_cmd->add_option("FILE", run.file, "The workflow file")->required();
  run_cmd->add_option("--db", run.db, "The run database (created on the first run; mode 0600)")->required();
  run_cmd->add_option("--customers", run.customers, "Customer CSV, imported on the first run (default: the workflow's `customers`)");
  run_cmd->add_option("--as-of", run.as_of, "Run what is due on or before this date, YYYY-MM-DD (default: today)");
  run_cmd->add_option("--outbox", run.outbox, "Where notice mail merges and CCASR files go (default: DB.outbox)");

  RunOptions resume;
  CLI::App* resume_cmd = app.add_subcommand(
      "resume", "Continue the run stored in DB after any failure (a crash, a failed task, a full disk), from its own stored workflow");
  resume_cmd->add_option("--db", resume.db, "The run database")->required();
  resume_cmd->add_option("--as-of", resume.as_of, "Run what is due on or before this date, YYYY-MM-DD (default: today)");

  std::string status_db, status_format = "text";
  CLI::App* status_cmd = app.add_subcommand("status", "Where the run stands: tasks by state, counts per phase, what is next, what failed");
  status_cmd->add_option("--db", status_db, "The run database")->required();
  status_cmd->add_option("--format", status_format, "Output: text or json")->check(CLI::IsMember({"text", "json"}));

  ApproveOptions approve;
  CLI::App* approve_cmd = app.add_subcommand("approve", "Sign off a milestone or manual gate (recorded with who and when)");
  approve_cmd->add_option("TASK", approve.task, "The milestone or gate, as named in the workflow")->required();
  approve_cmd->add_option("--db", approve.db, "The run database")->required();
  approve_cmd->add_option("--by", approve.by, "Who signs it off")->required();
  approve_cmd->add_option("--note", approve.note, "A note for the event log");

  std::string ingest_db, optout_file, moveins_file, changes_file;
  std::vector<std::string> response_files;
  CLI::App* ingest_cmd = app.add_subcommand("ingest", "Feed the run what comes back from the world: opt-outs, CCASR responses, "
                                                      "move-ins, changed service options");
  ingest_cmd->require_subcommand(1);
  CLI::App* optouts_cmd = ingest_cmd->add_subcommand(
      "optouts", "Opt-outs, as CSV account,received_on[,channel]: each decided by the account's own dates.\n"
                 "The whole file is checked first; a bad file changes nothing; the same file twice changes nothing");
  optouts_cmd->add_option("FILE", optout_file, "The opt-out CSV")->required();
  optouts_cmd->add_option("--db", ingest_db, "The run database")->required();
  std::string ingest_as_of;
  optouts_cmd->add_option("--as-of", ingest_as_of,
                          "Today, for the file: nothing in it can be received later (default: the later of today and the "
                          "day after the run's last as-of date)");
  CLI::App* responses_cmd = ingest_cmd->add_subcommand(
      "responses", "The utility's X12 814 responses: accepts (with the actual read date) and rejects (with a reason code)");
  responses_cmd->add_option("FILE", response_files, "Response files")->required();
  responses_cmd->add_option("--db", ingest_db, "The run database")->required();
  CLI::App* moveins_cmd = ingest_cmd->add_subcommand(
      "move-ins", "New accounts in the territory: the customer file's columns plus service_start; enrolled from that date");
  moveins_cmd->add_option("FILE", moveins_file, "The move-in CSV")->required();
  moveins_cmd->add_option("--db", ingest_db, "The run database")->required();
  CLI::App* changes_cmd = ingest_cmd->add_subcommand(
      "changes", "Accounts whose service options changed (customer file columns): an Update CCASR for each the utility holds");
  changes_cmd->add_option("FILE", changes_file, "The changed accounts, as a customer CSV")->required();
  changes_cmd->add_option("--db", ingest_db, "The run database")->required();

  std::string explain_db, explain_account_id, explain_format = "text";
  CLI::App* explain_cmd = app.add_subcommand(
      "explain", "One account's whole story: phase, dates, notices, CCASRs, opt-out, and the rule behind each decision");
  explain_cmd->add_option("ACCOUNT", explain_account_id, "The utility's service account id")->required();
  explain_cmd->add_option("--db", explain_db, "The run database")->required();
  explain_cmd->add_option("--format", explain_format, "Output: text or json")->check(CLI::IsMember({"text", "json"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsage;
  }
  try {
    if (check_cmd->parsed()) return run_check(check);
    if (plan_cmd->parsed()) return run_plan(plan);
    if (run_cmd->parsed()) return run_run(run, false);
    if (resume_cmd->parsed()) return run_run(resume, true);
    if (status_cmd->parsed()) return show_status(status_db, status_format);
    if (optouts_cmd->parsed()) {
      std::optional<Date> as_of;
      if (!ingest_as_of.empty()) {
        as_of = parse_date(ingest_as_of);
        if (!as_of) {
          std::cerr << "ccaflow: error: --as-of takes a date as YYYY-MM-DD, not `" << ingest_as_of << "`\n";
          return kUsage;
        }
      }
      return ingest_optouts(ingest_db, optout_file, as_of);
    }
    if (responses_cmd->parsed()) return ingest_responses(ingest_db, response_files);
    if (moveins_cmd->parsed()) return ingest_moveins(ingest_db, moveins_file);
    if (changes_cmd->parsed()) return ingest_changes(ingest_db, changes_file);
    if (explain_cmd->parsed()) return explain_account(explain_db, explain_account_id, explain_format);
    if (approve_cmd->parsed()) {
      if (approve.by.empty()) {
        std::cerr << "ccaflow: error: --by needs a name\n";
        return kUsage;
      }
      return approve_gate(approve.db, approve.task, approve.by, approve.note);
    }
  } catch (const std::exception& e) {
    std::cerr << "ccaflow: error: " << e.what() << "\n";
    return kInputError;
  }
  return kUsage;
}
