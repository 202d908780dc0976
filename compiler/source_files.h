// Where the compiler reads its inputs: the workflow, the modules it imports and the read
// schedule. Behind an interface (like ninja's disk interface) so a stored run recompiles
// from the exact files it was started with, and tests can compile from memory.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ccaflow {

class SourceFiles {
 public:
  virtual ~SourceFiles() = default;
  virtual bool is_file(const std::string& path) const = 0;
  // The file's bytes, or nullopt with a reason in `error`; a file over `max_bytes` is
  // refused without being read whole (a device such as /dev/zero never ends).
  virtual std::optional<std::string> read(const std::string& path, std::string& error,
                                          std::size_t max_bytes = kDefaultMaxBytes) const = 0;
  static constexpr std::size_t kDefaultMaxBytes = 1 << 20;
  // Stems of the .flow files in a folder, for "did you mean" suggestions.
  virtual std::vector<std::string> flow_names(const std::string& directory) const = 0;
  // A key that is the same for two spellings of one file.
  virtual std::string identity(const std::string& path) const = 0;
};

class DiskFiles : public SourceFiles {
 public:
  bool is_file(const std::string& path) const override;
  std::optional<std::string> read(const std::string& path, std::string& error, std::size_t max_bytes) const override;
  std::vector<std::string> flow_names(const std::string& directory) const override;
  std::string identity(const std::string& path) const override;
};

// Files held in memory, by the exact path they were read under.
class StoredFiles : public SourceFiles {
 public:
  explicit StoredFiles(std::map<std::string, std::string> files) : files_(std::move(files)) {}
  bool is_file(const std::string& path) const override { return files_.contains(path); }
  std::optional<std::string> read(const std::string& path, std::string& error, std::size_t max_bytes) const override;
  std::vector<std::string> flow_names(const std::string& directory) const override;
  std::string identity(const std::string& path) const override { return path; }

 private:
  std::map<std::string, std::string> files_;
};

}  // namespace ccaflow
