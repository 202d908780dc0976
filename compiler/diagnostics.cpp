#include "compiler/diagnostics.h"

#include <algorithm>
#include <fmt/format.h>

namespace ccaflow {

Diagnostic& Diagnostics::add(Severity severity, Location where, std::string message) {
  if (severity == Severity::kError) {
    ++errors_;
    if (errors_ > kMaxErrors) {
      ++dropped_;
      overflow_ = Diagnostic{};
      return overflow_;
    }
  }
  Diagnostic& d = items_.emplace_back();
  d.severity = severity;
  d.where = where;
  d.message = std::move(message);
  d.order = items_.size();
  return d;
}

Diagnostic& Diagnostics::error(Location where, std::string message) {
  return add(Severity::kError, where, std::move(message));
}

Diagnostic& Diagnostics::warning(Location where, std::string message) {
  return add(Severity::kWarning, where, std::move(message));
}

namespace {

// Tabs in the quoted line become spaces so the caret lines up in any terminal.
std::string untab(std::string_view text) {
  std::string out(text);
  std::replace(out.begin(), out.end(), '\t', ' ');
  return out;
}

}  // namespace

std::string render_location_line(const SourceManager& sources, Location where,
                                 const char* severity, const std::string& message) {
  if (!where.valid()) return fmt::format("ccaflow: {}: {}\n", severity, message);
  const SourceFile& file = sources.file(where.file);
  if (where.line == 0) return fmt::format("{}: {}: {}\n", file.path, severity, message);
  std::string out = fmt::format("{}:{}:{}: {}: {}\n", file.path, where.line, where.column,
                                severity, message);
  std::string_view line = file.line(where.line);
  if (where.line == 0 || where.line > file.line_count()) return out;
  out += untab(line);
  out += '\n';
  std::size_t caret = where.column > 0 ? where.column - 1 : 0;
  if (caret > line.size()) caret = line.size();
  std::size_t length = std::max<std::size_t>(1, where.length);
  if (caret + length > line.size()) length = std::max<std::size_t>(1, line.size() - caret);
  // Columns count bytes; the caret goes under the character, so count characters (a BOM is none).
  std::size_t shown = 0;
  for (std::size_t i = 0; i < caret; ++i) {
    auto byte = static_cast<unsigned char>(line[i]);
    if ((byte & 0xC0) == 0x80) continue;
    if (line.substr(i, 3) == "\xEF\xBB\xBF") {
      i += 2;
      continue;
    }
    ++shown;
  }
  out += std::string(shown, ' ');
  out += '^';
  if (length > 1) out += std::string(length - 1, '~');
  out += '\n';
  return out;
}

std::string Diagnostics::render(const SourceManager& sources) const {
  std::vector<const Diagnostic*> sorted;
  sorted.reserve(items_.size());
  for (const Diagnostic& d : items_) sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic* a, const Diagnostic* b) {
    auto key = [](const Diagnostic* d) {
      return std::tuple(d->where.file, d->where.line, d->where.column, d->order);
    };
    return key(a) < key(b);
  });
  std::string out;
  for (const Diagnostic* d : sorted) {
    const char* severity = d->severity == Severity::kError ? "error" : "warning";
    out += render_location_line(sources, d->where, severity, d->message);
    for (const Note& note : d->notes) {
      out += render_location_line(sources, note.where, "note", note.message);
    }
  }
  if (dropped_ > 0) {
    out += fmt::format("ccaflow: error: {} more errors not shown (only the first {} are listed)\n",
                       dropped_, kMaxErrors);
  }
  return out;
}

}  // namespace ccaflow
