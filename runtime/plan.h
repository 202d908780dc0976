// The dry run: assigns the customer file's accounts to phases (after exclusions), counts
// accounts per task, and renders the compiled schedule as a calendar a manager reads top
// to bottom, as JSON for tools, or as a Graphviz graph. It writes nothing anywhere.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "compiler/graph.h"
#include "compiler/model.h"
#include "runtime/customers.h"

namespace ccaflow {

struct ExclusionCount {
  std::string reason;
  std::size_t count = 0;
  std::vector<std::string> examples;  // the first few account ids
};

struct CustomerPlan {
  std::string path;
  std::size_t accounts = 0, eligible = 0;
  std::vector<ExclusionCount> excluded;
  std::vector<std::size_t> phase_accounts;               // per phase
  std::vector<std::vector<std::size_t>> cycle_accounts;  // [phase][cycle - 1]
  std::size_t unassigned = 0, overlapping = 0;
  std::vector<std::string> unassigned_examples, overlapping_examples;
  std::size_t unassigned_line = 0, overlapping_line = 0;  // where the first of each is
};

struct Assignment;

struct AssignOptions {
  std::size_t examples = 5;  // account ids listed per problem and exclusion reason
  bool progress = false;     // show a progress line on stderr
  // Called for every valid account with where it goes (a phase, or an exclusion).
  std::function<void(const Account&, const Assignment&)> each;
};

// Reads the customer file and assigns every account. File errors go to `errors` as
// rendered diagnostics; an account in no phase or in two is an error too (with counts
// and the first few ids). Returns nullopt when there were errors.
std::optional<CustomerPlan> assign_customers(const Program& program, const std::string& path,
                                             std::vector<std::string>& errors, const AssignOptions& options = {});

// How many accounts a task touches (nullopt without a customer file).
std::optional<std::size_t> task_accounts(const TaskNode& node, const CustomerPlan* customers);

struct PlanView {
  const Program& program;
  const TaskGraph& graph;
  const CustomerPlan* customers = nullptr;
  std::optional<Date> as_of;
  std::string file;
};

std::string plan_text(const PlanView& view);
nlohmann::json plan_json(const PlanView& view);
std::string plan_dot(const PlanView& view);

std::string with_commas(std::size_t n);

}  // namespace ccaflow
