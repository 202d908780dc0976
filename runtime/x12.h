// Reading the utility's X12 814 responses (version 004010): the envelope is checked (ISA/IEA
// and GS/GE control numbers, GE's transaction count, each SE's segment count and control
// number) and each ST..SE transaction read as one account's accept or reject.
//
//   ST*814*0001~  BGN*11*REF*CCYYMMDD~  (BGN01 01: the response to a Cancel)
//   ASI*WQ*021~   (WQ accepted, U rejected; 021 Connect, 001 Update, 024 Disconnect)
//   REF*12*ACCOUNT~  REF*7G*REASON~ (on a reject)  DTM*151*CCYYMMDD~ (on an accept: the actual read)
//   SE*n*0001~
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compiler/date.h"
#include "runtime/csv.h"

namespace ccaflow {

struct CcasrResponse {
  std::size_t line = 0;  // where its ST segment is
  std::string account;
  std::string type;      // connect, update, disconnect, cancel
  bool accepted = false;
  std::string reason;    // reject reason code
  std::optional<Date> actual;  // the actual effective (read) date of an accept
  std::string reference;       // BGN02
};

// Parses one file; errors name its lines. Reads at most 64 MiB.
std::vector<CcasrResponse> read_814_responses(const std::string& path, std::vector<DataError>& errors);

}  // namespace ccaflow
