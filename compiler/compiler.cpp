#include "compiler/compiler.h"

#include <cstdlib>

#include "compiler/eval.h"
#include "compiler/passes.h"

namespace ccaflow {

std::string default_stdlib_dir() {
  if (const char* env = std::getenv("CCAFLOW_STDLIB"); env != nullptr && *env != '\0') return env;
  return CCAFLOW_STDLIB_DIR;
}

CompileResult compile(const std::string& path, CompileOptions options) {
  CompileResult result;
  result.program = std::make_unique<Program>();
  Program& program = *result.program;
  if (options.stdlib_dir.empty()) options.stdlib_dir = default_stdlib_dir();
  program.options = std::move(options);
  Diagnostics& diagnostics = result.diagnostics;

  resolve_imports(program, path, diagnostics);
  if (diagnostics.has_errors() || program.modules.empty()) return result;
  resolve_names(program, diagnostics);
  // Types are checked even after unknown names (which type as unknown and stay quiet), so a
  // damaged file reports its misspellings and its type errors in one go.
  check_types(program, diagnostics);
  if (diagnostics.has_errors()) return result;
  evaluate_dates(program, diagnostics);
  if (diagnostics.has_errors() || !program.usage_errors.empty()) return result;
  check_rules(program, diagnostics);
  result.graph = TaskGraph::lower(program.model, *program.evaluator, diagnostics);
  return result;
}

}  // namespace ccaflow
