// The compiler's passes, run in this order by compile() (compiler.cpp). Each reports into
// the one Diagnostics sink; the driver stops after a pass that reported errors.
#pragma once

#include "compiler/diagnostics.h"
#include "compiler/model.h"

namespace ccaflow {

// Loads the root file and, transitively, every module it imports (from the importing
// file's folder, then the stdlib). Reports missing modules and import cycles.
void resolve_imports(Program& program, const std::string& root_path, Diagnostics& diagnostics);

// Builds each module's symbol table (duplicates: "previously defined here") and binds every
// name in every expression and dependency list to what it refers to ("did you mean").
void resolve_names(Program& program, Diagnostics& diagnostics);

// Infers the type of every expression and reports mismatches (date vs duration vs text vs number).
void check_types(Program& program, Diagnostics& diagnostics);

// Orders gates and phases by their dependencies (Boost.Graph; a cycle is named in full),
// evaluates parameters (with --set overrides), the calendar, the read schedule, due and
// enrollment dates, each phase's per-cycle switch and submission dates and notice windows,
// and reports dates that cannot work (inverted or empty windows, closed business days,
// phases enrolled before their gates).
void evaluate_dates(Program& program, Diagnostics& diagnostics);

// Proves the required rules and the assertions on the computed schedule.
void check_rules(Program& program, Diagnostics& diagnostics);

}  // namespace ccaflow
