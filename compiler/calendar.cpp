#include "compiler/calendar.h"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>
#include <sstream>

#include "compiler/text.h"

namespace ccaflow {

bool BusinessCalendar::is_business_day(Date date) const {
  return !weekend_[weekday_index(date)] && !holidays_.contains(date);
}

bool BusinessCalendar::has_working_weekday() const {
  return std::find(weekend_.begin(), weekend_.end(), false) != weekend_.end();
}

std::optional<std::string> BusinessCalendar::closed_reason(Date date) const {
  if (auto it = holidays_.find(date); it != holidays_.end()) return it->second;
  if (weekend_[weekday_index(date)]) return std::string(weekday_name(date));
  return std::nullopt;
}

// A calendar without a working weekday is reported by the dates pass; these guards keep the
// loops below finite whatever they are given.
Date BusinessCalendar::add_business_days(Date date, int count) const {
  if (!has_working_weekday()) return date;
  int step = count >= 0 ? 1 : -1;
  for (int left = count >= 0 ? count : -count; left > 0;) {
    date = add_days(date, step);
    if (is_business_day(date)) --left;
  }
  return date;
}

Date BusinessCalendar::next_business_day(Date date) const {
  if (!has_working_weekday()) return date;
  while (!is_business_day(date)) date = add_days(date, 1);
  return date;
}

Date BusinessCalendar::previous_business_day(Date date) const {
  if (!has_working_weekday()) return date;
  while (!is_business_day(date)) date = add_days(date, -1);
  return date;
}

std::optional<ReadSchedule> ReadSchedule::parse(const std::string& text, std::string& error,
                                                std::size_t& error_line) {
  ReadSchedule schedule;
  std::istringstream in(text);
  std::string line;
  std::size_t number = 0;
  bool header = true;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (header) {
      header = false;
      if (line != "cycle,read_date") {
        error = fmt::format("the header must be `cycle,read_date`, not `{}`", printable(line));
        error_line = number;
        return std::nullopt;
      }
      continue;
    }
    auto comma = line.find(',');
    int cycle = 0;
    auto [end, ec] = std::from_chars(line.data(), line.data() + (comma == std::string::npos ? line.size() : comma), cycle);
    std::optional<Date> date;
    if (comma != std::string::npos) date = parse_date(std::string_view(line).substr(comma + 1));
    if (comma == std::string::npos || ec != std::errc{} || end != line.data() + comma ||
        cycle < 1 || cycle > 99 || !date) {
      error = fmt::format("expected `CYCLE,YYYY-MM-DD` with a cycle from 1 to 99, found `{}`", printable(line));
      error_line = number;
      return std::nullopt;
    }
    if (static_cast<std::size_t>(cycle) > schedule.reads_.size()) schedule.reads_.resize(cycle);
    schedule.reads_[cycle - 1].push_back(*date);
  }
  if (schedule.reads_.empty()) {
    error = "the read schedule lists no reads";
    error_line = number;
    return std::nullopt;
  }
  for (std::size_t c = 0; c < schedule.reads_.size(); ++c) {
    auto& dates = schedule.reads_[c];
    if (dates.empty()) {
      error = fmt::format("read cycle {} has no read dates (cycles must run from 1 without gaps)", c + 1);
      error_line = number;
      return std::nullopt;
    }
    std::sort(dates.begin(), dates.end());
    dates.erase(std::unique(dates.begin(), dates.end()), dates.end());
  }
  return schedule;
}

std::optional<Date> ReadSchedule::read_on_or_after(int cycle, Date date) const {
  const auto& dates = reads(cycle);
  auto it = std::lower_bound(dates.begin(), dates.end(), date);
  if (it == dates.end()) return std::nullopt;
  return *it;
}

std::optional<Date> ReadSchedule::nth_read_from(int cycle, Date date, int n) const {
  const auto& dates = reads(cycle);
  if (n >= 1) {
    auto it = std::upper_bound(dates.begin(), dates.end(), date);
    auto index = (it - dates.begin()) + (n - 1);
    if (index >= static_cast<std::ptrdiff_t>(dates.size())) return std::nullopt;
    return dates[static_cast<std::size_t>(index)];
  }
  if (n <= -1) {
    auto it = std::lower_bound(dates.begin(), dates.end(), date);
    auto index = (it - dates.begin()) + n;
    if (index < 0) return std::nullopt;
    return dates[static_cast<std::size_t>(index)];
  }
  return date;
}

Date ReadSchedule::first_date() const {
  Date first = reads_.front().front();
  for (const auto& dates : reads_) first = std::min(first, dates.front());
  return first;
}

Date ReadSchedule::last_date() const {
  Date last = reads_.front().back();
  for (const auto& dates : reads_) last = std::max(last, dates.back());
  return last;
}

}  // namespace ccaflow
