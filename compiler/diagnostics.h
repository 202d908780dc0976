// Diagnostics are values: a severity, a message, a primary location and related notes
// ("previously defined here"). Every pass reports into one Diagnostics sink; the driver
// stops between passes once errors were reported. Output is sorted by location so it is
// stable, and rendered like gcc: FILE:LINE:COL: error: MESSAGE, the source line, a caret.
#pragma once

#include <string>
#include <vector>

#include "compiler/source.h"

namespace ccaflow {

enum class Severity { kError, kWarning, kNote };

struct Note {
  Location where;
  std::string message;
};

struct Diagnostic {
  Severity severity = Severity::kError;
  Location where;
  std::string message;
  std::vector<Note> notes;
  std::size_t order = 0;  // report order, to keep ties stable
};

class Diagnostics {
 public:
  // Stops collecting errors beyond this many (a 10 MB file of noise must not
  // produce ten million lines); one final line says how many were left out.
  static constexpr std::size_t kMaxErrors = 50;

  Diagnostic& error(Location where, std::string message);
  Diagnostic& warning(Location where, std::string message);

  std::size_t error_count() const { return errors_; }
  bool has_errors() const { return errors_ > 0; }
  const std::vector<Diagnostic>& all() const { return items_; }

  // Renders every diagnostic, sorted by file order, line and column.
  std::string render(const SourceManager& sources) const;

 private:
  Diagnostic& add(Severity severity, Location where, std::string message);

  std::vector<Diagnostic> items_;
  std::size_t errors_ = 0;
  std::size_t dropped_ = 0;
  Diagnostic overflow_;  // receives notes of dropped diagnostics
};

std::string render_location_line(const SourceManager& sources, Location where,
                                 const char* severity, const std::string& message);

}  // namespace ccaflow
