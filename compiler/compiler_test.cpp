#include "compiler/compiler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "compiler/eval.h"
#include "compiler/source_files.h"

namespace ccaflow {
namespace {

namespace fs = std::filesystem;

const std::string kSource = CCAFLOW_SOURCE_DIR;

// Writes a workflow into a fresh temporary folder and compiles it.
class CompileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fs::path("ccaflow_compile_" + std::to_string(::getpid()) + "_" +
                                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  CompileResult build(const std::string& body, CompileOptions options = {}) {
    std::string header =
        "import sce, rule23\n"
        "workflow \"T\" { cca T utility SCE calendar sce.business_days reads sce.reads_2025_2028 }\n"
        "connect for each phase { submit sce.ccasr_lead before read }\n";
    fs::path file = dir_ / "t.flow";
    std::ofstream(file) << header << body;
    return compile(file.string(), std::move(options));
  }

  fs::path dir_;
};

const PhaseInfo& phase(const CompileResult& r, std::size_t i = 0) { return r.program->model.phases.at(i); }

TEST_F(CompileTest, SwitchIsTheFirstReadWhoseCcasrCanGoOnOrAfterEnrollment) {
  auto r = build("phase p { select true enroll 2027-02-01 }\n");
  ASSERT_TRUE(r.ok()) << r.render_diagnostics();
  // Cycle 1 reads on the first business day: 2027-02-01, whose CCASR (5 business days
  // before, 2027-01-25) would precede enrollment, so it switches on 2027-03-01.
  EXPECT_EQ(format_date(phase(r).cycles[0].read), "2027-03-01");
  EXPECT_EQ(format_date(phase(r).cycles[0].submit), "2027-02-22");
  // Cycle 6 reads 2027-02-08; its CCASR goes on 2027-02-01, the enrollment date itself.
  EXPECT_EQ(format_date(phase(r).cycles[5].read), "2027-02-08");
  EXPECT_EQ(format_date(phase(r).cycles[5].submit), "2027-02-01");
  // 2027-02-15 is Presidents' Day: cycle 11 reads on the 11th business day, 2027-02-16,
  // and its CCASR goes 5 business days earlier, skipping the holiday.
  EXPECT_EQ(format_date(phase(r).cycles[10].read), "2027-02-16");
  EXPECT_EQ(format_date(phase(r).cycles[10].submit), "2027-02-08");
}

TEST_F(CompileTest, WindowsInCalendarMonthsBusinessDaysAndBillingCycles) {
  auto r = build(
      "phase p { select true enroll 2027-01-01 }\n"
      "notices n for each phase {\n"
      "  pre a between max(2 months before enroll, 60 days before enroll) and 1 day before enroll\n"
      "  pre b within 10 business days before enroll\n"
      "  post c within 1 billing cycle after switch\n"
      "  post d in billing cycle 2 after switch\n"
      "}\n");
  ASSERT_TRUE(r.ok()) << r.render_diagnostics();
  const CycleInfo& c1 = phase(r).cycles[0];
  EXPECT_EQ(format_date(c1.windows[0].start), "2026-11-02");  // domain.md's example for E = 2027-01-01
  EXPECT_EQ(format_date(c1.windows[0].end), "2026-12-31");
  EXPECT_EQ(format_date(c1.windows[0].send), "2026-11-02");
  // 10 business days before 2027-01-01 skips Christmas and the weekends.
  EXPECT_EQ(format_date(c1.windows[1].start), "2026-12-17");
  EXPECT_EQ(format_date(c1.read), "2027-02-01");
  EXPECT_EQ(format_date(c1.windows[2].start), "2027-02-01");
  EXPECT_EQ(format_date(c1.windows[2].end), "2027-02-28");  // the day before the next read, 2027-03-01
  EXPECT_EQ(format_date(c1.windows[3].start), "2027-03-01");
  EXPECT_EQ(format_date(c1.windows[3].end), "2027-03-31");
}

TEST_F(CompileTest, ParametersCanBeSetFromTheCommandLine) {
  CompileOptions options;
  options.overrides["start"] = "2027-04-01";
  auto r = build("param start = 2027-02-01\nphase p { select true enroll start }\n", options);
  ASSERT_TRUE(r.ok()) << r.render_diagnostics();
  EXPECT_EQ(format_date(phase(r).enroll), "2027-04-01");
  EXPECT_TRUE(r.program->model.params[0].overridden);

  CompileOptions wrong;
  wrong.overrides["strat"] = "2027-04-01";
  wrong.overrides["sce.ccasr_lead"] = "five";
  auto bad = build("param start = 2027-02-01\nphase p { select true enroll start }\n", wrong);
  ASSERT_EQ(bad.program->usage_errors.size(), 2u);
  EXPECT_NE(bad.program->usage_errors[0].find("did you mean `start`"), std::string::npos);
  EXPECT_NE(bad.program->usage_errors[1].find("holds a duration"), std::string::npos) << bad.program->usage_errors[1];
}

TEST_F(CompileTest, RulesReportPassAndFailPerPhase) {
  auto r = build(
      "phase ok { select class == \"residential\" enroll 2027-01-01 }\n"
      "phase late { select class != \"residential\" enroll 2027-03-01 }\n"
      "notices n for each phase {\n"
      "  pre a between 60 days before enroll and 31 days before enroll\n"
      "  pre b between 30 days before enroll and 1 day before enroll\n"
      "}\n"
      "require rule23.pre_enrollment_notices\n");
  EXPECT_FALSE(r.ok());
  ASSERT_TRUE(r.graph);  // rule failures still leave a complete schedule
  const auto& outcomes = r.program->model.outcomes;
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_TRUE(outcomes[0].pass);
  EXPECT_FALSE(outcomes[1].pass);
  EXPECT_NE(outcomes[1].detail.find("2026-12-31 vs 2027-01-01"), std::string::npos) << outcomes[1].detail;
}

TEST_F(CompileTest, TheTaskGraphHasOneNodePerGatePhaseNoticeAndReadCycle) {
  auto r = build(
      "gate g owner joint due 2026-10-15\n"
      "phase p { select true enroll 2027-02-01 needs g }\n"
      "notices n for each phase {\n"
      "  pre a between 60 days before enroll and 31 days before enroll needs g\n"
      "  post b within 1 billing cycle after switch\n"
      "}\n");
  ASSERT_TRUE(r.ok()) << r.render_diagnostics();
  const TaskGraph& g = *r.graph;
  EXPECT_EQ(g.nodes().size(), 1u + 2u + 21u * 2u);
  int ccasr = g.find("p.connect.c06");
  ASSERT_GE(ccasr, 0);
  std::vector<std::string> deps;
  for (int d : g.nodes()[static_cast<std::size_t>(ccasr)].deps) deps.push_back(g.nodes()[static_cast<std::size_t>(d)].id);
  EXPECT_EQ(deps, (std::vector<std::string>{"g", "p.n.a"}));
  // Every dependency comes before its dependents in the order.
  std::vector<int> position(g.nodes().size());
  for (std::size_t i = 0; i < g.order().size(); ++i) position[static_cast<std::size_t>(g.order()[i])] = static_cast<int>(i);
  for (std::size_t v = 0; v < g.nodes().size(); ++v) {
    for (int d : g.nodes()[v].deps) EXPECT_LT(position[static_cast<std::size_t>(d)], position[v]);
  }
  // The critical path ends at the last post-enrollment window and starts at the gate.
  ASSERT_FALSE(g.critical_path().empty());
  EXPECT_EQ(g.nodes()[static_cast<std::size_t>(g.critical_path().front())].id, "g");
  EXPECT_EQ(g.nodes()[static_cast<std::size_t>(g.critical_path().back())].id, "p.n.b");
}

TEST_F(CompileTest, AWindowCanBeAnchoredOnAGate) {
  auto r = build(
      "gate jrc owner joint due 2026-11-16\n"
      "phase p { select true enroll 2027-02-01 }\n"
      "notices n for each phase { pre a between 3 business days after jrc and 20 days after jrc.due }\n");
  ASSERT_TRUE(r.ok()) << r.render_diagnostics();
  const WindowDates& w = phase(r).cycles[0].windows[0];
  EXPECT_EQ(format_date(w.start), "2026-11-19");
  EXPECT_EQ(format_date(w.end), "2026-12-06");
  // Naming the gate in the window makes the notice wait for it in the task graph.
  int notice = r.graph->find("p.n.a");
  ASSERT_GE(notice, 0);
  ASSERT_EQ(r.graph->nodes()[static_cast<std::size_t>(notice)].deps.size(), 1u);
}

TEST_F(CompileTest, ACalendarWithoutBusinessDaysIsAnErrorNotAHang) {
  auto r = build(
      "calendar never { weekend monday, tuesday, wednesday, thursday, friday, saturday, sunday }\n"
      "gate g owner cca due 2027-01-04\n");
  EXPECT_TRUE(r.ok());  // the workflow uses sce.business_days, not this one
  BusinessCalendar closed;
  for (unsigned d = 0; d < 7; ++d) closed.set_weekend(d, true);
  Date day = *parse_date("2027-01-04");
  EXPECT_EQ(closed.add_business_days(day, 5), day);
  EXPECT_EQ(closed.next_business_day(day), day);
}

TEST(Workflows, EveryShippedWorkflowCompiles) {
  for (const auto& entry : fs::directory_iterator(kSource + "/workflows")) {
    auto r = compile(entry.path().string());
    EXPECT_TRUE(r.ok()) << entry.path() << "\n" << r.render_diagnostics();
  }
  auto example = compile(kSource + "/examples/territory/territory.flow");
  EXPECT_TRUE(example.ok()) << example.render_diagnostics();
}

}  // namespace
}  // namespace ccaflow

namespace ccaflow {
namespace {

TEST(StoredFilesTest, ARunRecompilesFromTheFilesItRead) {
  auto first = compile(kSource + "/examples/territory/territory.flow");
  ASSERT_TRUE(first.ok()) << first.render_diagnostics();
  const auto& inputs = first.program->inputs;
  EXPECT_EQ(inputs.size(), 5u);  // the workflow, sce.flow, rule23.flow, terms.flow and the read schedule
  StoredFiles stored(inputs);
  CompileOptions options;
  options.files = &stored;
  options.stdlib_dir = first.program->options.stdlib_dir;
  auto again = compile(kSource + "/examples/territory/territory.flow", options);
  ASSERT_TRUE(again.ok()) << again.render_diagnostics();
  EXPECT_EQ(again.graph->nodes().size(), first.graph->nodes().size());
  EXPECT_EQ(again.program->inputs, inputs);

  auto missing = compile("/nowhere/else.flow", options);
  EXPECT_NE(missing.render_diagnostics().find("not among the run's stored files"), std::string::npos);
}

}  // namespace
}  // namespace ccaflow
