// Phase selectors and exclusion conditions, compiled once into a small predicate tree
// over account attributes (constants folded, `in` lists turned into hash sets), then
// matched against every account of the customer file.
#pragma once

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "compiler/ast.h"
#include "compiler/eval.h"
#include "runtime/customers.h"

namespace ccaflow {

class Selector {
 public:
  // `expr` has been resolved and type-checked as a boolean selector.
  static Selector compile(const ast::Expr& expr, const Evaluator& evaluator);
  bool matches(const Account& account) const { return root_ ? eval(*root_, account) : false; }

 private:
  struct Operand {
    bool is_attribute = false;
    Attribute attribute = Attribute::kAccount;
    Value constant;
  };
  struct Node {
    enum class Kind { kConst, kAnd, kOr, kNot, kFlag, kCompare, kInText, kInNumber } kind = Kind::kConst;
    bool constant = false;
    std::string op;
    Operand left, right;
    std::unordered_set<std::string> texts;
    std::vector<double> numbers;
    std::vector<std::unique_ptr<Node>> children;
  };

  static std::unique_ptr<Node> build(const ast::Expr& e, const Evaluator& evaluator);
  static Operand operand(const ast::Expr& e, const Evaluator& evaluator);
  static bool eval(const Node& node, const Account& account);
  static Value read(const Operand& o, const Account& account);

  std::shared_ptr<Node> root_;
};

}  // namespace ccaflow
