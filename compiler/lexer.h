// The workflow language's tokens, read directly: exactly the tokens the lexer ANTLR
// generates from grammar/Flow.g4 makes (their types, text, lines, columns and indexes),
// for FlowParser to parse.
//
// Every ccaflow process compiles its workflow, and the generated lexer spends most of a
// millisecond building its DFA on each cold start, for a few hundred tokens. The tokens
// are simple (the grammar's literals, DATE, NUMBER, STRING, ID; COMMENT and WS skipped;
// any other character UNKNOWN), so they are read here by the grammar's own rules: the
// longest match wins, and between matches of one length the rule defined first (a
// literal before ID). The literals are taken from the parser's vocabulary, so a literal
// added to the grammar is known here without an edit. compiler/lexer_test.cpp checks this
// lexer against the generated one on every workflow file in the tree and on random text.
#pragma once

#include <antlr4-runtime.h>

#include <memory>
#include <string>

namespace ccaflow {

class FlowTokens : public antlr4::TokenSource {
 public:
  explicit FlowTokens(antlr4::CharStream* input) : input_(input) {}

  std::unique_ptr<antlr4::Token> nextToken() override;
  size_t getLine() const override { return line_; }
  size_t getCharPositionInLine() override { return column_; }
  antlr4::CharStream* getInputStream() override { return input_; }
  std::string getSourceName() override { return input_->getSourceName(); }
  antlr4::TokenFactory<antlr4::CommonToken>* getTokenFactory() override { return antlr4::CommonTokenFactory::DEFAULT.get(); }
  // The characters read by tries at a STRING, closed or not: at most the text's length.
  size_t string_reads() const { return string_reads_; }

 private:
  size_t peek(size_t ahead = 1) const { return input_->LA(static_cast<ssize_t>(ahead)); }
  void advance(size_t n = 1);  // consumes n characters, counting lines as the generated lexer does
  std::unique_ptr<antlr4::Token> make(size_t type, size_t start, size_t line, size_t column);

  antlr4::CharStream* input_;
  size_t line_ = 1;
  size_t column_ = 0;
  size_t unclosed_until_ = 0;  // where the last string that could not be closed stopped
  size_t string_reads_ = 0;
};

}  // namespace ccaflow
