#include "runtime/optouts.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace ccaflow {
namespace {

namespace fs = std::filesystem;

class OptoutsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::temp_directory_path() / ("ccaflow_optouts_" + std::to_string(::getpid()) + "_" +
                                          ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".csv"))
                .string();
  }
  void TearDown() override { fs::remove(path_); }

  // The rows read, and every error rendered, one per line.
  std::pair<std::vector<OptoutRow>, std::string> read(const std::string& text, const OptoutCheck& check = {}) {
    std::ofstream(path_, std::ios::binary) << text;
    CsvReader csv(path_, "opt-out file");
    auto rows = read_optouts(csv, *parse_date("2027-03-31"), check);
    std::string errors;
    for (const DataError& e : csv.errors()) errors += fmt::format("{}:{}: {}\n", e.line, e.column, e.message);
    return {rows, errors};
  }

  std::string path_;
};

TEST_F(OptoutsTest, ReadsRowsInAnyColumnOrder) {
  auto [rows, errors] = read("channel,Received_On,account\r\nweb,2027-01-05,A1\n\"call, centre\",2027-01-06,A2\n");
  EXPECT_EQ(errors, "");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].account, "A2");
  EXPECT_EQ(rows[1].channel, "call, centre");
  EXPECT_EQ(format_date(rows[1].received), "2027-01-06");
  EXPECT_EQ(rows[1].line, 3u);
}

// A fuzzing finding: an unknown column before the known ones used to shift the columns read,
// past the end of a shorter row. A wrong header now stops the reading at the header.
TEST_F(OptoutsTest, AWrongHeaderStopsBeforeTheRows) {
  auto [rows, errors] = read("account,reaccount,received_on,channel\nA1,2027-01-05,web\n");
  EXPECT_TRUE(rows.empty());
  EXPECT_EQ(errors, "1:0: unknown column `reaccount`: the header is account,received_on[,channel]\n");
}

TEST_F(OptoutsTest, RowsAreCheckedOneByOne) {
  auto [rows, errors] = read("account,received_on\nA1,2027-01-05\nA2,2027-02-30\nA1,2027-01-07\nA3,2027-04-01\nZ9,2027-01-05\n",
                             [](const OptoutRow& row) -> std::optional<std::string> {
                               if (row.account == "Z9") return "no account `Z9` in this run";
                               return std::nullopt;
                             });
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(errors,
            "3:4: received_on must be a date as YYYY-MM-DD, not `2027-02-30`\n"
            "4:1: account `A1` opts out twice in this file (first on line 2)\n"
            "5:4: received_on 2027-04-01 is after today (2027-03-31): an opt-out is ingested once it has been received\n"
            "6:1: no account `Z9` in this run\n");
}

TEST_F(OptoutsTest, AnEmptyFileSaysWhatItNeeds) {
  auto [rows, errors] = read("");
  EXPECT_TRUE(rows.empty());
  EXPECT_EQ(errors, "0:0: the file is empty: it needs the header account,received_on\n");
}

}  // namespace
}  // namespace ccaflow
