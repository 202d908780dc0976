// The task graph: one node per milestone or gate, per phase x notice, and per phase x read
// cycle for Connect CCASR batches and switches. Per-account work is never a node. Built
// by lowering the checked model; ordered, checked for cycles and given a critical path
// with Boost.Graph.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "compiler/diagnostics.h"
#include "compiler/model.h"

namespace ccaflow {

enum class NodeKind { kMilestone, kGate, kNotice, kCcasr, kSwitch };
const char* node_kind_name(NodeKind kind);

struct TaskNode {
  std::string id;
  NodeKind kind = NodeKind::kGate;
  Date earliest{}, latest{};
  std::vector<int> deps;  // node indices this one waits for
  // The subset of `deps` that each account waits for on its own: a post-enrollment notice
  // goes to an account once that account's switch is done, not once every cycle's is.
  std::vector<int> account_deps;
  bool waits_per_account(int dep) const {
    return std::find(account_deps.begin(), account_deps.end(), dep) != account_deps.end();
  }
  int gate = -1;          // model.gates index for milestones and gates
  int phase = -1;         // model.phases index for phase tasks
  int cycle = 0;          // read cycle for CCASR and switch nodes
  int notice = -1;        // model.notices index for notice nodes
  Date send{};            // notices: planned send date; CCASRs: submission date
  int retry = 0;
};

class TaskGraph {
 public:
  // Lowers the model; reports a cycle (which the dates pass should already have ruled out).
  static TaskGraph lower(const Model& model, const class Evaluator& evaluator, Diagnostics& diagnostics);

  const std::vector<TaskNode>& nodes() const { return nodes_; }
  const std::vector<int>& order() const { return order_; }             // dependencies first
  const std::vector<int>& critical_path() const { return critical_; }  // first to last
  int find(const std::string& id) const;

 private:
  int add(TaskNode node);
  void analyse(Diagnostics& diagnostics);

  std::vector<TaskNode> nodes_;
  std::vector<int> order_;
  std::vector<int> critical_;
};

}  // namespace ccaflow
