#include "compiler/graph.h"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/topological_sort.hpp>
#include <fmt/format.h>
#include <queue>

#include "compiler/eval.h"

namespace ccaflow {

const char* node_kind_name(NodeKind kind) {
  switch (kind) {
    case NodeKind::kMilestone: return "milestone";
    case NodeKind::kGate: return "gate";
    case NodeKind::kNotice: return "notice";
    case NodeKind::kCcasr: return "ccasr";
    case NodeKind::kSwitch: return "switch";
  }
  return "?";
}

int TaskGraph::add(TaskNode node) {
  nodes_.push_back(std::move(node));
  return static_cast<int>(nodes_.size() - 1);
}

int TaskGraph::find(const std::string& id) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].id == id) return static_cast<int>(i);
  }
  return -1;
}

TaskGraph TaskGraph::lower(const Model& model, const Evaluator& evaluator, Diagnostics& diagnostics) {
  TaskGraph g;
  // Milestones and gates: earliest is when what they wait for is due, latest their due date.
  std::vector<int> gate_node(model.gates.size());
  for (std::size_t i = 0; i < model.gates.size(); ++i) {
    const GateInfo& gate = model.gates[i];
    TaskNode node;
    node.id = gate.id;
    node.kind = gate.decl->kind == ast::TaskKind::kGate ? NodeKind::kGate : NodeKind::kMilestone;
    node.gate = static_cast<int>(i);
    node.latest = gate.due;
    node.earliest = gate.due;
    gate_node[i] = g.add(std::move(node));
  }
  for (std::size_t i = 0; i < model.gates.size(); ++i) {
    TaskNode& node = g.nodes_[static_cast<std::size_t>(gate_node[i])];
    bool first = true;
    for (int dep : model.gates[i].deps) {
      node.deps.push_back(gate_node[static_cast<std::size_t>(dep)]);
      Date due = model.gates[static_cast<std::size_t>(dep)].due;
      node.earliest = first ? due : std::max(node.earliest, due);
      first = false;
    }
  }

  auto deadline = [&](const ast::ExprPtr& span, Date from, Date limit, int phase, int cycle) {
    if (!span) return limit;
    EvalScope scope;
    scope.phase = phase;
    scope.cycle = cycle;
    try {
      Value v = evaluator.eval(*span, scope);
      return std::min(limit, evaluator.shift(from, v.duration, 1, scope, *span));
    } catch (const EvalError&) {
      return limit;
    }
  };

  for (std::size_t p = 0; p < model.phases.size(); ++p) {
    const PhaseInfo& phase = model.phases[p];
    auto phase_index = static_cast<int>(p);
    std::vector<int> pre_nodes, post_nodes;
    for (std::size_t n = 0; n < model.notices.size(); ++n) {
      const NoticeInfo& notice = model.notices[n];
      TaskNode node;
      node.id = fmt::format("{}.{}", phase.id, notice.id);
      node.kind = NodeKind::kNotice;
      node.phase = phase_index;
      node.notice = static_cast<int>(n);
      node.retry = notice.decl->retry;
      WindowDates all = evaluator.notice_window(phase_index, 0, static_cast<int>(n));
      node.earliest = all.start;
      node.send = all.send;
      node.latest = all.end;
      if (notice.decl->deadline) {
        Date latest = all.start;
        for (const CycleInfo& c : phase.cycles) {
          const WindowDates& w = c.windows[n];
          latest = std::max(latest, deadline(notice.decl->deadline, w.send, w.end, phase_index, c.cycle));
        }
        node.latest = latest;
      }
      for (int gate : notice.deps) node.deps.push_back(gate_node[static_cast<std::size_t>(gate)]);
      int id = g.add(std::move(node));
      (notice.decl->stage == ast::Stage::kPre ? pre_nodes : post_nodes).push_back(id);
    }
    std::vector<int> switches;
    for (const CycleInfo& c : phase.cycles) {
      TaskNode ccasr;
      ccasr.id = fmt::format("{}.connect.c{:02}", phase.id, c.cycle);
      ccasr.kind = NodeKind::kCcasr;
      ccasr.phase = phase_index;
      ccasr.cycle = c.cycle;
      ccasr.earliest = ccasr.send = c.submit;
      ccasr.latest = model.connect ? deadline(model.connect->deadline, c.submit, add_days(c.read, -1), phase_index, c.cycle)
                                   : c.submit;
      if (!model.connect || !model.connect->deadline) ccasr.latest = c.submit;
      ccasr.retry = model.connect ? model.connect->retry : 0;
      for (int gate : phase.deps) ccasr.deps.push_back(gate_node[static_cast<std::size_t>(gate)]);
      for (int pre : pre_nodes) ccasr.deps.push_back(pre);
      int ccasr_id = g.add(std::move(ccasr));
      TaskNode sw;
      sw.id = fmt::format("{}.switch.c{:02}", phase.id, c.cycle);
      sw.kind = NodeKind::kSwitch;
      sw.phase = phase_index;
      sw.cycle = c.cycle;
      sw.earliest = sw.latest = sw.send = c.read;
      sw.deps.push_back(ccasr_id);
      switches.push_back(g.add(std::move(sw)));
    }
    for (int post : post_nodes) {
      TaskNode& node = g.nodes_[static_cast<std::size_t>(post)];
      for (int sw : switches) {
        node.deps.push_back(sw);
        node.account_deps.push_back(sw);
      }
    }
  }
  g.analyse(diagnostics);
  return g;
}

