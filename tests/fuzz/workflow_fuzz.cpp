// The compiler front end: workflow source text to diagnostics or a task graph. The input
// is the workflow file; it may import the shipped stdlib, held in memory like a stored run.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "compiler/compiler.h"
#include "compiler/source_files.h"

namespace {

std::map<std::string, std::string> stdlib_files() {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(ccaflow::default_stdlib_dir())) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    files["/stdlib/" + entry.path().filename().string()] = bytes.str();
  }
  return files;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::map<std::string, std::string> stdlib = stdlib_files();
  std::map<std::string, std::string> files = stdlib;
  files["/work/fuzz.flow"] = std::string(reinterpret_cast<const char*>(data), size);
  ccaflow::StoredFiles sources(std::move(files));
  ccaflow::CompileOptions options;
  options.stdlib_dir = "/stdlib";
  options.files = &sources;
  ccaflow::CompileResult result = ccaflow::compile("/work/fuzz.flow", options);
  (void)result.render_diagnostics();
  return 0;
}
