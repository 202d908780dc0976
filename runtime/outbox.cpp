#include "runtime/outbox.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <set>
#include <stdexcept>

#include "runtime/customers.h"

namespace ccaflow {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  int error = errno;
  std::string hint = error == ENOSPC || error == EDQUOT ? ": the disk is full: free space in the outbox's folder, then resume" : "";
  throw std::runtime_error(fmt::format("{} {}: {}{}", what, path, std::strerror(error), hint));
}

void make_dirs(const fs::path& dir) {
  if (dir.empty() || fs::is_directory(dir)) return;
  make_dirs(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) == 0) return;
  if (errno != EEXIST) fail("cannot create the outbox folder", dir.string());
  throw std::runtime_error(fmt::format("cannot create the outbox folder {}: a file of that name is in the way", dir.string()));
}

void write_all(int fd, std::string_view bytes, const std::string& path) {
  std::size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", path);
    }
    written += static_cast<std::size_t>(n);
  }
}

constexpr std::size_t kWriteChunk = 1 << 20;

// Whether a CSV field holds a comma, quote or line break: one pass over the characters
// (find_first_of searches the four-character set once for each character of the field).
bool needs_quotes(std::string_view value) {
  return std::any_of(value.begin(), value.end(), [](char c) { return c == ',' || c == '"' || c == '\r' || c == '\n'; });
}

// Appends one CSV field, quoted when it needs to be (RFC 4180).
void append_field(std::string& out, std::string_view value) {
  if (!needs_quotes(value)) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string yymmdd(Date d) { return format_date(d).substr(2, 2) + format_date(d).substr(5, 2) + format_date(d).substr(8, 2); }
std::string ccyymmdd(Date d) {
  std::string s = format_date(d);
  return s.substr(0, 4) + s.substr(5, 2) + s.substr(8, 2);
}

// ISA fields are fixed width: padded with spaces.
std::string pad(const std::string& s, std::size_t width) {
  std::string out = s.substr(0, width);
  out.resize(width, ' ');
  return out;
}

}  // namespace

OutboxWriter Outbox::create(const std::string& relative) {
  fs::path target = fs::path(root_) / relative;
  make_dirs(target.parent_path());
  fs::path temporary = target;
  temporary += ".tmp";
  return OutboxWriter(target.string(), temporary.string());
}

Written Outbox::write(const std::string& relative, std::string_view bytes) {
  OutboxWriter file = create(relative);
  file.append(bytes);
  return file.commit();
}

std::optional<OutboxWriter> Outbox::reopen(const std::string& relative, const WrittenSoFar& kept) {
  fs::path target = fs::path(root_) / relative;
  fs::path temporary = target;
  temporary += ".tmp";
  // The digest goes on from the state after the kept bytes' whole blocks, which leaves
  // only the bytes after them to hash; a mark without that state hashes them all.
  std::int64_t blocks = 0;
  std::optional<Sha256> hash;
  if (!kept.xxh3.empty()) {
    blocks = kept.bytes - kept.bytes % Sha256::kBlock;
    hash = Sha256::resumed(kept.sha256_state, blocks);
    if (!hash) return std::nullopt;
  } else {
    hash.emplace();
  }
  // Closed on every way out (an exception too) but the one that hands it to the writer.
  struct Descriptor {
    int fd;
    ~Descriptor() {
      if (fd >= 0) ::close(fd);
    }
  } file{::open(temporary.c_str(), O_RDWR | O_CLOEXEC)};
  if (file.fd < 0) return std::nullopt;
  struct stat info {};
  if (::fstat(file.fd, &info) != 0 || info.st_size < kept.bytes || kept.bytes < 0) return std::nullopt;
  // The bytes kept are read once: their XXH3 checks them, and goes on as the file's own.
  Xxh3 check;
  std::string buffer(kWriteChunk, '\0');
  for (std::int64_t at = 0; at < kept.bytes;) {
    auto want = static_cast<std::size_t>(std::min<std::int64_t>(kept.bytes - at, static_cast<std::int64_t>(buffer.size())));
    ssize_t n = ::read(file.fd, buffer.data(), want);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    std::string_view piece(buffer.data(), static_cast<std::size_t>(n));
    check.update(piece);
    if (at + n > blocks) hash->update(piece.substr(static_cast<std::size_t>(std::max<std::int64_t>(blocks - at, 0))));
    at += n;
  }
  bool same = (kept.xxh3.empty() || check.hex_so_far() == kept.xxh3) && hash->hex_so_far() == kept.sha256;
  if (!same || ::ftruncate(file.fd, kept.bytes) != 0 || ::lseek(file.fd, kept.bytes, SEEK_SET) != kept.bytes) return std::nullopt;
  std::string target_name = target.string(), temporary_name = temporary.string();
  return OutboxWriter(std::move(target_name), std::move(temporary_name), std::exchange(file.fd, -1), std::move(*hash), std::move(check),
                      kept.bytes);
}

