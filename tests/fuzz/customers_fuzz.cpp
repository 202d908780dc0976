// The customer file reader (CSV through libcsv, then columns, classes, cycles and flags).
// Also the reader of `ingest changes`, which reads a customer file.
#include <cstdint>

#include "runtime/customers.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ccaflow::CustomerReader reader(ccaflow::fuzz::input_file(data, size), 21);
  ccaflow::Account account;
  while (reader.next(account)) {
  }
  for (const auto& e : reader.errors()) (void)ccaflow::render_data_error("customers.csv", e);
  return 0;
}