void TaskGraph::analyse(Diagnostics& diagnostics) {
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
  Graph graph(nodes_.size());
  for (std::size_t v = 0; v < nodes_.size(); ++v) {
    for (int dep : nodes_[v].deps) boost::add_edge(static_cast<std::size_t>(dep), v, graph);
  }
  std::vector<std::size_t> reversed;
  try {
    boost::topological_sort(graph, std::back_inserter(reversed));
  } catch (const boost::not_a_dag&) {
    diagnostics.error(Location{}, "the task graph has a dependency cycle");
    return;
  }
  // Boost's order is valid but follows its depth-first search. For people and tools the
  // order is made deterministic and readable: among the tasks whose dependencies are
  // placed, the earliest first (then the order they were declared in).
  std::vector<int> waiting(nodes_.size(), 0);
  std::vector<std::vector<int>> dependents(nodes_.size());
  for (std::size_t v = 0; v < nodes_.size(); ++v) {
    for (int dep : nodes_[v].deps) {
      ++waiting[v];
      dependents[static_cast<std::size_t>(dep)].push_back(static_cast<int>(v));
    }
  }
  auto later = [&](int a, int b) {
    const TaskNode& x = nodes_[static_cast<std::size_t>(a)];
    const TaskNode& y = nodes_[static_cast<std::size_t>(b)];
    return std::tie(x.earliest, a) > std::tie(y.earliest, b);
  };
  std::priority_queue<int, std::vector<int>, decltype(later)> ready(later);
  for (std::size_t v = 0; v < nodes_.size(); ++v) {
    if (waiting[v] == 0) ready.push(static_cast<int>(v));
  }
  while (!ready.empty()) {
    int v = ready.top();
    ready.pop();
    order_.push_back(v);
    for (int next : dependents[static_cast<std::size_t>(v)]) {
      if (--waiting[static_cast<std::size_t>(next)] == 0) ready.push(next);
    }
  }
  // Critical path: from the task that finishes last, follow at each step the dependency
  // that finishes last, i.e. the one that holds the task back.
  std::vector<int> binding(nodes_.size(), -1);
  for (int v : order_) {
    for (int dep : nodes_[static_cast<std::size_t>(v)].deps) {
      int& b = binding[static_cast<std::size_t>(v)];
      if (b < 0 || nodes_[static_cast<std::size_t>(dep)].latest > nodes_[static_cast<std::size_t>(b)].latest) b = dep;
    }
  }
  int last = -1;
  for (int v : order_) {
    if (last < 0 || nodes_[static_cast<std::size_t>(v)].latest >= nodes_[static_cast<std::size_t>(last)].latest) last = v;
  }
  for (int v = last; v >= 0; v = binding[static_cast<std::size_t>(v)]) critical_.push_back(v);
  std::reverse(critical_.begin(), critical_.end());
}

}  // namespace ccaflow
