#include "compiler/suggest.h"

#include <gtest/gtest.h>

namespace ccaflow {
namespace {

TEST(Suggest, CountsEditsAndSwaps) {
  EXPECT_EQ(edit_distance("start", "start"), 0u);
  EXPECT_EQ(edit_distance("strat", "start"), 1u);
  EXPECT_EQ(edit_distance("enrol", "enroll"), 1u);
  EXPECT_EQ(edit_distance("Class", "class"), 0u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

TEST(Suggest, SuggestsOnlyCloseNames) {
  std::vector<std::string> names = {"jrc_published", "edi_testing", "call_center"};
  EXPECT_EQ(did_you_mean("jrc_publish", names), " (did you mean `jrc_published`?)");
  EXPECT_EQ(did_you_mean("board", names), "");
  EXPECT_EQ(closest_name("edi_testin", names), std::optional<std::string>("edi_testing"));
}

}  // namespace
}  // namespace ccaflow
