// Which phase an account belongs to: the workflow's exclusions are tried first (the first
// that matches gives the reason), then every phase's selector; an eligible account must
// match exactly one phase.
#pragma once

#include <vector>

#include "compiler/model.h"
#include "runtime/customers.h"
#include "runtime/selector.h"

namespace ccaflow {

struct Assignment {
  enum class Kind { kPhase, kExcluded, kNoPhase, kManyPhases } kind = Kind::kNoPhase;
  int index = -1;           // the phase, or the exclusion
  std::vector<int> phases;  // every matching phase, for kManyPhases
};

class Assigner {
 public:
  explicit Assigner(const Program& program);
  Assignment classify(const Account& account) const;

 private:
  std::vector<Selector> exclusions_, phases_;
};

}  // namespace ccaflow
