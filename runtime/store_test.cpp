#include "runtime/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "runtime/lock.h"

namespace ccaflow {
namespace {

namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ccaflow_store_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "run.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void make_run() {
    Store store = Store::create(path_);
    sql::Transaction t(store.db());
    store.create_schema();
    store.save_run(RunInfo{"w.flow", "/stdlib", "hash", "c.csv", "chash", "/outbox", "T", "T", "SCE", ""}, {{"w.flow", "text"}});
    store.add_phase(0, "p", *parse_date("2027-01-01"));
    store.add_account(AccountRow{1, "A1", 0, "D", "Ojai", "Ventura", 3, 0}, 0, std::nullopt);
    TaskRow task;
    task.id = 1;
    task.key = "p.n.a";
    task.kind = "notice";
    task.phase = "p";
    task.earliest = task.latest = *parse_date("2026-12-01");
    task.planned = 1;
    store.add_task(task);
    store.finish_setup();
    t.commit();
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(StoreTest, CreatesAPrivateVersionedDatabase) {
  make_run();
  struct stat info {};
  ASSERT_EQ(::stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  Store store = Store::open(path_);
  EXPECT_EQ(store.db().user_version(), kSchemaVersion);
  EXPECT_EQ(store.run().workflow_path, "w.flow");
  EXPECT_EQ(store.inputs().at("w.flow"), "text");
  auto mode = store.db().prepare("PRAGMA journal_mode");
  mode.step();
  EXPECT_EQ(mode.text(0), "wal");
  EXPECT_THROW(Store::create(path_), sql::Error);  // never overwrites
}

// The customer file's accounts are numbered by phase, then read cycle, then file order, so
// a day's accounts (some cycles of one phase) have neighbouring ids; excluded ones come last.
TEST_F(StoreTest, StagedAccountsAreNumberedByPhaseThenCycleThenFileOrder) {
  Store store = Store::create(path_);
  sql::Transaction t(store.db());
  store.create_schema();
  store.add_phase(0, "a", *parse_date("2027-01-01"));
  store.add_phase(1, "b", *parse_date("2027-02-01"));
  struct Staged {
    const char* account;
    std::optional<int> phase;
    int cycle;
  };
  std::vector<Staged> file = {{"F1", 1, 3}, {"F2", 0, 7}, {"F3", std::nullopt, 1}, {"F4", 0, 2},
                              {"F5", 1, 3}, {"F6", 0, 7}, {"F7", 1, 1},            {"F8", 0, 2}};
  for (const Staged& f : file) {
    store.stage_account(AccountRow{0, f.account, 0, "D", "Ojai", "Ventura", f.cycle, 0}, f.phase,
                        f.phase ? std::nullopt : std::optional<std::string>("direct access"));
  }
  store.finish_setup();
  t.commit();
  std::vector<std::string> by_id;
  auto s = store.db().prepare("SELECT id, account FROM accounts ORDER BY id");
  while (s.step()) {
    EXPECT_EQ(s.integer(0), static_cast<std::int64_t>(by_id.size()) + 1);
    by_id.push_back(s.text(1));
  }
  EXPECT_EQ(by_id, (std::vector<std::string>{"F4", "F8", "F2", "F6", "F7", "F1", "F5", "F3"}));
  // So each phase's read cycle is one range of ids, stored as such.
  auto ranges = [&](int phase) {
    std::vector<std::tuple<int, std::int64_t, std::int64_t>> out;
    for (const Store::CycleIds& r : store.import_ranges(phase)) out.emplace_back(r.cycle, r.first, r.last);
    return out;
  };
  using Ranges = std::vector<std::tuple<int, std::int64_t, std::int64_t>>;
  EXPECT_EQ(ranges(0), (Ranges{{2, 1, 2}, {7, 3, 4}}));
  EXPECT_EQ(ranges(1), (Ranges{{1, 5, 5}, {3, 6, 7}}));
  EXPECT_EQ(ranges(2), Ranges{});
  auto excluded = store.db().prepare("SELECT excluded FROM accounts WHERE account = 'F3'");
  ASSERT_TRUE(excluded.step());
  EXPECT_EQ(excluded.text(0), "direct access");
  auto staged = store.db().prepare("SELECT count(*) FROM sqlite_temp_master WHERE name = 'staged_accounts'");
  ASSERT_TRUE(staged.step());
  EXPECT_EQ(staged.integer(0), 0);  // dropped once stored
}

// Accounts added with ids of their own can leave a read cycle's ids apart: then no ranges
// are stored at all, and the executor reads the phase index.
TEST_F(StoreTest, NoRangesAreStoredWhenACycleIsNotOneRangeOfIds) {
  Store store = Store::create(path_);
  sql::Transaction t(store.db());
  store.create_schema();
  store.add_phase(0, "a", *parse_date("2027-01-01"));
  int id = 0;
  for (int cycle : {1, 2, 1}) {
    ++id;
    store.add_account(AccountRow{id, "A" + std::to_string(id), 0, "D", "Ojai", "Ventura", cycle, 0}, 0, std::nullopt);
  }
  store.finish_setup();
  t.commit();
  EXPECT_TRUE(store.import_ranges(0).empty());
}

// Columns read as text: stored text as it is (with a comma, a quote, UTF-8, an empty one),
// numbers as SQLite writes them, NULL as empty.
// The event log's times are UTC (they end in Z) in whatever time zone the machine keeps.
TEST(NowText, IsUtcInAnyLocalTimeZone) {
  const char* before = std::getenv("TZ");
  std::string saved = before ? before : "";
  ::setenv("TZ", "America/Los_Angeles", 1);
  ::tzset();
  std::time_t start = std::time(nullptr);
  std::string text = now_text();
  std::time_t end = std::time(nullptr);
  if (before) ::setenv("TZ", saved.c_str(), 1);
  else ::unsetenv("TZ");
  ::tzset();
  std::tm utc{};
  ASSERT_NE(::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &utc), nullptr) << text;
  std::time_t at = ::timegm(&utc);
  EXPECT_GE(at, start) << text;
  EXPECT_LE(at, end) << text;
}

TEST_F(StoreTest, ColumnsReadAsText) {
  Store store = Store::create(path_);
  auto s = store.db().prepare("SELECT 'Ca\xC3\xB1" "ada, \"Flintridge\"', '', 42, 1.5, NULL, x'414243'");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.view(0), "Ca\xC3\xB1" "ada, \"Flintridge\"");
  EXPECT_EQ(s.text(0), "Ca\xC3\xB1" "ada, \"Flintridge\"");
  EXPECT_EQ(s.view(1), "");
  EXPECT_EQ(s.view(2), "42");
  EXPECT_EQ(s.text(3), "1.5");
  EXPECT_EQ(s.view(4), "");
  EXPECT_EQ(s.text(5), "ABC");
}

TEST_F(StoreTest, AnEffectIsRecordedOncePerTaskAndAccount) {
  make_run();
  Store store = Store::open(path_);
  {
    sql::Transaction t(store.db());
    store.add_effect(1, 1, "notice", *parse_date("2026-12-01"));
    t.commit();
  }
  sql::Transaction t(store.db());
  EXPECT_THROW(store.add_effect(1, 1, "notice", *parse_date("2026-12-02")), sql::Error);
}

// A batch's effects go in many to a statement, the rest one by one: every one recorded once,
// each with its own date (a switch batch's dates differ from account to account).
TEST_F(StoreTest, ManyEffectsAreRecordedEachWithItsDate) {
  make_run();
  Store store = Store::open(path_);
  std::vector<Effect> effects;
  std::size_t n = 2 * Store::kEffectsPerInsert + 5;  // two whole statements and five more
  // Dates that change within a statement, and come back (each bound without a copy).
  for (std::size_t i = 0; i < n; ++i) {
    effects.push_back({static_cast<std::int64_t>(10 + i), *parse_date("2027-03-01") + std::chrono::days(i / 50 + i % 3)});
  }
  {
    sql::Transaction t(store.db());
    store.add_effects(1, "switch", effects);
    store.add_effects(1, "switch", {});
    t.commit();
  }
  auto s = store.db().prepare("SELECT account, kind, on_date FROM effects WHERE task = 1 ORDER BY account");
  std::size_t i = 0;
  for (; s.step(); ++i) {
    ASSERT_LT(i, n);
    EXPECT_EQ(s.integer(0), effects[i].account);
    EXPECT_EQ(s.text(1), "switch");
    EXPECT_EQ(s.text(2), format_date(effects[i].on));
  }
  EXPECT_EQ(i, n);
  sql::Transaction t(store.db());
  EXPECT_THROW(store.add_effects(1, "switch", std::span(effects).subspan(n - 1)), sql::Error);
}

// The reached bits are kept with the effects, whichever way they come: in account order
// across blocks, out of order, one at a time, for two tasks.
TEST_F(StoreTest, TheReachedBitsAreTheTasksEffects) {
  make_run();
  Store store = Store::open(path_);
  Date on = *parse_date("2027-03-01");
  constexpr std::int64_t kBlock = 8 * Store::kReachedBlockBytes;
  std::vector<std::int64_t> first = {1, 5, 63, 64, kBlock - 1, kBlock, kBlock + 1, 3 * kBlock + 7};
  std::vector<std::int64_t> unordered = {2 * kBlock + 9, 2, 5 * kBlock, kBlock + 2};
  auto effects = [&](const std::vector<std::int64_t>& accounts) {
    std::vector<Effect> out;
    for (std::int64_t a : accounts) out.push_back({a, on});
    return out;
  };
  {
    sql::Transaction t(store.db());
    store.add_effects(1, "notice", effects(first));
    store.add_effects(1, "notice", effects(unordered));
    store.add_effect(1, 3 * kBlock + 8, "notice", on);
    store.add_effects(2, "notice", effects({4, kBlock + 2}));
    t.commit();
  }
  auto reached = [&](int task) {
    AccountSet set(6 * kBlock);
    store.reached(task, set);
    std::vector<std::int64_t> out;
    for (std::int64_t id = 0; id <= 6 * kBlock; ++id) {
      if (set.contains(id)) out.push_back(id);
    }
    return out;
  };
  std::vector<std::int64_t> want = first;
  want.insert(want.end(), unordered.begin(), unordered.end());
  want.push_back(3 * kBlock + 8);
  std::sort(want.begin(), want.end());
  EXPECT_EQ(reached(1), want);
  EXPECT_EQ(reached(2), (std::vector<std::int64_t>{4, kBlock + 2}));
  EXPECT_TRUE(reached(3).empty());
  auto blocks = store.db().prepare("SELECT count(*), min(length(bits)), max(length(bits)) FROM reached WHERE task = 1");
  ASSERT_TRUE(blocks.step());
  EXPECT_EQ(blocks.integer(0), 5);  // blocks 0, 1, 2, 3 and 5: one row each
  EXPECT_EQ(blocks.integer(1), Store::kReachedBlockBytes);
  EXPECT_EQ(blocks.integer(2), Store::kReachedBlockBytes);
  // An effect refused (recorded already) leaves the bits as they were, with the rest of its
  // transaction.
  {
    sql::Transaction t(store.db());
    EXPECT_THROW(store.add_effects(1, "notice", effects({6 * kBlock, 1})), sql::Error);
  }
  EXPECT_EQ(reached(1), want);
}

// A run of schema version 1, last changed by a ccaflow that kept neither the reached bits
// nor request_files (nor a mark's `done`): read as it is, and brought up to this version,
// its derived tables built from the rows they count, when opened to change. An older
// ccaflow refuses a newer version (RefusesWhatItCannotUse shows the message).
TEST_F(StoreTest, ARunOfVersionOneIsBroughtUpToThisVersionWhenOpenedToChange) {
  make_run();
  {
    Store store = Store::open(path_);
    store.db().exec("INSERT INTO effects VALUES (1, 1, 'notice', '2027-03-01'), (1, 9000, 'notice', '2027-03-01'), "
                    "(2, 7, 'ccasr', '2027-03-02');"
                    "INSERT INTO requests (account, type, effective_on, not_before, state, sent_on, file, reason) VALUES "
                    "(1, 'cancel', '2027-05-10', '2027-05-05', 'sent', '2027-05-05', 'ccasr/requests.2027-05-05.814', 'r');"
                    "INSERT INTO merge_marks (name, task, rows, through, bytes, sha256) VALUES ('notices/x.csv', 1, 2, 9000, 200, 'abc');"
                    "ALTER TABLE merge_marks DROP COLUMN done; ALTER TABLE merge_marks DROP COLUMN sha256_state;"
                    "ALTER TABLE merge_marks DROP COLUMN xxh3;"
                    "DROP TABLE reached; DROP TABLE request_files; PRAGMA user_version = 1");
  }
  {
    Store store = Store::open(path_, true);
    EXPECT_EQ(store.db().user_version(), 1);
    auto s = store.db().prepare("SELECT count(*) FROM sqlite_schema WHERE name IN ('reached', 'request_files')");
    ASSERT_TRUE(s.step());
    EXPECT_EQ(s.integer(0), 0) << "a read changes nothing";
  }
  Store store = Store::open(path_);
  EXPECT_EQ(store.db().user_version(), kSchemaVersion);
  AccountSet one(10000), two(10000);
  store.reached(1, one);
  store.reached(2, two);
  for (std::int64_t id : {1, 9000}) EXPECT_TRUE(one.contains(id)) << id;
  EXPECT_FALSE(one.contains(7));
  EXPECT_TRUE(two.contains(7));
  EXPECT_FALSE(two.contains(1));
  auto files = store.db().prepare("SELECT name, rows FROM request_files");
  ASSERT_TRUE(files.step());
  EXPECT_EQ(files.text(0), "ccasr/requests.2027-05-05.814");
  EXPECT_EQ(files.integer(1), 1);
  std::optional<Store::MergeMark> mark = store.merge_mark("notices/x.csv");
  ASSERT_TRUE(mark);
  EXPECT_EQ(mark->rows, 2);
  EXPECT_FALSE(mark->done) << "a mark of version 1 has its rows counted";
  EXPECT_TRUE(mark->xxh3.empty() && mark->sha256_state.empty()) << "and its bytes checked by their SHA-256";
  store.set_merge_mark("notices/x.csv", 1, Store::MergeMark{3, 9001, 300, "def", "", "", 5});
  EXPECT_EQ(store.merge_mark("notices/x.csv")->done, 5);
}

// A run of schema version 2 gains the marks' SHA-256 state and XXH3 when opened to change;
// its marks, which have neither, are checked by their SHA-256. Nothing else is rebuilt.
TEST_F(StoreTest, ARunOfVersionTwoGainsTheMarksFastCheck) {
  make_run();
  {
    Store store = Store::open(path_);
    store.db().exec("INSERT INTO merge_marks (name, task, rows, through, bytes, sha256, done) "
                    "VALUES ('notices/x.csv', 1, 2, 9000, 200, 'abc', 7);"
                    "ALTER TABLE merge_marks DROP COLUMN sha256_state; ALTER TABLE merge_marks DROP COLUMN xxh3;"
                    "INSERT INTO reached VALUES (1, 0, x'ff'); PRAGMA user_version = 2");
  }
  {
    Store store = Store::open(path_, true);
    EXPECT_EQ(store.db().user_version(), 2) << "a read changes nothing";
  }
  Store store = Store::open(path_);
  EXPECT_EQ(store.db().user_version(), kSchemaVersion);
  std::optional<Store::MergeMark> mark = store.merge_mark("notices/x.csv");
  ASSERT_TRUE(mark);
  EXPECT_EQ(mark->done, 7);
  EXPECT_EQ(mark->sha256, "abc");
  EXPECT_TRUE(mark->xxh3.empty() && mark->sha256_state.empty());
  AccountSet one(100);
  store.reached(1, one);
  EXPECT_TRUE(one.contains(7)) << "the reached bits are kept, not built again from the (missing) effects";
  Store::MergeMark fast{3, 9001, 300, "def", std::string(64, 'a'), "0123456789abcdef", 8};
  store.set_merge_mark("notices/x.csv", 1, fast);
  mark = store.merge_mark("notices/x.csv");
  EXPECT_EQ(mark->sha256_state, fast.sha256_state);
  EXPECT_EQ(mark->xxh3, fast.xxh3);
  store.set_merge_mark("notices/x.csv", 1, Store::MergeMark{4, 9002, 400, "ghi", "", "", 9});
  EXPECT_TRUE(store.merge_mark("notices/x.csv")->xxh3.empty()) << "a mark without them replaces one with them whole";
}

// A commit leaves the WAL to grow to 10,000 pages; the copy made while waiting for a file
// empties it of what no reader needs.
TEST_F(StoreTest, TheWalIsCopiedWhileWaiting) {
  make_run();
  Store store = Store::open(path_);
  auto pragma = store.db().prepare("PRAGMA wal_autocheckpoint");
  ASSERT_TRUE(pragma.step());
  EXPECT_EQ(pragma.integer(0), 10000);
  pragma.reset();
  std::vector<Effect> effects;
  for (std::int64_t a = 1; a <= 20000; ++a) effects.push_back({a, *parse_date("2027-03-01")});
  {
    sql::Transaction t(store.db());
    store.add_effects(1, "notice", effects);
    t.commit();
  }
  // The commit did not copy its pages (fewer than 10,000): the wait copies them all.
  int copied = store.checkpoint_while_waiting();
  EXPECT_GT(copied, 50);
  int logged = 0, again = 0;
  sqlite3_wal_checkpoint_v2(store.db().handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &logged, &again);
  EXPECT_EQ(logged, copied);
  EXPECT_EQ(again, copied) << "nothing was left to copy";
}

// Every daily run asks these for each post-enrollment notice. They must read switch_dates
// (a few rows) and then accounts by id, never the phase's accounts with a probe each.
TEST_F(StoreTest, OwnSwitchDatesAreReadFromTheirTableFirst) {
  make_run();
  Store store = Store::open(path_);
  {
    sql::Transaction t(store.db());
    for (int i = 2; i <= 500; ++i) {
      store.add_account(AccountRow{i, "A" + std::to_string(i), 0, "D", "Ojai", "Ventura", 1 + i % 21, 0}, 0, std::nullopt);
    }
    store.db().exec("INSERT INTO switch_dates VALUES (300, '2027-02-10', 'move-in'), (42, '2027-03-05', 'retry')");
    t.commit();
  }
  auto own = store.own_switch_dates(0);
  ASSERT_EQ(own.size(), 2u);
  EXPECT_EQ(own[0].account, 42);
  EXPECT_EQ(own[0].cycle, 1 + 42 % 21);
  EXPECT_EQ(own[1].on, parse_date("2027-02-10"));
  EXPECT_TRUE(store.own_switch_dates(1).empty());
  EXPECT_FALSE(store.own_switch_due(0, *parse_date("2027-02-09")));
  EXPECT_TRUE(store.own_switch_due(0, *parse_date("2027-02-10")));
  for (const char* sql : {Store::kOwnSwitchDatesSql, Store::kOwnSwitchDueSql}) {
    auto plan = store.db().prepare(std::string("EXPLAIN QUERY PLAN ") + sql);
    std::vector<std::string> steps;
    while (plan.step()) steps.push_back(plan.text(3));
    ASSERT_GE(steps.size(), 2u) << sql;
    EXPECT_EQ(steps[0].rfind("SCAN d", 0), 0u) << steps[0];
    EXPECT_NE(steps[1].find("SEARCH a USING INTEGER PRIMARY KEY"), std::string::npos) << steps[1];
  }
}

// The latest as-of date is read for every row of an ingest, which appends an event per row:
// it must come from an index, in a new run and in one created before the index existed.
TEST_F(StoreTest, TheLatestAsOfDateIsReadFromAnIndex) {
  make_run();
  auto uses_index = [&](Store& store) {
    auto plan = store.db().prepare("EXPLAIN QUERY PLAN SELECT detail FROM events WHERE kind = 'as_of' ORDER BY seq DESC LIMIT 1");
    bool searched = false;
    while (plan.step()) searched = searched || plan.text(3).find("USING INDEX events_by_kind") != std::string::npos;
    return searched;
  };
  {
    Store store = Store::open(path_);
    EXPECT_TRUE(uses_index(store));
    sql::Transaction t(store.db());
    store.event("system", std::nullopt, "as_of", "2027-01-04");
    for (int i = 0; i < 100; ++i) store.event("ingest", std::nullopt, "optout", "a row");
    t.commit();
    EXPECT_EQ(store.last_as_of(), std::optional<std::string>("2027-01-04"));
    store.db().exec("DROP INDEX events_by_kind");  // as a run created by an earlier ccaflow
  }
  {
    Store store = Store::open(path_, true);  // reading only: nothing is added
    EXPECT_FALSE(uses_index(store));
    EXPECT_EQ(store.last_as_of(), std::optional<std::string>("2027-01-04"));
  }
  Store store = Store::open(path_);
  EXPECT_TRUE(uses_index(store));
}

// Indexes added after the first runs were created reach an older run on its next change.
TEST_F(StoreTest, AnOlderRunGetsTheLaterIndexesWhenOpenedToChange) {
  make_run();
  auto indexes = [&](Store& store) {
    std::vector<std::string> names;
    auto s = store.db().prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name IN "
                                "('events_by_kind', 'requests_queued', 'requests_connects', 'requests_by_file', 'optouts_in_force', "
                                "'requests_cancels_sent', 'responses_rejected_connects') ORDER BY name");
    while (s.step()) names.push_back(s.text(0));
    return names;
  };
  std::vector<std::string> all = {"events_by_kind",  "optouts_in_force", "requests_by_file",           "requests_cancels_sent",
                                  "requests_connects", "requests_queued",  "responses_rejected_connects"};
  {
    Store store = Store::open(path_);
    EXPECT_EQ(indexes(store), all);
    // The executor's read of the opt-outs in force goes through their index, not the rows.
    {
      auto plan = store.db().prepare("EXPLAIN QUERY PLAN SELECT account FROM optouts WHERE kind <> 'rejected' AND taken_on <= ?");
      ASSERT_TRUE(plan.step());
      EXPECT_NE(plan.text(3).find("COVERING INDEX optouts_in_force"), std::string::npos) << plan.text(3);
    }
    store.db().exec("DROP INDEX events_by_kind; DROP INDEX requests_queued; DROP INDEX requests_connects; DROP INDEX requests_by_file; "
                    "DROP INDEX optouts_in_force; DROP INDEX requests_cancels_sent; DROP INDEX responses_rejected_connects");
  }
  {
    Store store = Store::open(path_, true);
    EXPECT_TRUE(indexes(store).empty());
  }
  Store store = Store::open(path_);
  EXPECT_EQ(indexes(store), all);
}

