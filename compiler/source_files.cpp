#include "compiler/source_files.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "compiler/text.h"

namespace ccaflow {
namespace fs = std::filesystem;

bool DiskFiles::is_file(const std::string& path) const {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

std::optional<std::string> DiskFiles::read(const std::string& path, std::string& error, std::size_t max_bytes) const {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    error = "is a directory, not a file";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::string text = read_capped(in, max_bytes);
  if (text.size() > max_bytes) {
    auto size = fs::file_size(path, ec);
    error = ec || size == 0 ? fmt::format("it is over the {} byte limit", max_bytes)
                            : fmt::format("it is {} bytes, over the {} byte limit", size, max_bytes);
    return std::nullopt;
  }
  return text;
}

std::vector<std::string> DiskFiles::flow_names(const std::string& directory) const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory.empty() ? "." : directory, ec)) {
    if (entry.path().extension() == ".flow") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string DiskFiles::identity(const std::string& path) const {
  std::error_code ec;
  auto canonical = fs::weakly_canonical(path, ec);
  return ec ? path : canonical.string();
}

std::optional<std::string> StoredFiles::read(const std::string& path, std::string& error, std::size_t) const {
  auto it = files_.find(path);
  if (it == files_.end()) {
    error = "not among the run's stored files";
    return std::nullopt;
  }
  return it->second;
}

std::vector<std::string> StoredFiles::flow_names(const std::string& directory) const {
  std::vector<std::string> names;
  for (const auto& [path, text] : files_) {
    fs::path p(path);
    if (p.parent_path() == fs::path(directory) && p.extension() == ".flow") names.push_back(p.stem().string());
  }
  return names;
}

}  // namespace ccaflow
