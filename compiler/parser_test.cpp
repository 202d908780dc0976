#include "compiler/parser.h"

#include <gtest/gtest.h>

namespace ccaflow {
namespace {

struct Parsed {
  std::unique_ptr<ast::Module> module;
  std::string errors;
};

Parsed parse(const std::string& text, const ParseLimits& limits = {}) {
  SourceManager sources;
  FileId id = sources.add("t.flow", text);
  Diagnostics diagnostics;
  Parsed p;
  p.module = parse_module(sources, id, diagnostics, limits);
  if (p.module) p.module->name = "t";
  p.errors = diagnostics.render(sources);
  return p;
}

// Table: source text -> the AST dump.
TEST(Parser, BuildsTheAst) {
  struct Case {
    const char* source;
    const char* dump;
  } cases[] = {
      {"import sce, rule23", "module t\n  import sce\n  import rule23\n"},
      {"param lead = 5 business days", "module t\n  param lead = 5 business days\n"},
      {"gate jrc owner joint due 2026-10-15 needs edi, sce.x",
       "module t\n  gate jrc owner=joint due=2026-10-15 needs=[edi, sce.x]\n"},
      {"phase p { select class == \"residential\" and city in [\"Carson\", \"Claremont\"] enroll 2027-01-01 }",
       "module t\n  phase p select=class == \"residential\" and city in [\"Carson\", \"Claremont\"] enroll=2027-01-01 needs=[]\n"},
      {"notices o for each phase { pre a between 60 days before enroll and 31 days before enroll sender cca }",
       "module t\n  notices o\n    pre a between 60 days before enroll and 31 days before enroll sender=cca template=- needs=[]\n"},
      {"notices o for each phase { post b in billing cycle 2 after switch template \"x\" }",
       "module t\n  notices o\n    post b in billing cycle 2 after switch sender=- template=x needs=[]\n"},
      {"rule r for each phase p, cycle c in p { let x = c.switch + 60 days require c.post[0].end <= x }",
       "module t\n  rule r for each p, c in p\n    let x = c.switch + 60 days\n    require c.post[0].end <= x\n"},
      {"assert not (a.enroll < 2027-01-01) : \"m\"", "module t\n  assert not a.enroll < 2027-01-01\n"},
  };
  for (const Case& c : cases) {
    Parsed p = parse(c.source);
    ASSERT_TRUE(p.module) << c.source << "\n" << p.errors;
    EXPECT_EQ(ast::dump(*p.module), c.dump) << c.source;
  }
}

TEST(Parser, KeepsPositionsInASideTable) {
  Parsed p = parse("\n\ngate   jrc owner joint due 2026-10-15");
  ASSERT_TRUE(p.module);
  Location where = p.module->where(p.module->tasks[0].id);
  EXPECT_EQ(where.line, 3u);
  EXPECT_EQ(where.column, 8u);
  EXPECT_EQ(where.length, 3u);
}

TEST(Parser, ReportsEverySyntaxErrorInOnePass) {
  Parsed p = parse("gate a owner joint due 2026-10-15 needs\nphase b { enroll }\nparam c = \nparam d = 5");
  EXPECT_FALSE(p.module);
  EXPECT_NE(p.errors.find("t.flow:2:1: error: unexpected `phase`, expected a name"), std::string::npos) << p.errors;
  EXPECT_NE(p.errors.find("t.flow:4:1:"), std::string::npos) << p.errors;
}

TEST(Parser, RejectsImpossibleDates) {
  Parsed p = parse("gate a due 2027-02-30");
  EXPECT_FALSE(p.module);
  EXPECT_NE(p.errors.find("2027-02-30 is not a calendar date"), std::string::npos);
}

TEST(Parser, SurvivesHostileInput) {
  EXPECT_NE(parse(std::string("param a = ") + std::string(20000, '(') + "1" + std::string(20000, ')')).errors.find("nested more than 64 deep"),
            std::string::npos);
  std::string nots = "assert ";
  for (int i = 0; i < 20000; ++i) nots += "not ";
  nots += "true";
  EXPECT_NE(parse(nots).errors.find("nested too deeply"), std::string::npos);
  std::string chain = "param a = 1";
  for (int i = 0; i < 20000; ++i) chain += " + 1";
  EXPECT_NE(parse(chain).errors.find("nested too deeply"), std::string::npos);
  EXPECT_NE(parse(std::string("param a = 1\0", 12)).errors.find("NUL byte"), std::string::npos);
  EXPECT_NE(parse("param a = \"\xff\"").errors.find("invalid UTF-8 byte 0xFF"), std::string::npos);
  EXPECT_NE(parse(std::string(2 << 20, 'x')).errors.find("over the 1048576 byte limit"), std::string::npos);
  std::string lines;
  for (int i = 0; i < 100000; ++i) lines += "gate 1\n";
  Parsed noise = parse(lines);
  EXPECT_NE(noise.errors.find("more errors not shown"), std::string::npos);
}

TEST(Parser, AcceptsUtf8AndBom) {
  Parsed p = parse("\xEF\xBB\xBFphase caf\xC3\xA9 { }");
  EXPECT_FALSE(p.module);  // é is not an identifier character
  EXPECT_NE(p.errors.find("t.flow:1:13: error: unexpected character"), std::string::npos) << p.errors;
  Parsed ok = parse("\xEF\xBB\xBFworkflow \"Caf\xC3\xA9 \xE2\x9A\xA1\" { cca X }");
  EXPECT_TRUE(ok.module) << ok.errors;
}

}  // namespace
}  // namespace ccaflow
