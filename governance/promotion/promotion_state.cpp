#include "governance/promotion/promotion_state.h"

#include <algorithm>

namespace cloister::promotion {
namespace {

template <size_t N>
std::string SqlList(const std::array<PromotionState, N>& states) {
  std::string out = "(";
  for (size_t i = 0; i < N; ++i) {
    out += (i ? ", '" : "'") + std::string(StateName(states[i])) + "'";
  }
  return out + ")";
}

}  // namespace

std::string_view StateName(PromotionState state) {
  switch (state) {
    case PromotionState::kPendingChecks: return "pending_checks";
    case PromotionState::kAwaitingApproval: return "awaiting_approval";
    case PromotionState::kApproved: return "approved";
    case PromotionState::kScheduled: return "scheduled";
    case PromotionState::kDeployed: return "deployed";
    case PromotionState::kRejected: return "rejected";
    case PromotionState::kBlocked: return "blocked";
    case PromotionState::kCancelled: return "cancelled";
    case PromotionState::kFailed: return "failed";
  }
  return "unknown";  // unreachable: every enumerator is named above
}

std::optional<PromotionState> ParseState(std::string_view name) {
  for (PromotionState s : kAllStates) {
    if (StateName(s) == name) return s;
  }
  return std::nullopt;
}

bool IsOpen(PromotionState state) {
  return std::find(kOpenStates.begin(), kOpenStates.end(), state) != kOpenStates.end();
}

std::string StateCheckSql(std::string_view column) { return std::string(column) + " IN " + SqlList(kAllStates); }

std::string OpenStatesSql() { return SqlList(kOpenStates); }

}  // namespace cloister::promotion
