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
#include "compiler/source_files.h"
#include "compiler/suggest.h"

namespace ccaflow {
namespace fs = std::filesystem;

namespace {

class ImportResolver {
 public:
  ImportResolver(Program& program, Diagnostics& diagnostics)
      : program_(program), diagnostics_(diagnostics) {}

  void load_root(const std::string& path) {
    std::string error;
    auto text = program_.read_input(path, error, ParseLimits{}.max_bytes);
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
    by_path_[program_.files().identity(path)] = 0;
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
    const SourceFiles& files = program_.files();
    if (files.is_file(local)) {
      path = shown = local;
    } else if (files.is_file(library)) {
      path = library;
      shown = "stdlib/" + import.module + ".flow";
    } else {
      std::vector<std::string> candidates = files.flow_names(directory);
      for (auto& name : files.flow_names(stdlib_dir())) candidates.push_back(name);
      diagnostics_.error(where, fmt::format("no module `{}`: there is no {}.flow next to this file or in the stdlib{}",
                                            import.module, import.module, did_you_mean(import.module, candidates)));
      return std::nullopt;
    }
    std::string key = files.identity(path);
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
    auto text = program_.read_input(path, error, ParseLimits{}.max_bytes);
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
