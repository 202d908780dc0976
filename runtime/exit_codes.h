// The exit status contract (product.md): what other tools and checks rely on.
#pragma once

namespace ccaflow::exit_code {
inline constexpr int kOk = 0;
inline constexpr int kInputError = 1;     // errors in the workflow or its inputs; nothing written
inline constexpr int kUsage = 2;          // bad command-line usage
inline constexpr int kTaskFailed = 3;     // a task failed; the run is resumable
inline constexpr int kDatabase = 4;       // database in use by another process, or an unknown schema
inline constexpr int kWorkflowDiffers = 5;  // `run FILE` names a workflow other than the stored one
}  // namespace ccaflow::exit_code
