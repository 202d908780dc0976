#include "runtime/csv.h"

#include <csv.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>

#include "compiler/text.h"

namespace ccaflow {

std::string render_data_error(const std::string& path, const DataError& e) {
  if (e.line == 0) return fmt::format("{}: error: {}\n", path, e.message);
  std::string out = fmt::format("{}:{}:{}: error: {}\n", path, e.line, std::max<std::size_t>(1, e.column), e.message);
  if (!e.text.empty()) {
    out += e.text + "\n";
    out += std::string(e.column > 0 ? e.column - 1 : 0, ' ') + "^\n";
  }
  return out;
}

namespace {

constexpr std::size_t kShownLine = 160;
constexpr std::size_t kMaxLine = 1 << 20;  // a customer row is a few hundred bytes

// std::getline without the unbounded growth: stops after `max` bytes and says so.
bool read_line(std::istream& in, std::string& line, std::size_t max, bool& too_long) {
  line.clear();
  std::streambuf* buffer = in.rdbuf();
  bool any = false;
  for (;;) {
    int c = buffer->sbumpc();
    if (c == std::char_traits<char>::eof()) return any;
    any = true;
    if (c == '\n') return true;
    if (line.size() >= max) {
      too_long = true;
      return true;
    }
    line.push_back(static_cast<char>(c));
  }
}

}  // namespace

struct CsvReader::Impl {
  std::ifstream in;
  csv_parser parser{};
  bool parser_ready = false;
  std::size_t line = 0;           // lines fed so far
  std::string current;            // the line being fed
  std::size_t record_line = 0;    // where the record being assembled starts
  std::vector<std::string> fields;
  struct Row {
    std::vector<std::string> fields;
    std::size_t line;
  };
  std::deque<Row> rows;
  bool at_end = false;
  bool record_open = false;       // a record has begun and not yet ended
  bool stopped = false;

  static void on_field(void* data, std::size_t length, void* self) {
    auto* impl = static_cast<Impl*>(self);
    impl->fields.emplace_back(static_cast<const char*>(data), length);
  }
  static void on_row(int, void* self) {
    auto* impl = static_cast<Impl*>(self);
    impl->rows.push_back({std::move(impl->fields), impl->record_line});
    impl->fields.clear();
    impl->record_open = false;
  }
};

CsvReader::CsvReader(std::string path, std::string what, std::size_t max_errors)
    : path_(std::move(path)), what_(std::move(what)), max_errors_(max_errors), impl_(std::make_unique<Impl>()) {
  std::error_code ec;
  if (std::filesystem::is_directory(path_, ec)) {
    error(0, 0, fmt::format("cannot read the {}: it is a directory", what_));
    impl_->stopped = true;
    return;
  }
  impl_->in.open(path_, std::ios::binary);
  if (!impl_->in) {
    error(0, 0, fmt::format("cannot read the {}: {}", what_, std::strerror(errno)));
    impl_->stopped = true;
    return;
  }
  csv_init(&impl_->parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
  impl_->parser_ready = true;
}

CsvReader::~CsvReader() {
  if (impl_->parser_ready) csv_free(&impl_->parser);
}

void CsvReader::error(std::size_t line, std::size_t column, std::string message) {
  if (errors_.size() >= max_errors_) {
    impl_->stopped = true;
    return;
  }
  DataError e{line, column, std::move(message), {}};
  if (line == impl_->line && line > 0) {
    std::string_view raw = impl_->current;
    while (!raw.empty() && (raw.back() == '\r' || raw.back() == '\n')) raw.remove_suffix(1);
    e.text = printable(raw, kShownLine);
    if (e.column > kShownLine) e.column = 0;
  }
  errors_.push_back(std::move(e));
  if (errors_.size() >= max_errors_) {
    errors_.push_back({0, 0, fmt::format("stopped after {} errors", max_errors_), {}});
    impl_->stopped = true;
  }
}

// Feeds lines to the CSV parser until at least one complete row is queued.
bool CsvReader::fill() {
  Impl& s = *impl_;
  while (s.rows.empty() && !s.at_end && !s.stopped) {
    bool too_long = false;
    if (!read_line(s.in, s.current, kMaxLine, too_long)) {
      s.at_end = true;
      if (csv_fini(&s.parser, Impl::on_field, Impl::on_row, &s) != 0) {
        error(s.record_line, 0, "a quoted field is never closed: a `\"` is missing (the field starts on this line)");
      }
      break;
    }
    ++s.line;
    if (too_long) {
      s.current.clear();
      error(s.line, 0, fmt::format("line {} is longer than {} bytes: is this the {}?", s.line, kMaxLine, what_));
      s.stopped = true;
      break;
    }
    if (s.line == 1 && s.current.rfind("\xEF\xBB\xBF", 0) == 0) s.current.erase(0, 3);  // Excel's UTF-8 BOM
    if (std::size_t bad = invalid_utf8_at(s.current); bad != std::string::npos) {
      error(s.line, bad + 1, "this line is not UTF-8 text: save the file as \"CSV UTF-8\"");
      s.stopped = true;
      break;
    }
    bool blank = s.current.find_first_not_of(" \t\r") == std::string::npos;
    if (!s.record_open && !blank) {
      s.record_open = true;
      s.record_line = s.line;
    }
    s.current += '\n';
    std::size_t used = csv_parse(&s.parser, s.current.data(), s.current.size(), Impl::on_field, Impl::on_row, &s);
    if (used != s.current.size()) {
      error(s.line, used + 1,
            fmt::format("malformed CSV: {} (a quote inside a field must be doubled, and a quoted field must end "
                        "at a comma or line end)", csv_strerror(csv_error(&s.parser))));
      s.stopped = true;
    }
  }
  return !s.rows.empty();
}


bool CsvReader::next(std::vector<std::string>& fields, std::size_t& line) {
  Impl& s = *impl_;
  if (s.stopped || !fill()) return false;
  Impl::Row row = std::move(s.rows.front());
  s.rows.pop_front();
  fields = std::move(row.fields);
  line = row.line;
  return true;
}

std::size_t CsvReader::field_column(std::size_t line, std::size_t index) const {
  const Impl& s = *impl_;
  if (line != s.line) return 0;
  std::size_t field = 0, column = 1;
  bool quoted = false;
  for (std::size_t k = 0; k < s.current.size() && field < index; ++k) {
    char ch = s.current[k];
    if (ch == '"') {
      quoted = !quoted;
    } else if (ch == ',' && !quoted) {
      ++field;
      column = k + 2;
    }
  }
  return column;
}

void CsvReader::stop() { impl_->stopped = true; }

bool CsvReader::at_end() const { return impl_->at_end && impl_->rows.empty(); }

}  // namespace ccaflow
