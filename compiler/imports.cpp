// Pass 1: imports. `import sce` loads sce.flow from the importing file's folder, else from
// the stdlib. Import names are plain identifiers, so an import can never reach outside
// those two folders.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sstream>

#include "compiler/parser.h"
#include "compiler/passes.h"
#include "compiler/suggest.h"

namespace ccaflow {
namespace fs = std::filesystem;

namespace {

std::optional<std::string> read_file(const std::string& path, std::string& error) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    error = "is a directory, not a workflow file";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> flow_files_in(const std::string& directory) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory, ec)) {
    if (entry.path().extension() == ".flow") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class ImportResolver {
 public:
  ImportResolver(Program& program, Diagnostics& diagnostics)
      : program_(program), diagnostics_(diagnostics) {}

  void load_root(const std::string& path) {
    std::string error;
    auto text = read_file(path, error);
    FileId id = program_.sources.add(path, text.value_or(""));
    if (!text) {
      diagnostics_.error(Location{id, 0, 0, 1}, fmt::format("cannot read the workflow file: {}", error));
      return;
    }
    auto module = parse_module(program_.sources, id, diagnostics_);
    if (!module) return;
    module->name = fs::path(path).stem().string();
    module->directory = fs::path(path).parent_path().string();
    LoadedModule& root = program_.modules.emplace_back();
    root.ast = std::move(module);
    root.path = path;
    root.is_root = true;
    by_path_[fs::weakly_canonical(path).string()] = 0;
    visit(0);
  }

 private:
  // Depth-first over imports; `stack_` holds the chain being loaded, to name a cycle in full.
  void visit(std::size_t index) {
    stack_.push_back(index);
    // Copy what we need: loading more modules reallocates program_.modules.
    std::vector<ast::Import> imports = program_.modules[index].ast->imports;
    std::string directory = program_.modules[index].ast->directory;
    for (const ast::Import& import : imports) {
      auto child = load(index, import, directory);
      if (!child) continue;
      program_.modules[index].imports[import.module] = program_.modules[*child].ast.get();
    }
    stack_.pop_back();
  }

  std::optional<std::size_t> load(std::size_t from, const ast::Import& import, const std::string& directory) {
    const ast::Module& importer = *program_.modules[from].ast;
    Location where = importer.where(import.id);
    if (program_.modules[from].imports.contains(import.module)) {
      diagnostics_.error(where, fmt::format("`{}` is imported twice", import.module));
      return std::nullopt;
    }
    std::string local = (fs::path(directory) / (import.module + ".flow")).string();
    std::string library = (fs::path(stdlib_dir()) / (import.module + ".flow")).string();
    std::string path, shown;
    std::error_code ec;
    if (fs::is_regular_file(local, ec)) {
      path = shown = local;
    } else if (fs::is_regular_file(library, ec)) {
      path = library;
      shown = "stdlib/" + import.module + ".flow";
    } else {
      std::vector<std::string> candidates = flow_files_in(directory);
      for (auto& name : flow_files_in(stdlib_dir())) candidates.push_back(name);
      diagnostics_.error(where, fmt::format("no module `{}`: there is no {}.flow next to this file or in the stdlib{}",
                                            import.module, import.module, did_you_mean(import.module, candidates)));
      return std::nullopt;
    }
    std::string key = fs::weakly_canonical(path).string();
    if (auto it = by_path_.find(key); it != by_path_.end()) {
      auto on_stack = std::find(stack_.begin(), stack_.end(), it->second);
      if (on_stack != stack_.end()) {
        std::string chain;
        for (auto i = on_stack; i != stack_.end(); ++i) chain += program_.modules[*i].ast->name + " -> ";
        chain += program_.modules[it->second].ast->name;
        diagnostics_.error(where, fmt::format("import cycle: {}", chain));
        return std::nullopt;
      }
      return it->second;
    }
    std::string error;
    auto text = read_file(path, error);
    FileId id = program_.sources.add(shown, text.value_or(""));
    if (!text) {
      diagnostics_.error(where, fmt::format("cannot read {}: {}", shown, error));
      return std::nullopt;
    }
    auto module = parse_module(program_.sources, id, diagnostics_);
    if (!module) return std::nullopt;
    module->name = import.module;
    module->directory = fs::path(path).parent_path().string();
    std::size_t index = program_.modules.size();
    LoadedModule& loaded = program_.modules.emplace_back();
    loaded.ast = std::move(module);
    loaded.path = shown;
    by_path_[key] = index;
    visit(index);
    return index;
  }

  const std::string& stdlib_dir() const { return program_.options.stdlib_dir; }

  Program& program_;
  Diagnostics& diagnostics_;
  std::map<std::string, std::size_t> by_path_;
  std::vector<std::size_t> stack_;
};

}  // namespace

void resolve_imports(Program& program, const std::string& root_path, Diagnostics& diagnostics) {
  ImportResolver(program, diagnostics).load_root(root_path);
}

}  // namespace ccaflow