TEST_F(StoreTest, AnOlderRunGetsTheNoticeCoversAndTheirTriggersWhenOpenedToChange) {
  make_run();
  const char* later = "SELECT count(*) FROM sqlite_master WHERE name IN ('notice_cycles', 'withdrawals', 'open_accounts', "
                      "'optout_removed', 'optout_changed', 'own_switch_removed', 'own_switch_moved', 'import_ranges', 'merge_marks')";
  auto count = [](Store& store, const char* sql) {
    auto s = store.db().prepare(sql);
    s.step();
    return s.integer(0);
  };
  {
    Store store = Store::open(path_);
    EXPECT_EQ(count(store, later), 9);
    store.db().exec("DROP TABLE notice_cycles; DROP TABLE open_accounts; DROP TRIGGER optout_removed; DROP TRIGGER optout_changed; "
                    "DROP TRIGGER own_switch_removed; DROP TRIGGER own_switch_moved; DROP TABLE withdrawals; "
                    "DROP TABLE import_ranges; DROP TABLE merge_marks");
  }
  Store store = Store::open(path_);
  EXPECT_EQ(count(store, later), 9);
  EXPECT_TRUE(store.import_ranges(0).empty());  // an older run has none: its accounts are read from the phase index
}

// A run made before request_files gets it filled from its sent requests, once: a later open
// leaves it as the executor keeps it.
TEST_F(StoreTest, AnOlderRunGetsItsRequestFilesCountedWhenOpenedToChange) {
  make_run();
  auto files = [](Store& store) {
    std::vector<std::string> out;
    auto s = store.db().prepare("SELECT name || ':' || rows FROM request_files ORDER BY name");
    while (s.step()) out.push_back(s.text(0));
    return out;
  };
  {
    Store store = Store::open(path_);
    EXPECT_TRUE(files(store).empty());
    store.db().exec("INSERT INTO accounts (id, account, customer_class, rate_schedule, city, county, read_cycle, flags) "
                    "VALUES (2, 'A2', 0, 'D', 'Ojai', 'Ventura', 3, 0);"
                    "INSERT INTO requests (account, type, effective_on, not_before, state, sent_on, file, reason) VALUES "
                    "(1, 'cancel', '2027-05-10', '2027-05-05', 'sent', '2027-05-05', 'ccasr/requests.2027-05-05.814', 'r'),"
                    "(2, 'cancel', '2027-05-10', '2027-05-05', 'refused', NULL, 'ccasr/requests.2027-05-05.814', 'r'),"
                    "(2, 'disconnect', '2027-06-08', '2027-05-10', 'sent', '2027-05-10', 'ccasr/requests.2027-05-10.814', 'r'),"
                    "(1, 'disconnect', '2027-06-08', '2027-05-10', 'queued', NULL, NULL, 'r');"
                    "DROP TABLE request_files");
  }
  std::vector<std::string> want = {"ccasr/requests.2027-05-05.814:2", "ccasr/requests.2027-05-10.814:1"};
  {
    Store store = Store::open(path_);
    EXPECT_EQ(files(store), want);
    store.db().exec("UPDATE request_files SET rows = 7 WHERE name = 'ccasr/requests.2027-05-10.814'");
  }
  Store store = Store::open(path_);
  want[1] = "ccasr/requests.2027-05-10.814:7";
  EXPECT_EQ(files(store), want);  // filled once, not again
}

