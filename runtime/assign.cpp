#include "runtime/assign.h"

#include "compiler/eval.h"

namespace ccaflow {

Assigner::Assigner(const Program& program) {
  for (const ExclusionInfo& x : program.model.exclusions) exclusions_.push_back(Selector::compile(*x.decl->when, *program.evaluator));
  for (const PhaseInfo& p : program.model.phases) phases_.push_back(Selector::compile(*p.decl->select, *program.evaluator));
}

Assignment Assigner::classify(const Account& account) const {
  Assignment a;
  for (std::size_t i = 0; i < exclusions_.size(); ++i) {
    if (exclusions_[i].matches(account)) {
      a.kind = Assignment::Kind::kExcluded;
      a.index = static_cast<int>(i);
      return a;
    }
  }
  for (std::size_t p = 0; p < phases_.size(); ++p) {
    if (phases_[p].matches(account)) a.phases.push_back(static_cast<int>(p));
  }
  if (a.phases.size() == 1) {
    a.kind = Assignment::Kind::kPhase;
    a.index = a.phases.front();
  } else {
    a.kind = a.phases.empty() ? Assignment::Kind::kNoPhase : Assignment::Kind::kManyPhases;
  }
  return a;
}

}  // namespace ccaflow
