// The reader of `ingest responses`: the utility's X12 814 responses.
#include <cstdint>

#include "runtime/x12.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<ccaflow::DataError> errors;
  auto responses = ccaflow::read_814_responses(ccaflow::fuzz::input_file(data, size), errors);
  for (const auto& e : errors) (void)ccaflow::render_data_error("responses.814", e);
  return responses.size() > size ? 1 : 0;
}
