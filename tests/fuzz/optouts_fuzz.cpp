// The reader of `ingest optouts`: account,received_on[,channel].
#include <cstdint>

#include "runtime/optouts.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ccaflow::CsvReader csv(ccaflow::fuzz::input_file(data, size), "opt-out file");
  auto rows = ccaflow::read_optouts(csv, *ccaflow::parse_date("2027-03-31"), [](const ccaflow::OptoutRow& row) {
    return row.account.size() % 7 == 3 ? std::optional<std::string>("no such account") : std::nullopt;
  });
  for (const auto& e : csv.errors()) (void)ccaflow::render_data_error("optouts.csv", e);
  return rows.size() > size ? 1 : 0;
}