TEST_F(StoreTest, EveryChangeThatCanReturnAnAccountPassedOverIsCounted) {
  make_run();
  Store store = Store::open(path_);
  EXPECT_EQ(store.withdrawals(), 0);
  store.db().exec("INSERT INTO ingests VALUES (1, 'optouts', 'o.csv', 'h', 1, 'now');"
                  "INSERT INTO optouts VALUES (1, '2027-01-05', 'web', 'pre', '2027-01-05', 0, NULL, NULL, 'r', 1, 2);"
                  "INSERT INTO switch_dates VALUES (1, '2027-02-03', 'response')");
  EXPECT_EQ(store.withdrawals(), 0) << "new opt-outs and switch dates only pass more accounts over";
  store.db().exec("UPDATE optouts SET rule = 'r2', cycle_end = '2027-02-01'");
  EXPECT_EQ(store.withdrawals(), 0) << "a change of the rule's text returns no account";
  store.db().exec("UPDATE optouts SET taken_on = '2027-03-01'");
  EXPECT_EQ(store.withdrawals(), 1);
  store.db().exec("UPDATE optouts SET kind = 'rejected'");
  EXPECT_EQ(store.withdrawals(), 2);
  store.db().exec("UPDATE optouts SET taken_on = '2027-03-02'; DELETE FROM optouts");
  EXPECT_EQ(store.withdrawals(), 2) << "a rejected opt-out passed no account over";
  store.db().exec("INSERT INTO optouts VALUES (1, '2027-01-05', 'web', 'pre', '2027-01-05', 0, NULL, NULL, 'r', 1, 3);"
                  "DELETE FROM optouts");
  EXPECT_EQ(store.withdrawals(), 3);
  store.db().exec("UPDATE switch_dates SET on_date = '2027-02-04'");
  EXPECT_EQ(store.withdrawals(), 3) << "the account still has a switch date of its own";
  store.db().exec("DELETE FROM switch_dates");
  EXPECT_EQ(store.withdrawals(), 4);
  auto what = store.db().prepare("SELECT account, what FROM withdrawals ORDER BY seq");
  std::vector<std::string> seen;
  while (what.step()) seen.push_back(std::to_string(what.integer(0)) + " " + what.text(1));
  EXPECT_EQ(seen, (std::vector<std::string>{"1 opt-out changed", "1 opt-out changed", "1 opt-out removed", "1 own switch date removed"}));
  store.db().exec("DELETE FROM withdrawals");
  EXPECT_EQ(store.withdrawals(), 4) << "the count never goes back";
}

