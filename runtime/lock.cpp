#include "runtime/lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fmt/chrono.h>
#include <fmt/format.h>

namespace ccaflow {

std::optional<RunLock> RunLock::acquire(const std::string& db_path, const std::string& command, std::string& holder,
                                        bool& busy) {
  busy = false;
  std::error_code ec;
  std::filesystem::path real = std::filesystem::weakly_canonical(db_path, ec);
  std::string path = (ec ? std::filesystem::path(db_path) : real).string() + ".lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    holder = fmt::format("cannot open its lock file {}: {}", path, std::strerror(errno));
    return std::nullopt;
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buffer[512] = {};
    ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
    holder = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "another process";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0' || holder.back() == ' ')) holder.pop_back();
    ::close(fd);
    busy = true;
    return std::nullopt;
  }
  RunLock lock(fd);
  if (std::filesystem::exists(db_path, ec) && !lock.attach(db_path)) {
    holder = "another process, through another name for the same database file";
    busy = true;
    return std::nullopt;
  }
  std::tm now = fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()));
  std::string note = fmt::format("pid {}, {}, since {:%Y-%m-%d %H:%M:%S} UTC\n", ::getpid(), command, now);
  // Padded to one width and written over whatever note was there: the file is truncated
  // only when it holds a longer one (a truncation cost every process a quarter of a
  // millisecond).
  constexpr std::size_t kWidth = 128;
  if (note.size() < kWidth) note.insert(note.size() - 1, kWidth - note.size(), ' ');
  struct stat held {};
  bool longer = ::fstat(fd, &held) != 0 || static_cast<std::size_t>(held.st_size) > note.size();
  if (!longer || ::ftruncate(fd, 0) == 0) {
    ssize_t written = ::pwrite(fd, note.data(), note.size(), 0);
    (void)written;  // the note is a courtesy for whoever is refused; the lock is what counts
  }
  return lock;
}

bool RunLock::attach(const std::string& db_path) {
  if (db_fd_ >= 0) return true;
  int fd = ::open(db_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return false;
  }
  db_fd_ = fd;
  return true;
}

RunLock::~RunLock() {
  // The database's lock goes last: closing a descriptor of the database would drop
  // SQLite's own locks on it, so the Store must be closed before this.
  if (db_fd_ >= 0) ::close(db_fd_);
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace ccaflow
