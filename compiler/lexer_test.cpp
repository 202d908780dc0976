// FlowTokens against the lexer ANTLR generates from grammar/Flow.g4: the same tokens, with
// the same types, text, positions and indexes, for every workflow file in the tree and for
// random text made of the pieces where the two could differ.
#include "compiler/lexer.h"

#include <FlowLexer.h>
#include <FlowParser.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace ccaflow {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> tokens(const std::string& text, bool generated) {
  antlr4::ANTLRInputStream input(text);
  grammar::FlowLexer antlr(&input);
  antlr.removeErrorListeners();
  FlowTokens direct(&input);
  antlr4::CommonTokenStream stream(generated ? static_cast<antlr4::TokenSource*>(&antlr) : &direct);
  stream.fill();
  std::vector<std::string> out;
  for (antlr4::Token* t : stream.getTokens()) {
    out.push_back(fmt::format("{} `{}` {}:{} [{},{}] channel {}", t->getType(), t->getText(), t->getLine(),
                              t->getCharPositionInLine(), static_cast<long>(t->getStartIndex()),
                              static_cast<long>(t->getStopIndex()), t->getChannel()));
  }
  return out;
}

TEST(FlowTokens, MatchesTheGeneratedLexerOnEveryWorkflowFileInTheTree) {
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(CCAFLOW_SOURCE_DIR)) {
    std::string path = entry.path().string();
    if (entry.path().extension() != ".flow" || path.find("/build") != std::string::npos) continue;
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    try {
      antlr4::ANTLRInputStream utf8(text.str());
    } catch (const std::exception&) {
      continue;  // not UTF-8: the parser refuses it before it is read (check_encoding)
    }
    EXPECT_EQ(tokens(text.str(), false), tokens(text.str(), true)) << path;
    ++files;
  }
  EXPECT_GE(files, 20);
}

TEST(FlowTokens, MatchesTheGeneratedLexerOnTheEdgesOfEachToken) {
  for (const char* text : {"", " ", "\"", "\"abc", "\"a\\\"b\" x", "\"a\\qb\"", "\"a\nb\"", "\"\\", "\"a\\", "2027-05-03",
                           "2027-05-0", "2027-5-03", "20270-05-03", "2027-05-031", "1.", "1.5.3", ".5", "-5", "12ab", "a1_b",
                           "for format forx _for", "<<= >=> == = != ! !!= <", "#", "# x\ny", "#\r\nx", "a\rb\r\nc", "é x € \"é\"",
                           "phase.cycles", "x[1]", "{}()[],.:+-", "\t\t\tx", "'import'", "\\"}) {
    EXPECT_EQ(tokens(text, false), tokens(text, true)) << text;
  }
}

// A line of escaped quotes that never closes: each quote starts a string that cannot be
// closed either, read once for all of them (the generated lexer reads it again from each).
TEST(FlowTokens, ReadsALineOfUnclosedStringsOnce) {
  std::string line = "x \"";
  for (int i = 0; i < 300; ++i) line += "\\\"";
  line += " y\n\"a\\\"b\" \"c\\q";
  EXPECT_EQ(tokens(line, false), tokens(line, true));
  std::string big = "\"";
  for (int i = 0; i < 20000; ++i) big += "\\\"";
  big += "\n";
  antlr4::ANTLRInputStream input(big);
  FlowTokens direct(&input);
  antlr4::CommonTokenStream stream(&direct);
  stream.fill();
  EXPECT_EQ(stream.size(), 40002u);  // each quote and backslash an UNKNOWN, then EOF
  EXPECT_LE(direct.string_reads(), big.size()) << "read again from every quote";
}

TEST(FlowTokens, MatchesTheGeneratedLexerOnRandomText) {
  const std::vector<std::string> pieces = {
      "import", "phase", "notices", "for", "each", "and", "or", "not", "in", "days", "business", "x", "_", "a1",
      "0", "7", "2027", "-", "05", "-03", ".", "5", "\"", "\\", "\\\"", "\\n", "\\q", "#", " ", "  ", "\t", "\n", "\r\n",
      "\r", "=", "==", "!", "!=", "<", "<=", ">", ">=", "+", "{", "}", "(", ")", "[", "]", ",", ":", "'", "é", "€", "@", "$"};
  std::mt19937 random(20271127);
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    std::size_t n = random() % 40;
    for (std::size_t i = 0; i < n; ++i) text += pieces[random() % pieces.size()];
    ASSERT_EQ(tokens(text, false), tokens(text, true)) << text;
  }
}

}  // namespace
}  // namespace ccaflow