TEST_F(StoreTest, ACoverAndAnOpenAccountAreKeptPerTask) {
  make_run();
  Store store = Store::open(path_);
  EXPECT_TRUE(store.covered_cycles(1).empty());
  EXPECT_FALSE(store.open_account(1));
  store.cover_cycle(1, {3, 7, 120, 2, *parse_date("2027-02-03")});
  store.cover_cycle(1, {2, 6, 10, 0, *parse_date("2027-02-02")});
  store.cover_cycle(1, {3, 7, 121, 2, *parse_date("2027-02-04")});  // the same cycle again: replaced
  std::vector<Store::CoveredCycle> covered = store.covered_cycles(1);
  ASSERT_EQ(covered.size(), 2u);
  EXPECT_EQ(covered[0].cycle, 2);
  EXPECT_EQ(covered[1].cycle, 3);
  EXPECT_EQ(covered[1].switch_task, 7);
  EXPECT_EQ(covered[1].switched, 121);
  EXPECT_EQ(covered[1].withdrawals, 2);
  EXPECT_EQ(covered[1].as_of, *parse_date("2027-02-04"));
  EXPECT_TRUE(store.covered_cycles(2).empty());
  store.set_open_account(1, 40);
  store.set_open_account(1, 41);
  EXPECT_EQ(store.open_account(1), 41);
  EXPECT_FALSE(store.open_account(2));
}

