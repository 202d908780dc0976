#include "runtime/selector.h"

#include <algorithm>

namespace ccaflow {

namespace {

bool mentions_attribute(const ast::Expr& e) {
  if (e.kind == ast::ExprKind::kName && e.ref == ast::RefKind::kAttribute) return true;
  for (const auto& a : e.args) {
    if (mentions_attribute(*a)) return true;
  }
  return false;
}

std::string_view text_of(const Account& a, Attribute attribute) {
  switch (attribute) {
    case Attribute::kAccount: return a.id;
    case Attribute::kClass: return customer_class_name(a.customer_class);
    case Attribute::kRateSchedule: return a.rate_schedule;
    case Attribute::kCity: return a.city;
    case Attribute::kCounty: return a.county;
    default: return {};
  }
}

bool flag_of(const Account& a, Attribute attribute) {
  switch (attribute) {
    case Attribute::kDirectAccess: return a.direct_access;
    case Attribute::kCare: return a.care;
    case Attribute::kFera: return a.fera;
    case Attribute::kMedicalBaseline: return a.medical_baseline;
    case Attribute::kNem: return a.nem;
    default: return false;
  }
}

}  // namespace

Selector Selector::compile(const ast::Expr& expr, const Evaluator& evaluator) {
  Selector s;
  s.root_ = build(expr, evaluator);
  return s;
}

Selector::Operand Selector::operand(const ast::Expr& e, const Evaluator& evaluator) {
  Operand o;
  if (e.kind == ast::ExprKind::kName && e.ref == ast::RefKind::kAttribute) {
    o.is_attribute = true;
    o.attribute = static_cast<Attribute>(e.slot);
  } else {
    o.constant = evaluator.eval(e, EvalScope{});
  }
  return o;
}

std::unique_ptr<Selector::Node> Selector::build(const ast::Expr& e, const Evaluator& evaluator) {
  auto node = std::make_unique<Node>();
  if (!mentions_attribute(e)) {
    node->kind = Node::Kind::kConst;
    node->constant = evaluator.eval(e, EvalScope{}).boolean;
    return node;
  }
  if (e.kind == ast::ExprKind::kName) {
    node->kind = Node::Kind::kFlag;
    node->left = operand(e, evaluator);
    return node;
  }
  if (e.kind == ast::ExprKind::kNot) {
    node->kind = Node::Kind::kNot;
    node->children.push_back(build(*e.args[0], evaluator));
    return node;
  }
  if (e.kind == ast::ExprKind::kBinary && (e.text == "and" || e.text == "or")) {
    node->kind = e.text == "and" ? Node::Kind::kAnd : Node::Kind::kOr;
    node->children.push_back(build(*e.args[0], evaluator));
    node->children.push_back(build(*e.args[1], evaluator));
    return node;
  }
  if (e.kind == ast::ExprKind::kBinary && e.text == "in") {
    node->left = operand(*e.args[0], evaluator);
    Value list = evaluator.eval(*e.args[1], EvalScope{});
    bool numbers = !list.list.empty() && list.list.front().type == Type::kNumber;
    node->kind = numbers ? Node::Kind::kInNumber : Node::Kind::kInText;
    for (const Value& v : list.list) {
      if (numbers) node->numbers.push_back(v.number);
      else node->texts.insert(v.text);
    }
    return node;
  }
  node->kind = Node::Kind::kCompare;
  node->op = e.text;
  node->left = operand(*e.args[0], evaluator);
  node->right = operand(*e.args[1], evaluator);
  return node;
}

Value Selector::read(const Operand& o, const Account& a) {
  if (!o.is_attribute) return o.constant;
  TypeRef type = attribute_type(o.attribute);
  if (type.kind == Type::kNumber) return Value::of_number(a.read_cycle);
  if (type.kind == Type::kBool) return Value::of_bool(flag_of(a, o.attribute));
  return Value::of_text(std::string(text_of(a, o.attribute)));
}

bool Selector::eval(const Node& n, const Account& a) {
  switch (n.kind) {
    case Node::Kind::kConst: return n.constant;
    case Node::Kind::kAnd: return eval(*n.children[0], a) && eval(*n.children[1], a);
    case Node::Kind::kOr: return eval(*n.children[0], a) || eval(*n.children[1], a);
    case Node::Kind::kNot: return !eval(*n.children[0], a);
    case Node::Kind::kFlag: return flag_of(a, n.left.attribute);
    case Node::Kind::kInText: {
      if (n.left.is_attribute) return n.texts.contains(std::string(text_of(a, n.left.attribute)));
      return n.texts.contains(n.left.constant.text);
    }
    case Node::Kind::kInNumber: {
      double v = n.left.is_attribute ? a.read_cycle : n.left.constant.number;
      return std::find(n.numbers.begin(), n.numbers.end(), v) != n.numbers.end();
    }
    case Node::Kind::kCompare: {
      // The common case, an attribute against a text, without building Values.
      if (n.left.is_attribute && !n.right.is_attribute && n.right.constant.type == Type::kText &&
          (n.op == "==" || n.op == "!=")) {
        bool equal = text_of(a, n.left.attribute) == n.right.constant.text;
        return n.op == "==" ? equal : !equal;
      }
      int c = compare_values(read(n.left, a), read(n.right, a));
      if (n.op == "==") return c == 0;
      if (n.op == "!=") return c != 0;
      if (n.op == "<") return c < 0;
      if (n.op == "<=") return c <= 0;
      if (n.op == ">") return c > 0;
      return c >= 0;
    }
  }
  return false;
}

}  // namespace ccaflow
