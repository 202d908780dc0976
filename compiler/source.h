// Source files and positions. Every diagnostic points into a SourceFile held by the
// SourceManager, so messages can quote the line and put a caret under the column.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ccaflow {

using FileId = std::uint32_t;
inline constexpr FileId kNoFile = ~FileId{0};

// A position in a source file. Lines and columns count from 1; columns count bytes,
// like gcc and clang do. `length` is how many characters the caret line underlines.
struct Location {
  FileId file = kNoFile;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::uint32_t length = 1;

  bool valid() const { return file != kNoFile; }
  friend bool operator==(const Location&, const Location&) = default;
};

struct SourceFile {
  std::string path;  // as shown in diagnostics
  std::string text;
  std::vector<std::size_t> line_starts;  // byte offset of each line

  SourceFile(std::string path_, std::string text_);
  std::string_view line(std::uint32_t number) const;  // without the line break
  std::uint32_t line_count() const { return static_cast<std::uint32_t>(line_starts.size()); }
};

class SourceManager {
 public:
  FileId add(std::string path, std::string text);
  const SourceFile& file(FileId id) const { return *files_.at(id); }
  std::size_t size() const { return files_.size(); }

 private:
  std::vector<std::unique_ptr<SourceFile>> files_;
};

}  // namespace ccaflow
