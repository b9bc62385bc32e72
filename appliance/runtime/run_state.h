// The states of a run (docs/runtime.md):
//
//   queued -> running -> (waiting ->) succeeded | failed | cancelled | timed_out
//
// A run is terminal once it reaches succeeded, failed, cancelled or
// timed_out; a terminal run is never run or rewritten again (only its
// step outputs are dropped after the retention period). This file is the
// code's one list of states; the schema's CHECK constraint
// (runtime_schema.cpp) spells the same list.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace cloister::runtime {

enum class RunState { kQueued, kRunning, kWaiting, kSucceeded, kFailed, kCancelled, kTimedOut };

inline constexpr std::array<RunState, 7> kAllRunStates = {
    RunState::kQueued, RunState::kRunning,   RunState::kWaiting,  RunState::kSucceeded,
    RunState::kFailed, RunState::kCancelled, RunState::kTimedOut,
};

// "queued", "running", ...
std::string_view RunStateName(RunState state);
std::optional<RunState> ParseRunState(std::string_view name);
bool IsTerminal(RunState state);
// "<column> IN ('queued', ..., 'timed_out')"; `column` is a schema name, never input.
std::string RunStateCheckSql(std::string_view column);

}  // namespace cloister::runtime
