// The reader of `ingest move-ins`: customer columns plus service_start.
#include <cstdint>

#include "runtime/customers.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ccaflow::CustomerReader reader(ccaflow::fuzz::input_file(data, size), 21, 20, /*move_ins=*/true);
  ccaflow::Account account;
  while (reader.next(account)) {
  }
  for (const auto& e : reader.errors()) (void)ccaflow::render_data_error("move-ins.csv", e);
  return 0;
}
