#include "runtime/x12.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace ccaflow {
namespace {

namespace fs = std::filesystem;

std::vector<CcasrResponse> read(const std::string& text, std::vector<DataError>& errors) {
  fs::path path = fs::temp_directory_path() / ("ccaflow_x12_" + std::to_string(::getpid()) + ".814");
  std::ofstream(path, std::ios::binary) << text;
  auto out = read_814_responses(path.string(), errors);
  fs::remove(path);
  return out;
}

const char* kIsa = "ISA*00*          *00*          *ZZ*SCE            *ZZ*CPA            *270504*0000*U*00401*000000007*0*P*>~\r\n";

TEST(X12Responses, ReadsAcceptsAndRejectsInEveryGroup) {
  std::string text = std::string(kIsa) +
                     "GS*GE*SCE*CPA*20270504*0000*1*X*004010~\n"
                     "ST*814*0001~\nBGN*11*R1*20270504~\nASI*WQ*021~\nREF*12*A1~\nDTM*151*20270511~\nSE*6*0001~\n"
                     "GE*1*1~\n"
                     "GS*GE*SCE*CPA*20270504*0000*2*X*004010~\n"
                     "ST*814*0001~\nBGN*11*R2*20270504~\nASI*U*024~\nREF*12*A2~\nREF*7G*A13~\nSE*6*0001~\n"
                     "ST*814*0002~\nBGN*01*R3*20270504~\nASI*WQ*021~\nREF*12*A3~\nSE*5*0002~\n"
                     "GE*2*2~\nIEA*2*000000007~\n";
  std::vector<DataError> errors;
  auto responses = read(text, errors);
  ASSERT_TRUE(errors.empty()) << errors[0].message;
  ASSERT_EQ(responses.size(), 3u);
  EXPECT_TRUE(responses[0].accepted);
  EXPECT_EQ(responses[0].type, "connect");
  EXPECT_EQ(format_date(*responses[0].actual), "2027-05-11");
  EXPECT_FALSE(responses[1].accepted);
  EXPECT_EQ(responses[1].type, "disconnect");
  EXPECT_EQ(responses[1].reason, "A13");
  EXPECT_EQ(responses[2].type, "cancel");
  EXPECT_EQ(responses[2].line, 17u);
}

TEST(X12Responses, NamesTheLinesOfABrokenEnvelope) {
  std::string text = std::string(kIsa) +
                     "GS*GE*SCE*CPA*20270504*0000*1*X*004010~\n"
                     "ST*814*0001~\nASI*U*021~\nREF*12*A1~\nSE*9*0002~\n"
                     "GE*3*9~\nIEA*1*000000008~\n";
  std::vector<DataError> errors;
  read(text, errors);
  std::vector<std::string> messages;
  for (const DataError& e : errors) messages.push_back(std::to_string(e.line) + ": " + e.message);
  EXPECT_EQ(messages, (std::vector<std::string>{
                          "8: IEA control number 000000008 does not match ISA's 000000007",
                          "6: SE says 9 segments, but transaction 0001 has 4",
                          "6: SE control number 0002 does not match ST's 0001",
                          "3: a rejection has no REF*7G segment (the reason)",
                          "7: GE says 3 transactions, but the group has 1",
                          "7: GE control number does not match GS's",
                      }));
}

TEST(X12Responses, RefusesWhatIsNotAnX12File) {
  std::vector<DataError> errors;
  read("account,received_on\nA1,2027-01-01\n", errors);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].message, "a segment is not closed with `~`: `account,received_onA1,2027-01-01`");
}

}  // namespace
}  // namespace ccaflow
