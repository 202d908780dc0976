#include "runtime/customers.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace ccaflow {
namespace {

namespace fs = std::filesystem;

class CustomersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (fs::temp_directory_path() /
             ("ccaflow_customers_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".csv"))
                .string();
  }
  void TearDown() override { fs::remove(path_); }

  std::vector<Account> read(const std::string& text, std::vector<DataError>* errors = nullptr) {
    std::ofstream(path_, std::ios::binary) << text;
    CustomerReader reader(path_, 21);
    std::vector<Account> out;
    Account a;
    while (reader.next(a)) out.push_back(a);
    if (errors) *errors = reader.errors();
    else EXPECT_TRUE(reader.ok()) << (reader.errors().empty() ? "" : reader.errors()[0].message);
    return out;
  }

  std::string first_error(const std::string& text) {
    std::vector<DataError> errors;
    read(text, &errors);
    if (errors.empty()) return "(no error)";
    return render_data_error("c.csv", errors[0]);
  }

  std::string path_;
};

const char* kHeader = "account,customer_class,rate_schedule,city,county,read_cycle\n";

TEST_F(CustomersTest, ReadsAccountsWithDefaultsForOptionalFlags) {
  auto accounts = read(std::string(kHeader) + "A1,residential,D,Carson,Los Angeles,3\nA2,commercial,GS-1,Ojai,Ventura,21\n");
  ASSERT_EQ(accounts.size(), 2u);
  EXPECT_EQ(accounts[0].id, "A1");
  EXPECT_EQ(accounts[0].customer_class, CustomerClass::kResidential);
  EXPECT_EQ(accounts[0].read_cycle, 3);
  EXPECT_FALSE(accounts[0].direct_access);
  EXPECT_EQ(accounts[1].line, 3u);
}

TEST_F(CustomersTest, ReadsExcelExports) {
  // UTF-8 BOM, CRLF, quoted fields with commas and doubled quotes, TRUE/FALSE flags,
  // columns in another order and capitalised.
  auto accounts = read(
      "\xEF\xBB\xBF" "Account,City,County,Customer_Class,Rate_Schedule,Read_Cycle,Direct_Access,CARE\r\n"
      "A1,\"Rancho Palos Verdes, unincorporated\",Los Angeles,Residential,TOU-D-4-9PM,1,FALSE,TRUE\r\n"
      "\"A \"\"2\"\"\",Ojai,Ventura,commercial,\"GS-1\",2,TRUE,false\r\n");
  ASSERT_EQ(accounts.size(), 2u);
  EXPECT_EQ(accounts[0].city, "Rancho Palos Verdes, unincorporated");
  EXPECT_TRUE(accounts[0].care);
  EXPECT_EQ(accounts[1].id, "A \"2\"");
  EXPECT_TRUE(accounts[1].direct_access);
}

TEST_F(CustomersTest, AQuotedFieldMaySpanLines) {
  auto accounts = read(std::string(kHeader) + "A1,residential,D,\"Carson\nNorth\",Los Angeles,3\nA2,residential,D,Carson,Los Angeles,4\n");
  ASSERT_EQ(accounts.size(), 2u);
  EXPECT_EQ(accounts[0].city, "Carson\nNorth");
  EXPECT_EQ(accounts[1].line, 4u);
}

TEST_F(CustomersTest, DamagedFilesNameTheLine) {
  std::string h = kHeader;
  EXPECT_EQ(first_error(h + "A1,residential,D,Carson,Los Angeles,3\nA2,residential,D,\"Carson,Los Angeles,3\n"),
            "c.csv:3:1: error: a quoted field is never closed: a `\"` is missing (the field starts on this line)\n");
  EXPECT_EQ(first_error(h + "A1,residential,D,Carson,3\n"),
            "c.csv:2:1: error: expected 6 fields, as in the header, but found 5\nA1,residential,D,Carson,3\n^\n");
  EXPECT_EQ(first_error(h + "A1,residental,D,Carson,Los Angeles,3\n"),
            "c.csv:2:4: error: unknown customer_class `residental` (did you mean `residential`?): use residential, "
            "commercial, industrial, agricultural, municipal, lighting\nA1,residental,D,Carson,Los Angeles,3\n   ^\n");
  EXPECT_EQ(first_error(h + "A1,residential,D,Carson,Los Angeles,22\n"),
            "c.csv:2:37: error: read_cycle must be a whole number from 1 to 21, not `22`\n"
            "A1,residential,D,Carson,Los Angeles,22\n                                    ^\n");
  EXPECT_EQ(first_error("account,customer_class,rate_schedule,city,county,read_cycle,nem\nA1,residential,D,Carson,LA,3,maybe\n"),
            "c.csv:2:30: error: `nem` must be true or false, not `maybe`\nA1,residential,D,Carson,LA,3,maybe\n                             ^\n");
  EXPECT_EQ(first_error(h + "A1,residential,D,Carson,Los Angeles,3\nA1,residential,D,Carson,Los Angeles,4\n"),
            "c.csv:3:1: error: duplicate account `A1` (first on line 2)\nA1,residential,D,Carson,Los Angeles,4\n^\n");
  EXPECT_EQ(first_error("account,class,rate_schedule,city,county,read_cycle\n"),
            "c.csv:1:1: error: unknown column `class`; the columns are account, customer_class, rate_schedule, city, "
            "county, read_cycle, direct_access, care, fera, medical_baseline, nem\n"
            "account,class,rate_schedule,city,county,read_cycle\n^\n");
  EXPECT_EQ(first_error("account,customer_class,rate_schedule,city,read_cycle\nA1,residential,D,Carson,3\n"),
            "c.csv:1:1: error: missing column `county`: the header must name account, customer_class, rate_schedule, "
            "city, county and read_cycle\naccount,customer_class,rate_schedule,city,read_cycle\n^\n");
  EXPECT_EQ(first_error(h), "c.csv: error: the file has a header but no accounts\n");
  EXPECT_EQ(first_error(""), "c.csv: error: the file is empty: no header and no accounts\n");
  EXPECT_EQ(first_error(h + "A1,residential,D,Car\"son,Los Angeles,3\n"),
            "c.csv:2:21: error: malformed CSV: error parsing data while strict checking enabled (a quote inside a field "
            "must be doubled, and a quoted field must end at a comma or line end)\nA1,residential,D,Car\"son,Los Angeles,3\n"
            "                    ^\n");
}

TEST_F(CustomersTest, KeepsGoingToReportSeveralRowErrors) {
  std::vector<DataError> errors;
  auto accounts = read(std::string(kHeader) + "A1,residential,D,Carson,Los Angeles,0\nA2,residential,D,Carson,Los Angeles,3\n"
                       "A3,nobody,D,Carson,Los Angeles,3\n", &errors);
  EXPECT_EQ(accounts.size(), 1u);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].line, 2u);
  EXPECT_EQ(errors[1].line, 4u);
}