TEST_F(StoreTest, RefusesWhatItCannotUse) {
  make_run();
  {
    Store store = Store::open(path_);
    store.db().exec("PRAGMA user_version = 7");
  }
  try {
    Store::open(path_);
    FAIL() << "a newer schema was opened";
  } catch (const SchemaError& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 7"), std::string::npos) << e.what();
  }
  std::string empty = (dir_ / "empty.db").string();
  { Store::create(empty); }
  EXPECT_THROW(Store::open(empty), SchemaError);
}

TEST_F(StoreTest, OneWriterAtATime) {
  std::string holder;
  bool busy = false;
  auto first = RunLock::acquire(path_, "ccaflow run", holder, busy);
  ASSERT_TRUE(first);
  auto second = RunLock::acquire(path_, "ccaflow approve", holder, busy);
  EXPECT_FALSE(second);
  EXPECT_TRUE(busy);
  EXPECT_NE(holder.find("ccaflow run"), std::string::npos) << holder;
  EXPECT_NE(holder.find("pid "), std::string::npos) << holder;
  EXPECT_TRUE(holder.ends_with(" UTC")) << holder;  // read back without the note's padding
  first.reset();
  EXPECT_TRUE(RunLock::acquire(path_, "ccaflow approve", holder, busy));
  // Another name for the same database file leads to the same lock.
  make_run();
  auto by_path = RunLock::acquire(path_, "ccaflow run", holder, busy);
  ASSERT_TRUE(by_path);
  fs::create_symlink(path_, dir_ / "link.db");
  EXPECT_FALSE(RunLock::acquire((dir_ / "link.db").string(), "ccaflow run", holder, busy));
  // The holder's own note, over the longer one before it.
  EXPECT_TRUE(holder.find("ccaflow run, since ") != std::string::npos && holder.find("approve") == std::string::npos) << holder;
  by_path.reset();
  {  // a note longer than the padded width (none is today) is cut, not left behind a shorter one
    std::ofstream note(path_ + ".lock", std::ios::trunc);
    note << std::string(300, 'x');
  }
  auto after = RunLock::acquire(path_, "ccaflow run", holder, busy);
  ASSERT_TRUE(after);
  EXPECT_EQ(fs::file_size(path_ + ".lock"), 128u);
  fs::create_hard_link(path_, dir_ / "hard.db");
  EXPECT_FALSE(RunLock::acquire((dir_ / "hard.db").string(), "ccaflow run", holder, busy));
  EXPECT_TRUE(busy);
}

}  // namespace
}  // namespace ccaflow
