// The business-day calendar and the meter read schedule. Both are data: the calendar is
// declared in a workflow or stdlib file (weekend days and named holidays), the read
// schedule is a CSV file the stdlib names (cycle, read date), replaceable by a utility's.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiler/date.h"

namespace ccaflow {

class BusinessCalendar {
 public:
  void set_weekend(unsigned weekday_index, bool off) { weekend_[weekday_index] = off; }
  void add_holiday(Date date, std::string name) { holidays_[date] = std::move(name); }

  bool is_business_day(Date date) const;
  // False when every day of the week is a weekend day: no date could ever be a business day.
  bool has_working_weekday() const;
  // Why `date` is not a business day ("Saturday", "Thanksgiving Day"), or nullopt.
  std::optional<std::string> closed_reason(Date date) const;
  // Moves `count` business days forward (negative: backward); 0 returns the date itself.
  Date add_business_days(Date date, int count) const;
  // The first business day on or after `date`.
  Date next_business_day(Date date) const;
  Date previous_business_day(Date date) const;
  const std::map<Date, std::string>& holidays() const { return holidays_; }

 private:
  std::array<bool, 7> weekend_{true, false, false, false, false, false, true};
  std::map<Date, std::string> holidays_;
};

// Read dates per read cycle, each cycle's dates sorted.
class ReadSchedule {
 public:
  // Parses "cycle,read_date" lines after a header; on failure returns the error text and
  // the 1-based line number through `error` and `error_line`.
  static std::optional<ReadSchedule> parse(const std::string& text, std::string& error,
                                           std::size_t& error_line);

  int cycle_count() const { return static_cast<int>(reads_.size()); }
  bool has_cycle(int cycle) const { return cycle >= 1 && cycle <= cycle_count(); }
  const std::vector<Date>& reads(int cycle) const { return reads_.at(cycle - 1); }
  // The first read of `cycle` on or after `date`; nullopt past the schedule's end.
  std::optional<Date> read_on_or_after(int cycle, Date date) const;
  // The n-th read of `cycle` strictly after `date` (n >= 1), or strictly before (n <= -1).
  std::optional<Date> nth_read_from(int cycle, Date date, int n) const;
  Date first_date() const;
  Date last_date() const;

 private:
  std::vector<std::vector<Date>> reads_;
};

}  // namespace ccaflow
