// Source text to AST. This is the only interface to the ANTLR-generated parser: no ANTLR
// type leaks out. Every syntax error in the file is reported in one pass; hostile input
// (NUL bytes, invalid UTF-8, runaway nesting, huge files) gets a diagnostic, never a crash.
#pragma once

#include <memory>

#include "compiler/ast.h"
#include "compiler/diagnostics.h"

namespace ccaflow {

struct ParseLimits {
  std::size_t max_bytes = 1 << 20;  // workflow files are a few kilobytes; 1 MiB is generous
  int max_nesting = 64;             // brackets and parentheses
  int max_depth = 400;              // parse tree depth (operator chains)
};

// Returns nullptr when the file has errors (all reported into `diagnostics`).
std::unique_ptr<ast::Module> parse_module(const SourceManager& sources, FileId file,
                                          Diagnostics& diagnostics, const ParseLimits& limits = {});

}  // namespace ccaflow
