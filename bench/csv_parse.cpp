// The parse limit `plan` is measured against: the customer CSV read with the same reader
// (libcsv through CustomerReader), nothing else done with the accounts.
//   build/csv_parse FILE  -> accounts=N seconds=S
#include <chrono>
#include <cstdio>

#include "runtime/customers.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: csv_parse FILE\n");
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  ccaflow::CustomerReader reader(argv[1], 21);
  ccaflow::Account account;
  std::size_t n = 0;
  while (reader.next(account)) ++n;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!reader.ok()) {
    std::fprintf(stderr, "%s\n", ccaflow::render_data_error(argv[1], reader.errors().front()).c_str());
    return 1;
  }
  std::printf("accounts=%zu seconds=%.3f\n", n, seconds);
  return 0;
}
