#include "appliance/runtime/run_state.h"

namespace cloister::runtime {

std::string_view RunStateName(RunState state) {
  switch (state) {
    case RunState::kQueued:
      return "queued";
    case RunState::kRunning:
      return "running";
    case RunState::kWaiting:
      return "waiting";
    case RunState::kSucceeded:
      return "succeeded";
    case RunState::kFailed:
      return "failed";
    case RunState::kCancelled:
      return "cancelled";
    case RunState::kTimedOut:
      return "timed_out";
  }
  return "failed";
}

std::optional<RunState> ParseRunState(std::string_view name) {
  for (RunState s : kAllRunStates) {
    if (RunStateName(s) == name) return s;
  }
  return std::nullopt;
}

bool IsTerminal(RunState state) {
  return state == RunState::kSucceeded || state == RunState::kFailed ||
         state == RunState::kCancelled || state == RunState::kTimedOut;
}

std::string RunStateCheckSql(std::string_view column) {
  std::string sql = std::string(column) + " IN (";
  for (size_t i = 0; i < kAllRunStates.size(); ++i) {
    sql += (i ? ", '" : "'") + std::string(RunStateName(kAllRunStates[i])) + "'";
  }
  return sql + ")";
}

}  // namespace cloister::runtime
