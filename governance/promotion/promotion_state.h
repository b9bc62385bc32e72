// The states of a promotion (docs/promotion-guide.md):
//
//   pending_checks -> awaiting_approval -> approved -> scheduled? -> deployed
//
// or rejected, blocked (a gate check failed), cancelled, failed (a check
// failed at deployment, or the version was superseded in its source). The
// open states are the ones a promotion can still leave; at most one open
// promotion exists per automation and target environment.
//
// This file is the one list of states: the code, the schema's CHECK
// constraint and the queries over open promotions are built from it.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace cloister::promotion {

enum class PromotionState {
  kPendingChecks,
  kAwaitingApproval,
  kApproved,
  kScheduled,
  kDeployed,
  kRejected,
  kBlocked,
  kCancelled,
  kFailed,
};

inline constexpr std::array<PromotionState, 9> kAllStates = {
    PromotionState::kPendingChecks, PromotionState::kAwaitingApproval, PromotionState::kApproved,
    PromotionState::kScheduled,     PromotionState::kDeployed,         PromotionState::kRejected,
    PromotionState::kBlocked,       PromotionState::kCancelled,        PromotionState::kFailed,
};

// The states a promotion can still leave, in lifecycle order.
inline constexpr std::array<PromotionState, 4> kOpenStates = {
    PromotionState::kPendingChecks, PromotionState::kAwaitingApproval, PromotionState::kApproved,
    PromotionState::kScheduled,
};

// The stored and displayed name: "pending_checks", "awaiting_approval", ...
std::string_view StateName(PromotionState state);

// The state named `name` exactly (as StateName writes it), or nullopt.
std::optional<PromotionState> ParseState(std::string_view name);

// Whether `state` is one of kOpenStates.
bool IsOpen(PromotionState state);

// The SQL CHECK expression that admits exactly the states:
// "<column> IN ('pending_checks', ..., 'failed')". `column` is written as
// given (it is a column name chosen by the schema, never input).
std::string StateCheckSql(std::string_view column);

// The open states as an SQL list for IN:
// "('pending_checks', 'awaiting_approval', 'approved', 'scheduled')".
std::string OpenStatesSql();

}  // namespace cloister::promotion
