#include "compiler/date.h"

#include <gtest/gtest.h>

#include "compiler/calendar.h"

namespace ccaflow {
namespace {

Date D(const char* text) { return *parse_date(text); }

TEST(Date, ParsesAndPrintsIsoDates) {
  EXPECT_EQ(format_date(D("2027-01-01")), "2027-01-01");
  EXPECT_FALSE(parse_date("2027-02-29"));
  EXPECT_TRUE(parse_date("2028-02-29"));
  EXPECT_FALSE(parse_date("2027-1-01"));
  EXPECT_FALSE(parse_date("2027-13-01"));
  EXPECT_FALSE(parse_date("20x7-01-01"));
}

TEST(Date, CalendarMonthsClampToTheMonthEnd) {
  EXPECT_EQ(format_date(add_months(D("2026-03-01"), -2)), "2026-01-01");
  EXPECT_EQ(format_date(add_months(D("2026-12-31"), -2)), "2026-10-31");
  EXPECT_EQ(format_date(add_months(D("2026-04-30"), -2)), "2026-02-28");
  EXPECT_EQ(format_date(add_months(D("2027-11-30"), 3)), "2028-02-29");
}

TEST(Date, DomainSafeWindowExamples) {
  // domain.md: E = 2026-03-01 gives 2026-01-01..2026-02-28; E = 2027-01-01 gives 2026-11-02..2026-12-31.
  for (auto [e, start, end] : {std::tuple{"2026-03-01", "2026-01-01", "2026-02-28"},
                               std::tuple{"2027-01-01", "2026-11-02", "2026-12-31"}}) {
    Date enroll = D(e);
    Date safe = std::max(add_months(enroll, -2), add_days(enroll, -60));
    EXPECT_EQ(format_date(safe), start);
    EXPECT_EQ(format_date(add_days(enroll, -1)), end);
  }
}

TEST(BusinessCalendar, SkipsWeekendsAndHolidays) {
  BusinessCalendar calendar;
  calendar.add_holiday(D("2026-11-26"), "Thanksgiving Day");
  EXPECT_FALSE(calendar.is_business_day(D("2026-11-26")));
  EXPECT_FALSE(calendar.is_business_day(D("2026-11-28")));
  EXPECT_TRUE(calendar.is_business_day(D("2026-11-27")));
  EXPECT_EQ(*calendar.closed_reason(D("2026-11-29")), "Sunday");
  EXPECT_EQ(*calendar.closed_reason(D("2026-11-26")), "Thanksgiving Day");
  EXPECT_EQ(format_date(calendar.add_business_days(D("2026-11-25"), 1)), "2026-11-27");
  EXPECT_EQ(format_date(calendar.add_business_days(D("2026-11-30"), -2)), "2026-11-25");
  EXPECT_EQ(format_date(calendar.add_business_days(D("2026-11-30"), 0)), "2026-11-30");
  EXPECT_EQ(format_date(calendar.next_business_day(D("2026-11-26"))), "2026-11-27");
}

TEST(ReadSchedule, ParsesAndFindsReads) {
  std::string error;
  std::size_t line = 0;
  auto schedule = ReadSchedule::parse("# comment\ncycle,read_date\n1,2027-01-04\n1,2027-02-01\n2,2027-01-05\n2,2027-02-02\n",
                                      error, line);
  ASSERT_TRUE(schedule) << error;
  EXPECT_EQ(schedule->cycle_count(), 2);
  EXPECT_EQ(format_date(*schedule->read_on_or_after(1, D("2027-01-05"))), "2027-02-01");
  EXPECT_EQ(format_date(*schedule->nth_read_from(2, D("2027-01-05"), 1)), "2027-02-02");
  EXPECT_EQ(format_date(*schedule->nth_read_from(2, D("2027-02-02"), -1)), "2027-01-05");
  EXPECT_FALSE(schedule->nth_read_from(1, D("2027-02-01"), 1));
}

TEST(ReadSchedule, RejectsDamagedFiles) {
  std::string error;
  std::size_t line = 0;
  EXPECT_FALSE(ReadSchedule::parse("cycle,date\n1,2027-01-04\n", error, line));
  EXPECT_EQ(line, 1u);
  EXPECT_FALSE(ReadSchedule::parse("cycle,read_date\n1,2027-02-30\n", error, line));
  EXPECT_EQ(line, 2u);
  EXPECT_FALSE(ReadSchedule::parse("cycle,read_date\n2,2027-02-01\n", error, line));
  EXPECT_NE(error.find("cycle 1 has no read dates"), std::string::npos);
}

}  // namespace
}  // namespace ccaflow
