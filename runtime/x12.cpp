#include "runtime/x12.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "compiler/text.h"

namespace ccaflow {

namespace {

struct Segment {
  std::size_t line;
  std::vector<std::string> elements;
  const std::string& at(std::size_t i) const {
    static const std::string empty;
    return i < elements.size() ? elements[i] : empty;
  }
  const std::string& id() const { return at(0); }
};

std::optional<Date> ccyymmdd(const std::string& s) {
  if (s.size() != 8) return std::nullopt;
  return parse_date(s.substr(0, 4) + "-" + s.substr(4, 2) + "-" + s.substr(6, 2));
}

constexpr std::size_t kMaxBytes = 64 << 20;

}  // namespace

std::vector<CcasrResponse> read_814_responses(const std::string& path, std::vector<DataError>& errors) {
  std::vector<CcasrResponse> out;
  auto error = [&](std::size_t line, std::string message) { errors.push_back({line, 0, std::move(message), {}}); };
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error(0, fmt::format("cannot read the response file: {}", std::strerror(errno)));
    return out;
  }
  std::string text = read_capped(in, kMaxBytes);
  if (text.size() > kMaxBytes) {
    error(0, fmt::format("the response file is over {} bytes", kMaxBytes));
    return out;
  }
  if (std::size_t bad = invalid_utf8_at(text); bad != std::string::npos) {
    error(1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n')),
          "the file holds bytes that are not text: is this an X12 814 file?");
    return out;
  }
  // Segments end with `~`; line breaks between them are ignored.
  std::vector<Segment> segments;
  std::size_t line = 1, start_line = 1;
  std::string current;
  bool started = false;
  for (char c : text) {
    if (c == '\n') ++line;
    if (c == '~') {
      Segment s{start_line, {}};
      std::size_t from = 0;
      for (;;) {
        std::size_t star = current.find('*', from);
        s.elements.push_back(current.substr(from, star == std::string::npos ? std::string::npos : star - from));
        if (star == std::string::npos) break;
        from = star + 1;
      }
      segments.push_back(std::move(s));
      current.clear();
      started = false;
      continue;
    }
    if (c == '\r' || c == '\n') continue;
    if (!started) {
      if (c == ' ' || c == '\t') continue;
      started = true;
      start_line = line;
    }
    current += c;
  }
  if (started) error(start_line, fmt::format("a segment is not closed with `~`: `{}`", printable(current)));
  if (segments.empty() || segments.front().id() != "ISA") {
    error(segments.empty() ? 1 : segments.front().line, "an X12 file starts with an ISA segment");
    return out;
  }
  if (segments.back().id() != "IEA") error(segments.back().line, "an X12 file ends with an IEA segment");
  else if (segments.back().at(2) != segments.front().at(13)) {
    error(segments.back().line, fmt::format("IEA control number {} does not match ISA's {}", segments.back().at(2), segments.front().at(13)));
  }
  // One or more functional groups, GS..GE, each of ST..SE transactions.
  std::size_t i = 1, groups = 0;
  while (i < segments.size() && segments[i].id() == "GS") {
    const Segment& gs = segments[i++];
    ++groups;
    std::size_t transactions = 0;
    while (i < segments.size() && segments[i].id() == "ST") {
      const Segment& st = segments[i];
      std::size_t first = i;
      CcasrResponse r;
      r.line = st.line;
      bool have_asi = false;
      ++i;
      while (i < segments.size() && segments[i].id() != "SE" && segments[i].id() != "ST" && segments[i].id() != "GE") {
        const Segment& s = segments[i];
        if (s.id() == "BGN") {
          r.reference = s.at(2);
          if (s.at(1) == "01") r.type = "cancel";
        } else if (s.id() == "ASI") {
          have_asi = true;
          if (s.at(1) == "WQ") r.accepted = true;
          else if (s.at(1) == "U") r.accepted = false;
          else error(s.line, fmt::format("ASI01 must be WQ (accepted) or U (rejected), not `{}`", printable(s.at(1))));
          std::string action = s.at(2);
          std::string type = action == "021" ? "connect" : action == "001" ? "update" : action == "024" ? "disconnect" : "";
          if (type.empty()) error(s.line, fmt::format("ASI02 must be 021, 001 or 024, not `{}`", printable(action)));
          if (r.type.empty()) r.type = type;
        } else if (s.id() == "REF" && s.at(1) == "12") {
          r.account = s.at(2);
        } else if (s.id() == "REF" && s.at(1) == "7G") {
          r.reason = s.at(2);
        } else if (s.id() == "DTM" && s.at(1) == "151") {
          r.actual = ccyymmdd(s.at(2));
          if (!r.actual) error(s.line, fmt::format("DTM*151 needs a date as CCYYMMDD, not `{}`", printable(s.at(2))));
        }
        ++i;
      }
      if (i >= segments.size() || segments[i].id() != "SE") {
        error(st.line, fmt::format("transaction {} has no SE segment", printable(st.at(2))));
        continue;
      }
      const Segment& se = segments[i++];
      ++transactions;
      std::size_t count = i - first;
      if (se.at(1) != std::to_string(count)) {
        error(se.line, fmt::format("SE says {} segments, but transaction {} has {}", printable(se.at(1)), printable(st.at(2)), count));
      }
      if (se.at(2) != st.at(2)) error(se.line, fmt::format("SE control number {} does not match ST's {}", printable(se.at(2)), printable(st.at(2))));
      if (!have_asi) error(st.line, "the transaction has no ASI segment (accept or reject)");
      if (r.account.empty()) error(st.line, "the transaction has no REF*12 segment (the account)");
      if (have_asi && !r.accepted && r.reason.empty()) error(st.line, "a rejection has no REF*7G segment (the reason)");
      if (r.accepted && r.type == "connect" && !r.actual) error(st.line, "an accepted Connect has no DTM*151 segment (the actual read date)");
      out.push_back(std::move(r));
    }
    if (i >= segments.size() || segments[i].id() != "GE") {
      error(i < segments.size() ? segments[i].line : segments.back().line,
            fmt::format("expected a GE segment here, found `{}`", i < segments.size() ? printable(segments[i].id()) : "the end"));
      return out;
    }
    if (segments[i].at(1) != std::to_string(transactions)) {
      error(segments[i].line, fmt::format("GE says {} transactions, but the group has {}", printable(segments[i].at(1)), transactions));
    }
    if (segments[i].at(2) != gs.at(6)) error(segments[i].line, "GE control number does not match GS's");
    ++i;
  }
  if (groups == 0) error(i < segments.size() ? segments[i].line : segments.back().line, "the ISA segment is followed by GS");
  if (i < segments.size() && segments[i].id() != "IEA") {
    error(segments[i].line, fmt::format("expected GS or IEA here, found `{}`", printable(segments[i].id())));
  } else if (i < segments.size() && segments[i].at(1) != std::to_string(groups)) {
    error(segments[i].line, fmt::format("IEA says {} groups, but the file has {}", printable(segments[i].at(1)), groups));
  }
  return out;
}

}  // namespace ccaflow