TEST_F(CustomersTest, AMissingFileIsAnError) {
  CustomerReader reader("/nonexistent/customers.csv", 21);
  Account a;
  EXPECT_FALSE(reader.next(a));
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.errors()[0].message.find("cannot read the customer file"), std::string::npos);
}

TEST(AccountNumbers, KnowsEveryNumberAndWhereItWasFirstSeen) {
  AccountNumbers seen;
  for (std::uint32_t i = 0; i < 50000; ++i) EXPECT_FALSE(seen.insert("8" + std::to_string(i * 7919u), i + 2));  // grows often
  EXPECT_EQ(seen.size(), 50000u);
  EXPECT_EQ(seen.insert("8" + std::to_string(123u * 7919u), 99999), std::optional<std::uint32_t>(125));
  EXPECT_EQ(seen.insert("80", 99999), std::optional<std::uint32_t>(2));
  EXPECT_FALSE(seen.insert("8", 7));  // a prefix of others is another number
  EXPECT_FALSE(seen.insert("", 8));
  EXPECT_EQ(seen.insert("", 9), std::optional<std::uint32_t>(8));
  EXPECT_EQ(seen.insert("8", 10), std::optional<std::uint32_t>(7));
  EXPECT_EQ(seen.size(), 50002u);
}

}  // namespace
}  // namespace ccaflow
