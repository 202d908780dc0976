#include "compiler/model.h"

#include <fmt/format.h>

#include "compiler/source_files.h"

namespace ccaflow {

std::string type_name(TypeRef type) {
  switch (type.kind) {
    case Type::kError: return "unknown";
    case Type::kBool: return "yes/no value";
    case Type::kNumber: return "number";
    case Type::kText: return "text";
    case Type::kDate: return "date";
    case Type::kDuration: return "duration";
    case Type::kList:
      if (type.element == Type::kError) return "list";
      return "list of " + type_name(TypeRef{type.element}) + "s";
    case Type::kPhase: return "phase";
    case Type::kCycle: return "read cycle";
    case Type::kNotice: return "notice";
  }
  return "unknown";
}

std::string duration_to_string(const ast::Duration& d) {
  const char* unit = "day";
  switch (d.unit) {
    case ast::DurationUnit::kDays: unit = "day"; break;
    case ast::DurationUnit::kBusinessDays: unit = "business day"; break;
    case ast::DurationUnit::kWeeks: unit = "week"; break;
    case ast::DurationUnit::kMonths: unit = "month"; break;
    case ast::DurationUnit::kBillingCycles: unit = "billing cycle"; break;
  }
  return fmt::format("{} {}{}", d.amount, unit, d.amount == 1 ? "" : "s");
}

std::string value_to_string(const Value& v) {
  switch (v.type) {
    case Type::kBool: return v.boolean ? "true" : "false";
    case Type::kNumber: return fmt::format("{}", v.number);
    case Type::kText: return fmt::format("\"{}\"", v.text);
    case Type::kDate: return format_date(v.date);
    case Type::kDuration: return duration_to_string(v.duration);
    case Type::kList: {
      std::vector<std::string> items;
      for (const Value& item : v.list) items.push_back(value_to_string(item));
      return fmt::format("[{}]", fmt::join(items, ", "));
    }
    default: return "?";
  }
}

const std::vector<std::string>& attribute_names() {
  static const std::vector<std::string> names = {
      "account", "class", "rate_schedule", "city", "county", "read_cycle",
      "direct_access", "care", "fera", "medical_baseline", "nem"};
  return names;
}

std::optional<Attribute> attribute_named(std::string_view name) {
  if (name == "customer_class") return Attribute::kClass;
  const auto& names = attribute_names();
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<Attribute>(i);
  }
  return std::nullopt;
}

TypeRef attribute_type(Attribute attribute) {
  switch (attribute) {
    case Attribute::kReadCycle: return TypeRef{Type::kNumber};
    case Attribute::kDirectAccess:
    case Attribute::kCare:
    case Attribute::kFera:
    case Attribute::kMedicalBaseline:
    case Attribute::kNem: return TypeRef{Type::kBool};
    default: return TypeRef{Type::kText};
  }
}

const SourceFiles& Program::files() const {
  static const DiskFiles disk;
  return options.files != nullptr ? *options.files : disk;
}

std::optional<std::string> Program::read_input(const std::string& path, std::string& error, std::size_t max_bytes) {
  auto text = files().read(path, error, max_bytes);
  if (text) inputs[path] = *text;
  return text;
}

const LoadedModule& Program::loaded(const ast::Module* module) const {
  for (const LoadedModule& m : modules) {
    if (m.ast.get() == module) return m;
  }
  return modules.front();
}

std::optional<Symbol> Program::lookup(const LoadedModule& from, const std::vector<std::string>& parts) const {
  const LoadedModule* target = &from;
  if (parts.size() == 2) {
    auto it = from.imports.find(parts[0]);
    if (it == from.imports.end()) return std::nullopt;
    target = &loaded(it->second);
  } else if (parts.size() != 1) {
    return std::nullopt;
  }
  auto s = target->symbols.find(parts.back());
  if (s == target->symbols.end()) return std::nullopt;
  return s->second;
}

const std::string& Program::path_of(const ast::Module& module) const {
  for (const LoadedModule& m : modules) {
    if (m.ast.get() == &module) return m.path;
  }
  static const std::string unknown = "?";
  return unknown;
}

}  // namespace ccaflow
