#include "runtime/customers.h"

#include <csv.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <unordered_map>

#include "compiler/suggest.h"
#include "compiler/text.h"

namespace ccaflow {

const char* customer_class_name(CustomerClass c) {
  static const char* const kNames[] = {"residential", "commercial", "industrial", "agricultural", "municipal", "lighting"};
  return kNames[static_cast<int>(c)];
}

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

enum Column { kAccount, kClass, kRate, kCity, kCounty, kCycle, kDirectAccess, kCare, kFera, kMedical, kNem, kColumns };
const std::vector<std::string>& column_names() {
  static const std::vector<std::string> names = {"account", "customer_class", "rate_schedule", "city", "county", "read_cycle",
                                                 "direct_access", "care", "fera", "medical_baseline", "nem"};
  return names;
}
constexpr int kRequired = 6;  // the first six columns must be present
constexpr std::size_t kShownLine = 160;

std::string lower_trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

struct CustomerReader::Impl {
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
  bool have_header = false;
  std::vector<int> columns;  // file column -> Column
  std::unordered_map<std::string, std::uint32_t> seen;  // account -> line of first sight
  std::string first_line_text;  // for errors about the header

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

CustomerReader::CustomerReader(std::string path, int cycle_count, std::size_t max_errors)
    : path_(std::move(path)), cycle_count_(cycle_count), max_errors_(max_errors), impl_(std::make_unique<Impl>()) {
  std::error_code ec;
  if (std::filesystem::is_directory(path_, ec)) {
    error(0, 0, "cannot read the customer file: it is a directory");
    impl_->stopped = true;
    return;
  }
  impl_->in.open(path_, std::ios::binary);
  if (!impl_->in) {
    error(0, 0, fmt::format("cannot read the customer file: {}", std::strerror(errno)));
    impl_->stopped = true;
    return;
  }
  csv_init(&impl_->parser, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL);
  impl_->parser_ready = true;
}

CustomerReader::~CustomerReader() {
  if (impl_->parser_ready) csv_free(&impl_->parser);
}

void CustomerReader::error(std::size_t line, std::size_t column, std::string message) {
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
bool CustomerReader::fill() {
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
      error(s.line, 0, fmt::format("line {} is longer than {} bytes: is this a customer file?", s.line, kMaxLine));
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

void CustomerReader::header(std::vector<std::string>& fields) {
  Impl& s = *impl_;
  s.have_header = true;
  s.columns.assign(fields.size(), -1);
  std::vector<std::size_t> where(kColumns, 0);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    std::string name = lower_trim(fields[i]);
    auto it = std::find(column_names().begin(), column_names().end(), name);
    if (it == column_names().end()) {
      error(1, 0, fmt::format("unknown column `{}`{}; the columns are {}", fields[i],
                              did_you_mean(name, column_names()), fmt::join(column_names(), ", ")));
      continue;
    }
    auto c = static_cast<std::size_t>(it - column_names().begin());
    if (where[c] != 0) {
      error(1, 0, fmt::format("column `{}` appears twice (columns {} and {})", name, where[c], i + 1));
      continue;
    }
    where[c] = i + 1;
    s.columns[i] = static_cast<int>(c);
  }
  for (int c = 0; c < kRequired; ++c) {
    if (where[static_cast<std::size_t>(c)] == 0) {
      error(1, 0, fmt::format("missing column `{}`: the header must name account, customer_class, rate_schedule, "
                              "city, county and read_cycle", column_names()[static_cast<std::size_t>(c)]));
    }
  }
  if (!errors_.empty()) s.stopped = true;
}

bool CustomerReader::convert(std::vector<std::string>& fields, std::size_t line, Account& a) {
  Impl& s = *impl_;
  if (fields.size() != s.columns.size()) {
    error(line, 0, fmt::format("expected {} fields, as in the header, but found {}", s.columns.size(), fields.size()));
    return false;
  }
  a = Account{};
  a.line = line;
  bool ok = true;
  auto bad = [&](std::size_t i, std::string message) {
    // The column of field i, counted on the raw line when the record is on one line.
    std::size_t column = 0;
    if (line == s.line) {
      std::size_t field = 0;
      bool quoted = false;
      column = 1;
      for (std::size_t k = 0; k < s.current.size() && field < i; ++k) {
        char ch = s.current[k];
        if (ch == '"') quoted = !quoted;
        else if (ch == ',' && !quoted) {
          ++field;
          column = k + 2;
        }
      }
    }
    error(line, column, std::move(message));
    ok = false;
  };
  auto flag = [&](std::size_t i, bool& out) {
    std::string v = lower_trim(fields[i]);
    if (v.empty() || v == "false") out = false;
    else if (v == "true") out = true;
    else bad(i, fmt::format("`{}` must be true or false, not `{}`", column_names()[static_cast<std::size_t>(s.columns[i])], fields[i]));
  };
  for (std::size_t i = 0; i < fields.size(); ++i) {
    std::string& v = fields[i];
    switch (s.columns[i]) {
      case kAccount: {
        std::string trimmed = v;
        if (lower_trim(trimmed).empty()) bad(i, "the account id is empty");
        a.id = std::move(v);
        break;
      }
      case kClass: {
        std::string c = lower_trim(v);
        bool found = false;
        std::vector<std::string> names;
        for (int k = 0; k <= static_cast<int>(CustomerClass::kLighting); ++k) {
          names.emplace_back(customer_class_name(static_cast<CustomerClass>(k)));
          if (c == names.back()) {
            a.customer_class = static_cast<CustomerClass>(k);
            found = true;
          }
        }
        if (!found) {
          bad(i, fmt::format("unknown customer_class `{}`{}: use {}", v, did_you_mean(c, names), fmt::join(names, ", ")));
        }
        break;
      }
      case kRate:
        if (lower_trim(v).empty()) bad(i, "the rate_schedule is empty");
        a.rate_schedule = std::move(v);
        break;
      case kCity: a.city = std::move(v); break;
      case kCounty: a.county = std::move(v); break;
      case kCycle: {
        int cycle = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), cycle);
        if (ec != std::errc{} || end != v.data() + v.size() || cycle < 1 || cycle > cycle_count_) {
          bad(i, fmt::format("read_cycle must be a whole number from 1 to {}, not `{}`", cycle_count_, v));
        }
        a.read_cycle = cycle;
        break;
      }
      case kDirectAccess: flag(i, a.direct_access); break;
      case kCare: flag(i, a.care); break;
      case kFera: flag(i, a.fera); break;
      case kMedical: flag(i, a.medical_baseline); break;
      case kNem: flag(i, a.nem); break;
      default: break;
    }
  }
  if (!ok) return false;
  auto [it, inserted] = s.seen.try_emplace(a.id, static_cast<std::uint32_t>(line));
  if (!inserted) {
    bad(0, fmt::format("duplicate account `{}` (first on line {})", a.id, it->second));
    return false;
  }
  return true;
}

bool CustomerReader::next(Account& account) {
  Impl& s = *impl_;
  while (!s.stopped) {
    if (!fill()) break;
    Impl::Row row = std::move(s.rows.front());
    s.rows.pop_front();
    if (!s.have_header) {
      header(row.fields);
      continue;
    }
    if (convert(row.fields, row.line, account)) {
      ++accounts_;
      return true;
    }
  }
  finish();
  return false;
}

void CustomerReader::finish() {
  Impl& s = *impl_;
  if (s.at_end && errors_.empty() && accounts_ == 0 && !s.stopped) {
    error(0, 0, s.have_header ? "the file has a header but no accounts" : "the file is empty: no header and no accounts");
    s.stopped = true;
  }
}

}  // namespace ccaflow
