// One writer per run database: an advisory lock (flock) on DB.lock beside the database.
// The kernel drops it when its holder dies, however it dies, so a crash never leaves a
// stale lock; the file names the holder so a refused process can say who has it.
#pragma once

#include <optional>
#include <string>

namespace ccaflow {

class RunLock {
 public:
  // Takes the lock without waiting. On refusal returns nullopt and fills `holder` with what
  // the holder wrote ("pid 4242, ccaflow run, since ...") when it can be read.
  static std::optional<RunLock> acquire(const std::string& db_path, const std::string& command, std::string& holder);
  RunLock(RunLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  RunLock(const RunLock&) = delete;
  ~RunLock();

 private:
  explicit RunLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace ccaflow
