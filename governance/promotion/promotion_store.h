// Promotions, their approvals and their history (tables promotions,
// promotion_approvals, promotion_history). A promotion row is created once
// and then changes only its state, checks, policy decision, override and
// review; approvals and history are append-only (a rejection replaces the
// rejecter's earlier decision).
//
// Reads take a ReadView; writes a Transaction of the single writer. A row
// whose state is not a known state, or whose JSON columns do not parse, is
// corruption naming the promotion.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "appliance/core/json.h"
#include "appliance/storage/rows.h"
#include "appliance/storage/writer.h"
#include "governance/promotion/promotion_state.h"

namespace cloister::promotion {

struct PromotionRecord {
  std::string id, automation, version, from, to;
  std::string kind;  // promotion or rollback
  PromotionState state = PromotionState::kPendingChecks;
  std::string requester, author;  // user ids
  bool emergency = false;
  std::string reason;
  std::string scheduled_for;  // RFC 3339, "" for none
  std::string pipeline;       // "<name>@<version>:<digest prefix>"
  Json checks = Json::array();
  Json decision;    // the policy decision (Decision::ToJson(false)), null until one is made
  Json override_;   // {"user", "user_id", "roles", "reason", "at"}, null when none
  Json review;      // {"user", "user_id", "comment", "at"}, null when none
  std::string created_at, updated_at;
};

struct ApprovalRecord {
  std::string user;      // user id
  std::string decision;  // approve or reject
  std::string version;
  std::string comment;
  std::string at;
  std::vector<std::string> roles;  // held in the target when given
};

struct HistoryEntry {
  int64_t seq = 0;
  std::string from_state;  // "" for the first entry
  std::string to_state;
  std::string actor;  // user id
  std::string at, note;
};

class PromotionStore {
 public:
  // not_found "no promotion <id>".
  static Result<PromotionRecord> Load(ReadView db, const std::string& id);
  // The open promotion of `automation` into `to`, if any.
  static Result<std::optional<PromotionRecord>> OpenInto(ReadView db, const std::string& automation,
                                                         const std::string& to);
  // Open promotions (not rollbacks) of `automation` out of `from` for a
  // version other than `version`.
  static Result<std::vector<PromotionRecord>> OpenFromOtherThan(ReadView db, const std::string& automation,
                                                                const std::string& from, const std::string& version);
  // Newest first, optionally of one automation and/or into one environment;
  // at most 5000.
  static Result<std::vector<PromotionRecord>> List(ReadView db, const std::string& automation,
                                                   const std::string& environment);
  static Result<std::vector<ApprovalRecord>> Approvals(ReadView db, const std::string& id);
  static Result<std::vector<HistoryEntry>> History(ReadView db, const std::string& id);

  static Status Insert(Transaction& tx, const PromotionRecord& p);
  // Stores what changes after creation: state, checks, decision, override,
  // review, updated_at.
  static Status Update(Transaction& tx, const PromotionRecord& p);
  // `replace`: a rejection replaces the user's earlier decision.
  static Status AddApproval(Transaction& tx, const std::string& id, const ApprovalRecord& a, bool replace);
  // Appends the next history entry of `id`; `from_state` "" for the first.
  static Status AppendHistory(Transaction& tx, const std::string& id, const std::string& from_state,
                              const std::string& to_state, const std::string& actor, const std::string& at,
                              const std::string& note);
};

}  // namespace cloister::promotion
