#include "compiler/date.h"

#include <fmt/format.h>

namespace ccaflow {

using namespace std::chrono;

std::optional<Date> parse_date(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto digits = [&](std::size_t from, std::size_t count, int& out) {
    out = 0;
    for (std::size_t i = from; i < from + count; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  int y = 0, m = 0, d = 0;
  if (!digits(0, 4, y) || !digits(5, 2, m) || !digits(8, 2, d)) return std::nullopt;
  year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return sys_days{ymd};
}

std::string format_date(Date date) {
  year_month_day ymd{date};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

Date add_months(Date date, int months) {
  year_month_day ymd{date};
  year_month ym = year_month{ymd.year(), ymd.month()} + std::chrono::months{months};
  day last = year_month_day_last{ym.year(), month_day_last{ym.month()}}.day();
  day d = ymd.day() > last ? last : ymd.day();
  return sys_days{year_month_day{ym.year(), ym.month(), d}};
}

unsigned weekday_index(Date date) { return weekday{date}.c_encoding(); }

const char* weekday_name(Date date) {
  static const char* const kNames[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};
  return kNames[weekday_index(date)];
}

}  // namespace ccaflow
