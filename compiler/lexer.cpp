#include "compiler/lexer.h"

#include <FlowParser.h>

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace ccaflow {

namespace {

using grammar::FlowParser;

// The grammar's literals by their text: words ('import', 'phase', ...) and symbols ('{',
// '<=', ...), the longest symbols first.
struct Literals {
  std::unordered_map<std::string, size_t> words;
  std::vector<std::pair<std::u32string, size_t>> symbols;
};

bool is_letter(size_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(size_t c) { return c >= '0' && c <= '9'; }

const Literals& literals() {
  static const Literals table = [] {
    // The vocabulary is the parser's; a parser over no text is made only to ask for it.
    antlr4::ANTLRInputStream nothing("");
    FlowTokens source(&nothing);
    antlr4::CommonTokenStream tokens(&source);
    FlowParser parser(&tokens);
    const antlr4::dfa::Vocabulary& vocabulary = parser.getVocabulary();
    Literals out;
    for (size_t type = 1; type <= vocabulary.getMaxTokenType(); ++type) {
      std::string quoted = vocabulary.getLiteralName(type);  // 'import', or empty for DATE, ID, ...
      if (quoted.size() < 3 || quoted.front() != '\'' || quoted.back() != '\'') continue;
      std::string text;
      for (size_t i = 1; i + 1 < quoted.size(); ++i) {
        if (quoted[i] == '\\' && i + 2 < quoted.size()) ++i;  // \' and \\ in ANTLR's quoting
        text += quoted[i];
      }
      if (is_letter(static_cast<unsigned char>(text.front()))) {
        out.words.emplace(text, type);
      } else {
        out.symbols.emplace_back(std::u32string(text.begin(), text.end()), type);
      }
    }
    std::stable_sort(out.symbols.begin(), out.symbols.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    return out;
  }();
  return table;
}

}  // namespace

void FlowTokens::advance(size_t n) {
  for (; n > 0; --n) {
    if (peek() == '\n') {
      ++line_;
      column_ = 0;
    } else {
      ++column_;
    }
    input_->consume();
  }
}

std::unique_ptr<antlr4::Token> FlowTokens::make(size_t type, size_t start, size_t line, size_t column) {
  return antlr4::CommonTokenFactory::DEFAULT->create({this, input_}, type, "", antlr4::Token::DEFAULT_CHANNEL, start,
                                                      input_->index() - 1, line, column);
}

std::unique_ptr<antlr4::Token> FlowTokens::nextToken() {
  const Literals& known = literals();
  for (;;) {
    size_t start = input_->index();
    size_t line = line_, column = column_;
    size_t c = peek();
    if (c == antlr4::Token::EOF) return make(antlr4::Token::EOF, start, line, column);
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {  // WS: skipped
      while (peek() == ' ' || peek() == '\t' || peek() == '\r' || peek() == '\n') advance();
      continue;
    }
    if (c == '#') {  // COMMENT: skipped
      while (peek() != '\r' && peek() != '\n' && peek() != antlr4::Token::EOF) advance();
      continue;
    }
    if (is_letter(c)) {  // ID, or a word of the grammar's (same length: the literal is defined first)
      std::string word;
      while (is_letter(peek()) || is_digit(peek())) {
        word += static_cast<char>(peek());
        advance();
      }
      auto literal = known.words.find(word);
      return make(literal == known.words.end() ? size_t{FlowParser::ID} : literal->second, start, line, column);
    }
    if (is_digit(c)) {  // DATE (YYYY-MM-DD), else NUMBER: digits, and a fraction when digits follow the dot
      static constexpr char kDate[] = "dddd-dd-dd";
      bool date = true;
      for (size_t i = 0; i < 10 && date; ++i) date = kDate[i] == 'd' ? is_digit(peek(i + 1)) : peek(i + 1) == '-';
      if (date) {
        advance(10);
        return make(FlowParser::DATE, start, line, column);
      }
      while (is_digit(peek())) advance();
      if (peek() == '.' && is_digit(peek(2))) {
        advance();
        while (is_digit(peek())) advance();
      }
      return make(FlowParser::NUMBER, start, line, column);
    }
    if (c == '"') {  // STRING: no line breaks; \" \\ \n \t escapes. Unclosed: the quote alone is UNKNOWN
      // A quote inside a string that could not be closed starts one that cannot either: it
      // was read there as \", so its own string goes on from the same place. Each stretch
      // is read once, not again from every quote in it.
      if (start < unclosed_until_) {
        advance();
        return make(FlowParser::UNKNOWN, start, line, column);
      }
      size_t length = 1;
      for (;;) {
        ++string_reads_;
        size_t d = peek(length + 1);
        if (d == '"') {
          advance(length + 1);
          return make(FlowParser::STRING, start, line, column);
        }
        if (d == antlr4::Token::EOF || d == '\r' || d == '\n') break;
        if (d == '\\') {
          size_t e = peek(length + 2);
          if (e != '"' && e != '\\' && e != 'n' && e != 't') break;
          ++length;
        }
        ++length;
      }
      unclosed_until_ = start + length;
      advance();
      return make(FlowParser::UNKNOWN, start, line, column);
    }
    for (const auto& [text, type] : known.symbols) {  // the longest symbol that matches
      bool match = true;
      for (size_t i = 0; i < text.size() && match; ++i) match = peek(i + 1) == text[i];
      if (match) {
        advance(text.size());
        return make(type, start, line, column);
      }
    }
    advance();  // UNKNOWN: any other character
    return make(FlowParser::UNKNOWN, start, line, column);
  }
}

}  // namespace ccaflow