int Outbox::remove_unfinished(const std::vector<std::string>& keep) {
  std::set<fs::path> kept;
  for (const std::string& relative : keep) kept.insert((fs::path(root_) / relative).concat(".tmp"));
  int removed = 0;
  for (const char* folder : {"notices", "ccasr"}) {
    std::error_code ec;
    fs::directory_iterator it(fs::path(root_) / folder, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      std::error_code gone;
      if (it->path().extension() == ".tmp" && !kept.contains(it->path()) && fs::remove(it->path(), gone)) ++removed;
    }
  }
  return removed;
}

OutboxWriter::OutboxWriter(std::string target, std::string temporary)
    : target_(std::move(target)), temporary_(std::move(temporary)), fd_(-1) {
  buffer_.reserve(kWriteChunk);
  // Opened last: nothing after it can throw and leave the descriptor or FILE.tmp behind.
  fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd_ < 0) fail("cannot create", temporary_);
}

OutboxWriter::OutboxWriter(std::string target, std::string temporary, int fd, Sha256 hash, Xxh3 check, std::int64_t bytes)
    : target_(std::move(target)), temporary_(std::move(temporary)), fd_(fd), hash_(std::move(hash)), check_(std::move(check)), bytes_(bytes),
      written_back_(bytes) {
  buffer_.reserve(kWriteChunk);
}

OutboxWriter::OutboxWriter(OutboxWriter&& other) noexcept
    : target_(std::move(other.target_)), temporary_(std::move(other.temporary_)), fd_(std::exchange(other.fd_, -1)),
      buffer_(std::move(other.buffer_)), hash_(std::move(other.hash_)), check_(std::move(other.check_)), bytes_(other.bytes_), synced_(other.synced_),
      written_back_(other.written_back_) {}

OutboxWriter::~OutboxWriter() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(temporary_.c_str());
}

void OutboxWriter::append(std::string_view bytes) {
  if (buffer_.size() + bytes.size() < kWriteChunk) {
    buffer_ += bytes;
    return;
  }
  flush();
  put(bytes);  // a large piece goes straight to the file, not through a copy
}

void OutboxWriter::flush() {
  put(buffer_);
  buffer_.clear();
}

void OutboxWriter::put(std::string_view bytes) {
  hash_.update(bytes);
  check_.update(bytes);
  write_all(fd_, bytes, temporary_);
  bytes_ += static_cast<std::int64_t>(bytes.size());
  // A large file's bytes start for the disk as they are written, each kWriteBack at a time,
  // so that sync() waits for the last of them only (sync_file_range does not wait, and
  // makes nothing durable by itself: sync still flushes everything).
  if (bytes_ - written_back_ >= kWriteBack) {
    ::sync_file_range(fd_, written_back_, bytes_ - written_back_, SYNC_FILE_RANGE_WRITE);
    written_back_ = bytes_;
  }
}

WrittenSoFar OutboxWriter::written_so_far() {
  flush();
  return WrittenSoFar{bytes_, hash_.hex_so_far(), hash_.state(), check_.hex_so_far()};
}

void OutboxWriter::sync() {
  flush();
  if (::fsync(fd_) != 0) fail("cannot flush", temporary_);
  synced_ = bytes_;
}

