// The driver: runs the passes in order over one workflow file and lowers the result to a
// task graph. Stops after a pass that reported errors, except that rule failures still
// leave a complete schedule (so `plan` can show which rules pass and which fail).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "compiler/diagnostics.h"
#include "compiler/graph.h"
#include "compiler/model.h"

namespace ccaflow {

struct CompileResult {
  std::unique_ptr<Program> program;
  Diagnostics diagnostics;
  std::optional<TaskGraph> graph;  // present when the schedule could be computed
  bool ok() const { return !diagnostics.has_errors() && program->usage_errors.empty(); }
  std::string render_diagnostics() const { return diagnostics.render(program->sources); }
};

std::string default_stdlib_dir();
CompileResult compile(const std::string& path, CompileOptions options = {});

}  // namespace ccaflow
