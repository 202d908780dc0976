// The customer lifecycle after mass enrollment starts: opt-outs (`ingest optouts`) and
// one account's whole story (`explain`).
#pragma once

#include <string>

namespace ccaflow {

// Validates the whole CSV (account,received_on[,channel]) first: a bad file changes
// nothing. The same file twice changes nothing the second time.
int ingest_optouts(const std::string& db, const std::string& file);

int explain_account(const std::string& db, const std::string& account, const std::string& format);

}  // namespace ccaflow