Written OutboxWriter::commit() {
  if (!buffer_.empty() || synced_ != bytes_) sync();
  // Past the descriptor, a failure removes FILE.tmp itself and reports the error that stopped it.
  auto give_up = [&](const char* what) {
    int error = errno;
    ::unlink(temporary_.c_str());
    errno = error;
    fail(what, temporary_);
  };
  if (::close(std::exchange(fd_, -1)) != 0) give_up("cannot write");
  if (::rename(temporary_.c_str(), target_.c_str()) != 0) give_up("cannot rename");
  int dir = ::open(fs::path(target_).parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return Written{bytes_, hash_.hex()};
}

std::optional<Ccasr814::Type> ccasr_type_named(std::string_view name) {
  if (name == "connect") return Ccasr814::Type::kConnect;
  if (name == "update") return Ccasr814::Type::kUpdate;
  if (name == "disconnect") return Ccasr814::Type::kDisconnect;
  if (name == "cancel") return Ccasr814::Type::kCancel;
  return std::nullopt;
}

MailMerge::MailMerge(std::string_view notice, std::string_view template_name, std::string_view sender, Date send,
                     std::int64_t after)
    : out_(after > 0 ? "" : "account,customer_class,rate_schedule,city,county,read_cycle,notice,template,sender,send_date\r\n"),
      rows_(after) {
  for (std::string_view field : {notice, template_name, sender}) {
    tail_ += ',';
    append_field(tail_, field);
  }
  tail_ += ',' + format_date(send) + "\r\n";
}

void MailMerge::add(std::string_view account, int customer_class, std::string_view rate_schedule, std::string_view city,
                    std::string_view county, int read_cycle) {
  append_field(out_, account);
  out_ += ',';
  out_ += customer_class_name(static_cast<CustomerClass>(customer_class));
  for (std::string_view field : {rate_schedule, city, county}) {
    out_ += ',';
    append_field(out_, field);
  }
  out_ += ',';
  out_ += std::to_string(read_cycle);
  out_ += tail_;
  ++rows_;
}

std::string x12_814(const Ccasr814& batch) {
  std::string text;
  write_x12_814(batch, [&text](std::string_view piece) { text += piece; });
  return text;
}

void write_x12_814(const Ccasr814& b, const std::function<void(std::string_view)>& write) {
  // Rendered a megabyte at a time into one buffer: a batch's file can be hundreds of
  // megabytes, and fresh memory for all of it cost more page faults than the rendering.
  constexpr std::size_t kPiece = 1 << 20;
  std::string out;
  out.reserve(kPiece + 4096);
  // Each segment formatted straight onto the end of the file's text, with its terminator.
  auto segment = [&out]<typename... Args>(fmt::format_string<Args...> format, Args&&... args) {
    fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
    out += "~\n";
  };
  std::string control = fmt::format("{:09}", b.control_number);
  std::string created = ccyymmdd(b.created);
  segment("ISA*00*{}*00*{}*ZZ*{}*ZZ*{}*{}*0000*U*00401*{}*0*P*>", pad("", 10), pad("", 10), pad(b.cca_code, 15),
          pad(b.utility_code, 15), yymmdd(b.created), control);
  segment("GS*GE*{}*{}*{}*0000*{}*X*004010", b.cca_code, b.utility_code, created, b.control_number);
  std::string utility = b.utility_duns.empty() ? fmt::format("N1*8S*{}", b.utility_name)
                                               : fmt::format("N1*8S*{}*1*{}", b.utility_name, b.utility_duns);
  std::string cca = b.cca_duns.empty() ? fmt::format("N1*SJ*{}", b.cca_name) : fmt::format("N1*SJ*{}*1*{}", b.cca_name, b.cca_duns);
  // A line's nine segments are appended as eleven pieces: the text between its numbers,
  // account and date is the same on every line of a type (or date), so it is joined once.
  // A batch has up to a million lines, and the file is written while the batch records its
  // effects on the other core.
  auto joined = [](std::initializer_list<std::string_view> pieces) {
    std::string text;
    for (std::string_view piece : pieces) text += piece;
    return text;
  };
  // After ST's number: "~\nBGN*" purpose "*" reference prefix (BGN01: 13 a request, 01 a cancellation).
  const std::string request_bgn = joined({"~\nBGN*13*", b.reference_prefix});
  const std::string cancel_bgn = joined({"~\nBGN*01*", b.reference_prefix});
  // After BGN's number: the date, both parties, and LIN up to its number.
  const std::string parties = joined({"*", created, "~\n", utility, "~\n", cca, "~\nLIN*"});
  // After LIN's number: ASI02 (X12 maintenance type: 021 addition, 001 change, 024 termination), up to the account.
  auto asi = [&](std::string_view action) { return joined({"*SH*EL*SH*CE~\nASI*7*", action, "~\nREF*12*"}); };
  const std::string addition = asi("021"), change = asi("001"), termination = asi("024");
  std::optional<Date> last;
  std::string dated;  // after the account: DTM with the line's date, up to SE's number (lines share their dates)
  int transaction = 0;
  // ST and SE number the transaction with at least four digits, LIN with as many as it has.
  auto put_number = [&out](int n, std::size_t width) {
    fmt::format_int digits(n);
    if (width > digits.size()) out.append(width - digits.size(), '0');
    out.append(digits.data(), digits.size());
  };
  for (const Ccasr814::Line& line : b.lines) {
    ++transaction;
    if (line.effective != last) dated = joined({"~\nDTM*151*", ccyymmdd(line.effective), "~\nSE*9*"}), last = line.effective;
    // ST, BGN, N1, N1, LIN, ASI, REF, DTM, then SE counting those 8 and itself.
    out += "ST*814*";
    put_number(transaction, 4);
    out += line.type == Ccasr814::Type::kCancel ? cancel_bgn : request_bgn;
    put_number(transaction, 4);
    out += parties;
    put_number(transaction, 1);
    out += line.type == Ccasr814::Type::kUpdate ? change : line.type == Ccasr814::Type::kDisconnect ? termination : addition;
    out += line.account;
    out += dated;
    put_number(transaction, 4);
    out += "~\n";
    if (out.size() >= kPiece) {
      write(out);
      out.clear();
    }
  }
  segment("GE*{}*{}", transaction, b.control_number);
  segment("IEA*1*{}", control);
  write(out);
}

}  // namespace ccaflow
