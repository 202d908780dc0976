// One writer per run database: an advisory lock (flock) on DB.lock beside the database,
// found through the database's real path (so a symbolic link leads to the same lock), and
// on the database file itself (so a hard link does too). The kernel drops both when the
// holder dies, however it dies, so a crash never leaves a stale lock; DB.lock names the
// holder so a refused process can say who has it.
#pragma once

#include <optional>
#include <string>

namespace ccaflow {

class RunLock {
 public:
  // Takes the lock without waiting. On refusal returns nullopt with `busy` set and the
  // holder's note ("pid 4242, ccaflow run, since ...") in `holder`; on any other failure
  // `busy` is false and `holder` says what went wrong.
  static std::optional<RunLock> acquire(const std::string& db_path, const std::string& command, std::string& holder,
                                        bool& busy);
  // Also locks the database file, once it exists (after a first run creates it).
  bool attach(const std::string& db_path);
  RunLock(RunLock&& other) noexcept : fd_(other.fd_), db_fd_(other.db_fd_) { other.fd_ = other.db_fd_ = -1; }
  RunLock(const RunLock&) = delete;
  ~RunLock();

 private:
  explicit RunLock(int fd) : fd_(fd) {}
  int fd_;
  int db_fd_ = -1;
};

}  // namespace ccaflow
