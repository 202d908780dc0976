// The customer lifecycle after mass enrollment starts: opt-outs (`ingest optouts`) and
// one account's whole story (`explain`).
#pragma once

#include <optional>
#include <string>

#include "compiler/date.h"
#include <vector>

namespace ccaflow {

// Validates the whole CSV (account,received_on[,channel]) first: a bad file changes
// nothing. The same file twice changes nothing the second time.
// Nothing can be received after `as_of` (default: the later of today and the day after the
// run's last as-of date).
int ingest_optouts(const std::string& db, const std::string& file, std::optional<Date> as_of = std::nullopt);

// X12 814 responses: an accepted Connect's actual read date becomes the switch date; a
// rejection is retried on the next read or held for an operator, by reason code.
int ingest_responses(const std::string& db, const std::vector<std::string>& files);
// New accounts (customer columns plus service_start), enrolled from their service start.
int ingest_moveins(const std::string& db, const std::string& file);
// A customer file of changed service options: an Update CCASR for each account the utility holds.
int ingest_changes(const std::string& db, const std::string& file);

int explain_account(const std::string& db, const std::string& account, const std::string& format);

}  // namespace ccaflow
