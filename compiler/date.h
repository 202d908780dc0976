// Calendar dates (C++20 <chrono>): ISO parsing and printing, calendar-month arithmetic.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ccaflow {

using Date = std::chrono::sys_days;

// Parses YYYY-MM-DD; nullopt when the text is not a real calendar date.
std::optional<Date> parse_date(std::string_view text);
std::string format_date(Date date);

// Adds calendar months, clamping to the month's last day (2026-12-31 - 2 months = 2026-10-31,
// 2026-04-30 - 2 months = 2026-02-28), the way "two calendar months before" is read.
Date add_months(Date date, int months);
inline Date add_days(Date date, int days) { return date + std::chrono::days{days}; }

// 0 = Sunday ... 6 = Saturday.
unsigned weekday_index(Date date);
const char* weekday_name(Date date);

}  // namespace ccaflow
