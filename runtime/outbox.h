// The outbox: files for the world outside, each written under a temporary name, flushed to
// disk and renamed only when complete, so a reader never sees half a file and a resumed
// batch rewrites exactly the same bytes. Contents are deterministic: no clock, sorted rows.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "compiler/date.h"
#include "runtime/hash.h"
#include "runtime/store.h"

namespace ccaflow {

// What a file written to the outbox holds: its size and SHA-256 (hex), as recorded.
struct Written {
  std::int64_t bytes = 0;
  std::string sha256;
};

// What FILE.tmp holds so far, for a later process to go on after it (Outbox::reopen): its
// size and SHA-256, and what checks its bytes again faster than their SHA-256 can: their
// XXH3-64, and the SHA-256's state after their whole 64-byte blocks, from which the digest
// goes on without reading those blocks. Both are empty for a mark of schema version 2 or
// older, whose bytes are checked against their SHA-256.
struct WrittenSoFar {
  std::int64_t bytes = 0;
  std::string sha256;
  std::string sha256_state;
  std::string xxh3;
};

// One outbox file being written a piece at a time, so a file of millions of lines never
// sits whole in memory: the pieces go to FILE.tmp as they come, are counted and hashed, and
// `commit` flushes it to disk and renames it into place. Destroyed uncommitted (a failure,
// an exception), it removes FILE.tmp and FILE keeps what it held.
class OutboxWriter {
 public:
  OutboxWriter(OutboxWriter&& other) noexcept;
  OutboxWriter& operator=(OutboxWriter&&) = delete;
  ~OutboxWriter();
  void append(std::string_view bytes);  // throws on failure
  Written commit();                     // throws on failure
  // What FILE.tmp holds so far: everything appended is written to it first (not yet
  // flushed to disk), so a killed process leaves exactly these bytes behind.
  WrittenSoFar written_so_far();
  // Flushes FILE.tmp to disk now, so that `commit` has only to rename it (unless more is
  // appended): a file filled on another thread is made durable there, while the batch
  // records its effects.
  void sync();  // throws on failure

 private:
  friend class Outbox;
  OutboxWriter(std::string target, std::string temporary);
  OutboxWriter(std::string target, std::string temporary, int fd, Sha256 hash, Xxh3 check, std::int64_t bytes);  // (reopen)
  void flush();
  void put(std::string_view bytes);

  std::string target_, temporary_;
  int fd_;
  std::string buffer_;
  Sha256 hash_;
  Xxh3 check_;
  std::int64_t bytes_ = 0;
  std::int64_t synced_ = -1;  // bytes_ when FILE.tmp was last flushed to disk
  std::int64_t written_back_ = 0;  // the bytes whose writing to disk has been started
  static constexpr std::int64_t kWriteBack = 2 << 20;
};

// Files under a folder (created 0700; files 0600).
class Outbox {
 public:
  explicit Outbox(std::string root) : root_(std::move(root)) {}
  // Starts writing `relative` (e.g. "notices/x.csv"), creating its folders.
  OutboxWriter create(const std::string& relative);
  // Writes `relative` with `bytes`, atomically; throws on failure.
  Written write(const std::string& relative, std::string_view bytes);
  // Goes on writing the `relative` a killed process left unfinished, after its first
  // `kept.bytes` bytes, if FILE.tmp still begins with them (checked by their XXH3-64 and the
  // SHA-256 gone on from its state, or, without those, by their SHA-256); what followed
  // them is cut off. Nullopt, FILE.tmp left as it is, when it does not.
  std::optional<OutboxWriter> reopen(const std::string& relative, const WrittenSoFar& kept);
  // Removes the FILE.tmp files a killed process left in the outbox's folders (a file is
  // FILE.tmp until it is complete), but those named in `keep` (relative names, without
  // .tmp), which a later run may go on writing. Call with the run's lock held. Returns how
  // many it removed.
  int remove_unfinished(const std::vector<std::string>& keep = {});

 private:
  std::string root_;
};

// One notice's mail merge for one send date, built a line at a time: every line names the
// account and its service, then the notice, template, sender and date (the same on every
// line of a file).
class MailMerge {
 public:
  // `after`: the rows a file already holds (after its header) when the merge goes on after
  // them, in a file a killed process left unfinished; no header is written again.
  MailMerge(std::string_view notice, std::string_view template_name, std::string_view sender, Date send,
            std::int64_t after = 0);
  void add(std::string_view account, int customer_class, std::string_view rate_schedule, std::string_view city,
           std::string_view county, int read_cycle);
  std::int64_t rows() const { return rows_; }
  std::size_t buffered() const { return out_.size(); }
  // Hands `write` the text since the last drain (the header first), then empties the
  // buffer but keeps its memory: a merge of a million lines fills the same megabyte again
  // instead of a new one (fresh pages to fault in) for every chunk.
  template <typename Write>
  void drain(const Write& write) {
    write(std::string_view(out_));
    out_.clear();
  }

 private:
  std::string tail_;  // ",notice,template,sender,send_date\r\n"
  std::string out_;
  std::int64_t rows_ = 0;
};

// The parties and dates of one Connect CCASR batch, one 814 transaction per account.
// The CCA sends the request to the utility.
struct Ccasr814 {
  std::string cca_code, cca_name, cca_duns;
  std::string utility_code, utility_name, utility_duns;
  int control_number = 1;  // interchange and group control number (the batch's task id)
  Date created{};          // the submission date (no clock: the file must be reproducible)
  std::string reference_prefix;
  // The four CCASR types, each with its own codes: BGN01 (13 a request, 01 a cancellation)
  // and ASI02 (X12 maintenance type: 021 addition, 001 change, 024 termination).
  enum class Type { kConnect, kUpdate, kDisconnect, kCancel };
  struct Line {
    std::string account;
    Date effective{};  // the requested effective (read) date
    Type type = Type::kConnect;
  };
  std::vector<Line> lines;
};
// ASC X12 814 version 004010: ISA/GS envelope, ST..SE per account, GE/IEA with counts.
std::string x12_814(const Ccasr814& batch);
// The same text, handed to `write` in pieces of about a megabyte.
void write_x12_814(const Ccasr814& batch, const std::function<void(std::string_view)>& write);
std::optional<Ccasr814::Type> ccasr_type_named(std::string_view name);

}  // namespace ccaflow
