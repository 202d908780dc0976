// Times a full compile (imports, parse, names, types, dates, rules, task graph) of each
// workflow given, repeated, and prints the median, fastest and slowest in milliseconds.
//   build/compile_bench [--repeat N] FILE...
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "compiler/compiler.h"

int main(int argc, char** argv) {
  int repeat = 30;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = std::atoi(argv[++i]);
    else files.emplace_back(argv[i]);
  }
  if (files.empty() || repeat < 1) {
    std::fprintf(stderr, "usage: compile_bench [--repeat N] FILE...\n");
    return 2;
  }
  std::printf("%-28s %6s %6s %10s %10s %10s\n", "workflow", "tasks", "runs", "median_ms", "min_ms", "max_ms");
  for (const std::string& file : files) {
    std::vector<double> ms;
    std::size_t tasks = 0;
    for (int r = 0; r < repeat; ++r) {
      auto start = std::chrono::steady_clock::now();
      ccaflow::CompileResult result = ccaflow::compile(file);
      auto end = std::chrono::steady_clock::now();
      if (!result.ok()) {
        std::fprintf(stderr, "%s", result.render_diagnostics().c_str());
        return 1;
      }
      tasks = result.graph->nodes().size();
      ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%-28s %6zu %6d %10.2f %10.2f %10.2f\n", file.c_str(), tasks, repeat, ms[ms.size() / 2], ms.front(),
                ms.back());
  }
  return 0;
}
