#include "runtime/outbox.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace ccaflow {
namespace {

namespace fs = std::filesystem;

TEST(X12, OneTransactionPerAccountWithCountsAndControlNumbers) {
  Ccasr814 b;
  b.cca_code = "CPA";
  b.cca_name = "Clean Power Alliance";
  b.cca_duns = "123456789";
  b.utility_code = "SCE";
  b.utility_name = "Southern California Edison";
  b.control_number = 42;
  b.created = *parse_date("2027-02-22");
  b.reference_prefix = "CPA00042";
  b.lines = {{"8000000001", *parse_date("2027-03-01")}, {"8000000002", *parse_date("2027-03-03"), Ccasr814::Type::kDisconnect}};
  EXPECT_EQ(x12_814(b),
            "ISA*00*          *00*          *ZZ*CPA            *ZZ*SCE            *270222*0000*U*00401*000000042*0*P*>~\n"
            "GS*GE*CPA*SCE*20270222*0000*42*X*004010~\n"
            "ST*814*0001~\n"
            "BGN*13*CPA000420001*20270222~\n"
            "N1*8S*Southern California Edison~\n"
            "N1*SJ*Clean Power Alliance*1*123456789~\n"
            "LIN*1*SH*EL*SH*CE~\n"
            "ASI*7*021~\n"
            "REF*12*8000000001~\n"
            "DTM*151*20270301~\n"
            "SE*9*0001~\n"
            "ST*814*0002~\n"
            "BGN*13*CPA000420002*20270222~\n"
            "N1*8S*Southern California Edison~\n"
            "N1*SJ*Clean Power Alliance*1*123456789~\n"
            "LIN*2*SH*EL*SH*CE~\n"
            "ASI*7*024~\n"
            "REF*12*8000000002~\n"
            "DTM*151*20270303~\n"
            "SE*9*0002~\n"
            "GE*2*42~\n"
            "IEA*1*000000042~\n");
}

TEST(X12, NumbersPastFourDigitsWidenAndEveryLineHasItsDate) {
  Ccasr814 b;
  b.cca_code = "CPA";
  b.utility_code = "SCE";
  b.control_number = 7;
  b.created = *parse_date("2027-02-22");
  b.reference_prefix = "CPA00007";
  for (int i = 1; i <= 10001; ++i) {
    b.lines.push_back({fmt::format("8{:09}", i), *parse_date(i <= 5000 ? "2027-03-01" : "2027-04-01"),
                       i == 10000 ? Ccasr814::Type::kCancel : Ccasr814::Type::kConnect});
  }
  std::string text = x12_814(b);
  EXPECT_NE(text.find("ST*814*9999~\nBGN*13*CPA000079999*20270222~\nN1*8S*~\nN1*SJ*~\nLIN*9999*SH*EL*SH*CE~\nASI*7*021~\n"
                      "REF*12*8000009999~\nDTM*151*20270401~\nSE*9*9999~\n"), std::string::npos);
  EXPECT_NE(text.find("ST*814*10000~\nBGN*01*CPA0000710000*20270222~\nN1*8S*~\nN1*SJ*~\nLIN*10000*SH*EL*SH*CE~\nASI*7*021~\n"
                      "REF*12*8000010000~\nDTM*151*20270401~\nSE*9*10000~\n"), std::string::npos);
  EXPECT_NE(text.find("REF*12*8000005000~\nDTM*151*20270301~\n"), std::string::npos);
  EXPECT_TRUE(text.ends_with("SE*9*10001~\nGE*10001*7~\nIEA*1*000000007~\n"));
  // Written in pieces of about a megabyte, each ending with a whole segment, that make up the same text.
  for (int i = 10002; i <= 30000; ++i) b.lines.push_back({fmt::format("8{:09}", i), *parse_date("2027-04-01"), Ccasr814::Type::kUpdate});
  std::vector<std::string> pieces;
  write_x12_814(b, [&](std::string_view piece) { pieces.emplace_back(piece); });
  ASSERT_GE(pieces.size(), 3u);
  std::string whole;
  for (const std::string& piece : pieces) {
    EXPECT_LE(piece.size(), (1u << 20) + 4096);
    EXPECT_TRUE(piece.ends_with("~\n"));
    whole += piece;
  }
  EXPECT_EQ(whole, x12_814(b));
  EXPECT_NE(whole.find("ST*814*30000~\nBGN*13*CPA0000730000*20270222~\nN1*8S*~\nN1*SJ*~\nLIN*30000*SH*EL*SH*CE~\nASI*7*001~\n"
                       "REF*12*8000030000~\nDTM*151*20270401~\nSE*9*30000~\nGE*30000*7~\n"), std::string::npos);
}

TEST(MailMerge, QuotesFieldsThatNeedIt) {
  MailMerge merge("opt_out.first", "letters/t1, \"plain\"", "cca", *parse_date("2027-01-04"));
  merge.add("A\"1", 0, "D", "Rancho Palos Verdes, unincorporated", "Los Angeles", 3);
  merge.add("A2", 4, "TC-1", "Oxnard", "Ventura", 21);
  EXPECT_EQ(merge.rows(), 2);
  std::string text;
  merge.drain([&](std::string_view piece) { text += piece; });
  EXPECT_EQ(text,
            "account,customer_class,rate_schedule,city,county,read_cycle,notice,template,sender,send_date\r\n"
            "\"A\"\"1\",residential,D,\"Rancho Palos Verdes, unincorporated\",Los Angeles,3,opt_out.first,"
            "\"letters/t1, \"\"plain\"\"\",cca,2027-01-04\r\n"
            "A2,municipal,TC-1,Oxnard,Ventura,21,opt_out.first,\"letters/t1, \"\"plain\"\"\",cca,2027-01-04\r\n");
}

TEST(Outbox, WritesWholeFilesWithPrivateModes) {
  fs::path root = fs::temp_directory_path() / ("ccaflow_outbox_" + std::to_string(::getpid()));
  fs::remove_all(root);
  Outbox outbox(root.string());
  outbox.write("ccasr/a.814", "first");
  outbox.write("ccasr/a.814", "second, replacing the first");
  std::ifstream in(root / "ccasr" / "a.814");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "second, replacing the first");
  EXPECT_FALSE(fs::exists(root / "ccasr" / "a.814.tmp"));
  struct stat info {};
  ASSERT_EQ(::stat((root / "ccasr").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((root / "ccasr" / "a.814").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::ofstream(root / "notices");  // a file where a folder must go
  EXPECT_THROW(outbox.write("notices/x.csv", "x"), std::runtime_error);
  fs::remove_all(root);
}

TEST(Outbox, StreamsAFileInPiecesAndRecordsItsSizeAndDigest) {
  fs::path root = fs::temp_directory_path() / ("ccaflow_outbox_stream_" + std::to_string(::getpid()));
  fs::remove_all(root);
  Outbox outbox(root.string());
  std::string whole;
  {
    OutboxWriter file = outbox.create("notices/big.csv");
    for (int i = 0; i < 60000; ++i) {  // about 2.3 MB: more than one chunk reaches the disk before the end
      std::string line = "account " + std::to_string(i) + ",residential,D,Ojai,Ventura,3\r\n";
      file.append(line);
      whole += line;
    }
    EXPECT_FALSE(fs::exists(root / "notices" / "big.csv"));  // nothing in place before the commit
    Written written = file.commit();
    EXPECT_EQ(written.bytes, static_cast<std::int64_t>(whole.size()));
    EXPECT_EQ(written.sha256, sha256_hex(whole));
  }
  std::ifstream in(root / "notices" / "big.csv", std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), whole);
  EXPECT_FALSE(fs::exists(root / "notices" / "big.csv.tmp"));

  // A file abandoned half-written (an exception on the way) leaves the earlier file as it was.
  {
    OutboxWriter file = outbox.create("notices/big.csv");
    file.append(std::string(3 << 20, 'x'));
    EXPECT_TRUE(fs::exists(root / "notices" / "big.csv.tmp"));
  }
  EXPECT_FALSE(fs::exists(root / "notices" / "big.csv.tmp"));
  EXPECT_EQ(fs::file_size(root / "notices" / "big.csv"), whole.size());
  fs::remove_all(root);
}

TEST(Outbox, RemovesTheUnfinishedFilesAKilledProcessLeft) {
  fs::path root = fs::temp_directory_path() / ("ccaflow_outbox_unfinished_" + std::to_string(::getpid()));
  fs::remove_all(root);
  Outbox outbox(root.string());
  EXPECT_EQ(outbox.remove_unfinished(), 0);  // no folders yet
  outbox.write("notices/n.2027-01-04.csv", "a\r\n");
  outbox.write("ccasr/c01.814", "ISA~\n");
  for (const char* left : {"notices/n.2027-01-05.csv.tmp", "ccasr/c02.814.tmp"}) std::ofstream(root / left) << "half";
  std::ofstream(root / "notes.tmp") << "not a folder of the run's files";
  EXPECT_EQ(outbox.remove_unfinished(), 2);
  EXPECT_FALSE(fs::exists(root / "notices" / "n.2027-01-05.csv.tmp"));
  EXPECT_FALSE(fs::exists(root / "ccasr" / "c02.814.tmp"));
  EXPECT_TRUE(fs::exists(root / "notices" / "n.2027-01-04.csv"));
  EXPECT_TRUE(fs::exists(root / "ccasr" / "c01.814"));
  EXPECT_TRUE(fs::exists(root / "notes.tmp"));

  // One a later run may go on writing is kept.
  for (const char* left : {"notices/n.2027-01-05.csv.tmp", "notices/n.2027-01-06.csv.tmp"}) std::ofstream(root / left) << "half";
  EXPECT_EQ(outbox.remove_unfinished({"notices/n.2027-01-06.csv"}), 1);
  EXPECT_FALSE(fs::exists(root / "notices" / "n.2027-01-05.csv.tmp"));
  EXPECT_TRUE(fs::exists(root / "notices" / "n.2027-01-06.csv.tmp"));
  fs::remove_all(root);
}

std::string lines(int from, int to) {
  std::string text;
  for (int i = from; i < to; ++i) text += "account " + std::to_string(i) + ",residential,D,Ojai,Ventura,3\r\n";
  return text;
}

std::string contents(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(Outbox, GoesOnWithTheFileAKilledProcessLeftAfterTheBytesItKept) {
  fs::path root = fs::temp_directory_path() / ("ccaflow_outbox_reopen_" + std::to_string(::getpid()));
  fs::remove_all(root);
  Outbox outbox(root.string());
  fs::path tmp = root / "notices" / "n.csv.tmp";
  std::string kept = lines(0, 40000), more = lines(40000, 50000), rest = lines(50000, 70000);  // over a megabyte each side
  WrittenSoFar mark;
  {
    // What a writer reports so far is on FILE.tmp already: its bytes, their digest, their
    // XXH3 and the digest's state after their whole blocks.
    OutboxWriter file = outbox.create("notices/n.csv");
    file.append(kept);
    mark = file.written_so_far();
    EXPECT_EQ(mark.bytes, static_cast<std::int64_t>(kept.size()));
    EXPECT_EQ(mark.sha256, sha256_hex(kept));
    EXPECT_EQ(mark.xxh3, xxh3_hex(kept));
    ASSERT_NE(kept.size() % 64, 0u);  // (so that the bytes after the last whole block count)
    std::optional<Sha256> resumed = Sha256::resumed(mark.sha256_state, mark.bytes - mark.bytes % 64);
    ASSERT_TRUE(resumed);
    resumed->update(kept.substr(kept.size() - kept.size() % 64));
    EXPECT_EQ(resumed->hex(), mark.sha256);
    EXPECT_EQ(fs::file_size(tmp), kept.size());
  }
  // A killed process left the kept bytes and half a line past them.
  std::ofstream(tmp, std::ios::binary) << kept << "account 40000,resid";
  auto with = [&mark](auto change) {
    WrittenSoFar m = mark;
    change(m);
    return m;
  };
  EXPECT_FALSE(outbox.reopen("notices/n.csv", with([](WrittenSoFar& m) { m.xxh3 = xxh3_hex("other bytes"); })));
  EXPECT_FALSE(outbox.reopen("notices/n.csv", with([](WrittenSoFar& m) { m.sha256 = sha256_hex("other bytes"); })));
  EXPECT_FALSE(outbox.reopen("notices/n.csv", with([](WrittenSoFar& m) { m.sha256_state = Sha256().state(); })));
  EXPECT_FALSE(outbox.reopen("notices/n.csv", with([](WrittenSoFar& m) { m.sha256_state = "not a state"; })));
  EXPECT_FALSE(outbox.reopen("notices/n.csv", with([](WrittenSoFar& m) { m.bytes += 100; })));  // past the file's end
  EXPECT_FALSE(outbox.reopen("notices/other.csv", mark));                                        // no such file
  EXPECT_EQ(fs::file_size(tmp), kept.size() + 19);  // an unusable file is left as it was
  {
    std::optional<OutboxWriter> file = outbox.reopen("notices/n.csv", mark);
    ASSERT_TRUE(file);
    EXPECT_EQ(fs::file_size(tmp), kept.size());  // the half line is cut off
    file->append(more);
    // Its marks go on from the kept bytes, so a second kill can be gone on from as well.
    mark = file->written_so_far();
    EXPECT_EQ(mark.bytes, static_cast<std::int64_t>(kept.size() + more.size()));
    EXPECT_EQ(mark.sha256, sha256_hex(kept + more));
    EXPECT_EQ(mark.xxh3, xxh3_hex(kept + more));
  }
  std::ofstream(tmp, std::ios::binary) << kept << more;
  {
    std::optional<OutboxWriter> file = outbox.reopen("notices/n.csv", mark);
    ASSERT_TRUE(file);
    file->append(rest);
    Written written = file->commit();
    EXPECT_EQ(written.bytes, static_cast<std::int64_t>(kept.size() + more.size() + rest.size()));
    EXPECT_EQ(written.sha256, sha256_hex(kept + more + rest));  // the digest of the whole file
  }
  EXPECT_EQ(contents(root / "notices" / "n.csv"), kept + more + rest);
  EXPECT_FALSE(fs::exists(tmp));
  fs::remove_all(root);
}

// A changed byte anywhere in the kept bytes (in their whole blocks, which the digest's state
// stands for unread, or after them) leaves the file to be written again; a mark without the
// state and XXH3 (schema version 2) is checked against its SHA-256.
TEST(Outbox, KeepsNoBytesThatChangedSinceTheMark) {
  fs::path root = fs::temp_directory_path() / ("ccaflow_outbox_changed_" + std::to_string(::getpid()));
  fs::remove_all(root);
  Outbox outbox(root.string());
  fs::path tmp = root / "notices" / "n.csv.tmp";
  std::string kept = lines(0, 30000);
  WrittenSoFar mark;
  {
    OutboxWriter file = outbox.create("notices/n.csv");
    file.append(kept);
    mark = file.written_so_far();
  }
  for (std::size_t at : {std::size_t{0}, kept.size() / 2, kept.size() - kept.size() % 64 - 1, kept.size() - 1}) {
    std::string changed = kept;
    changed[at] = changed[at] == 'x' ? 'y' : 'x';
    std::ofstream(tmp, std::ios::binary) << changed;
    EXPECT_FALSE(outbox.reopen("notices/n.csv", mark)) << at;
    EXPECT_EQ(contents(tmp), changed) << at;  // left as it was
  }
  WrittenSoFar older{mark.bytes, mark.sha256, "", ""};
  std::string changed = kept;
  changed[kept.size() / 2] = 'x';
  std::ofstream(tmp, std::ios::binary) << changed;
  EXPECT_FALSE(outbox.reopen("notices/n.csv", older));
  std::ofstream(tmp, std::ios::binary) << kept;
  {
    std::optional<OutboxWriter> file = outbox.reopen("notices/n.csv", older);
    ASSERT_TRUE(file);
    file->append("last\r\n");
    EXPECT_EQ(file->written_so_far().xxh3, xxh3_hex(kept + "last\r\n"));
    EXPECT_EQ(file->commit().sha256, sha256_hex(kept + "last\r\n"));
  }
  fs::remove_all(root);
}

TEST(MailMerge, HandsOverItsTextInPieces) {
  MailMerge merge("n", "t", "cca", *parse_date("2027-01-04"));
  merge.add("A1", 0, "D", "Ojai", "Ventura", 3);
  std::string text;
  auto into_text = [&](std::string_view piece) { text += piece; };
  merge.drain(into_text);
  EXPECT_EQ(merge.buffered(), 0u);
  merge.add("A2", 0, "D", "Ojai", "Ventura", 4);
  EXPECT_EQ(merge.rows(), 2);
  merge.drain(into_text);
  EXPECT_EQ(text,
            "account,customer_class,rate_schedule,city,county,read_cycle,notice,template,sender,send_date\r\n"
            "A1,residential,D,Ojai,Ventura,3,n,t,cca,2027-01-04\r\n"
            "A2,residential,D,Ojai,Ventura,4,n,t,cca,2027-01-04\r\n");

  // Going on after the rows a file holds: no header again, and the rows counted on.
  MailMerge after("n", "t", "cca", *parse_date("2027-01-04"), 2);
  after.add("A3", 0, "D", "Ojai", "Ventura", 4);
  EXPECT_EQ(after.rows(), 3);
  text.clear();
  after.drain(into_text);
  EXPECT_EQ(text, "A3,residential,D,Ojai,Ventura,4,n,t,cca,2027-01-04\r\n");
}

}  // namespace
}  // namespace ccaflow
