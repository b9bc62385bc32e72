#include "governance/promotion/promotion_store.h"

namespace cloister::promotion {
namespace {

constexpr const char* kColumns =
    "id, automation, version, from_env, to_env, kind, state, requester, author, emergency, reason, "
    "COALESCE(scheduled_for, ''), pipeline, checks, decision, override, review, created_at, updated_at";

std::string SelectWhere(const std::string& where) {
  return std::string("SELECT ") + kColumns + " FROM promotions WHERE " + where;
}

Result<PromotionRecord> Decode(const Row& row) {
  PromotionRecord r;
  r.id = row.Text(0);
  r.automation = row.Text(1);
  r.version = row.Text(2);
  r.from = row.Text(3);
  r.to = row.Text(4);
  r.kind = row.Text(5);
  const auto state = ParseState(row.Text(6));
  if (!state) return row.Corrupt("state \"" + row.Text(6) + "\" is not a promotion state");
  r.state = *state;
  r.requester = row.Text(7);
  r.author = row.Text(8);
  r.emergency = row.Int(9) != 0;
  r.reason = row.Text(10);
  r.scheduled_for = row.Text(11);
  r.pipeline = row.Text(12);
  CL_ASSIGN_OR_RETURN(r.checks, row.JsonAt(13, "checks", Json::array()));
  if (!r.checks.is_array()) return row.Corrupt("checks is not a list");
  CL_ASSIGN_OR_RETURN(r.decision, row.JsonAt(14, "decision"));
  CL_ASSIGN_OR_RETURN(r.override_, row.JsonAt(15, "override"));
  CL_ASSIGN_OR_RETURN(r.review, row.JsonAt(16, "review"));
  r.created_at = row.Text(17);
  r.updated_at = row.Text(18);
  return r;
}

void BindJson(Statement* s, int index, const Json& j) { j.is_null() ? s->BindNull(index) : s->Bind(index, j.dump()); }

}  // namespace

Result<PromotionRecord> PromotionStore::Load(ReadView db, const std::string& id) {
  CL_ASSIGN_OR_RETURN(auto found, db.Select("promotions", SelectWhere("id = ?")).Bind(1, id).ReadOne(Decode));
  if (!found) return Status::NotFound("no promotion " + id);
  return std::move(*found);
}

Result<std::optional<PromotionRecord>> PromotionStore::OpenInto(ReadView db, const std::string& automation,
                                                                const std::string& to) {
  return db.Select("promotions", SelectWhere("automation = ? AND to_env = ? AND state IN " + OpenStatesSql()))
      .Bind(1, automation)
      .Bind(2, to)
      .ReadOne(Decode);
}

Result<std::vector<PromotionRecord>> PromotionStore::OpenFromOtherThan(ReadView db, const std::string& automation,
                                                                       const std::string& from,
                                                                       const std::string& version) {
  return db
      .Select("promotions", SelectWhere("automation = ? AND from_env = ? AND kind = 'promotion' AND state IN " +
                                        OpenStatesSql() + " AND version != ?"))
      .Bind(1, automation)
      .Bind(2, from)
      .Bind(3, version)
      .ReadAll(Decode);
}

Result<std::vector<PromotionRecord>> PromotionStore::List(ReadView db, const std::string& automation,
                                                          const std::string& environment) {
  return db
      .Select("promotions", SelectWhere("(?1 = '' OR automation = ?1) AND (?2 = '' OR to_env = ?2) "
                                        "ORDER BY created_at DESC, id LIMIT 5000"))
      .Bind(1, automation)
      .Bind(2, environment)
      .ReadAll(Decode);
}

Result<std::vector<ApprovalRecord>> PromotionStore::Approvals(ReadView db, const std::string& id) {
  return db
      .Select("promotion_approvals",
              "SELECT user, decision, version, comment, at, roles, promotion_id || '/' || user FROM "
              "promotion_approvals WHERE promotion_id = ? ORDER BY at, user")
      .KeyColumn(6)
      .Bind(1, id)
      .ReadAll([](const Row& row) -> Result<ApprovalRecord> {
        CL_ASSIGN_OR_RETURN(Json roles, row.JsonAt(5, "roles", Json::array()));
        ApprovalRecord a{row.Text(0), row.Text(1), row.Text(2), row.Text(3), row.Text(4), {}};
        if (!roles.is_array()) return row.Corrupt("roles is not a list");
        for (const Json& r : roles) {
          if (!r.is_string()) return row.Corrupt("roles holds a value that is not a role name");
          a.roles.push_back(r.get<std::string>());
        }
        return a;
      });
}

Result<std::vector<HistoryEntry>> PromotionStore::History(ReadView db, const std::string& id) {
  return db
      .Select("promotion_history",
              "SELECT seq, COALESCE(from_state, ''), to_state, actor, at, note, promotion_id || '#' || seq FROM "
              "promotion_history WHERE promotion_id = ? ORDER BY seq")
      .KeyColumn(6)
      .Bind(1, id)
      .ReadAll([](const Row& row) {
        return HistoryEntry{row.Int(0), row.Text(1), row.Text(2), row.Text(3), row.Text(4), row.Text(5)};
      });
}

Status PromotionStore::Insert(Transaction& tx, const PromotionRecord& r) {
  CL_ASSIGN_OR_RETURN(Statement * s,
                      tx.Prepare("INSERT INTO promotions (id, automation, version, from_env, to_env, kind, state, "
                                 "requester, author, emergency, reason, scheduled_for, pipeline, checks, decision, "
                                 "override, review, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                                 "?, ?, ?, ?, ?, ?, ?, ?)"));
  s->Bind(1, r.id).Bind(2, r.automation).Bind(3, r.version).Bind(4, r.from).Bind(5, r.to).Bind(6, r.kind);
  s->Bind(7, StateName(r.state)).Bind(8, r.requester).Bind(9, r.author).Bind(10, static_cast<int64_t>(r.emergency));
  s->Bind(11, r.reason);
  r.scheduled_for.empty() ? s->BindNull(12) : s->Bind(12, r.scheduled_for);
  s->Bind(13, r.pipeline).Bind(14, r.checks.dump());
  BindJson(s, 15, r.decision);
  BindJson(s, 16, r.override_);
  BindJson(s, 17, r.review);
  return s->Bind(18, r.created_at).Bind(19, r.updated_at).Run();
}

Status PromotionStore::Update(Transaction& tx, const PromotionRecord& r) {
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("UPDATE promotions SET state = ?, checks = ?, decision = ?, "
                                                "override = ?, review = ?, updated_at = ? WHERE id = ?"));
  s->Bind(1, StateName(r.state)).Bind(2, r.checks.dump());
  BindJson(s, 3, r.decision);
  BindJson(s, 4, r.override_);
  BindJson(s, 5, r.review);
  return s->Bind(6, r.updated_at).Bind(7, r.id).Run();
}

Status PromotionStore::AddApproval(Transaction& tx, const std::string& id, const ApprovalRecord& a, bool replace) {
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare(std::string(replace ? "INSERT OR REPLACE" : "INSERT") +
                                                " INTO promotion_approvals (promotion_id, user, decision, version, "
                                                "roles, comment, at) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  return s->Bind(1, id).Bind(2, a.user).Bind(3, a.decision).Bind(4, a.version).Bind(5, Json(a.roles).dump())
      .Bind(6, a.comment).Bind(7, a.at).Run();
}

Status PromotionStore::AppendHistory(Transaction& tx, const std::string& id, const std::string& from_state,
                                     const std::string& to_state, const std::string& actor, const std::string& at,
                                     const std::string& note) {
  CL_ASSIGN_OR_RETURN(const int64_t count, tx.view()
                                               .Select("promotion_history",
                                                       "SELECT COUNT(*) FROM promotion_history WHERE promotion_id = ?")
                                               .Bind(1, id)
                                               .ReadInt());
  CL_ASSIGN_OR_RETURN(Statement * h, tx.Prepare("INSERT INTO promotion_history (promotion_id, seq, from_state, "
                                                "to_state, actor, at, note) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  h->Bind(1, id).Bind(2, count + 1);
  from_state.empty() ? h->BindNull(3) : h->Bind(3, from_state);
  return h->Bind(4, to_state).Bind(5, actor).Bind(6, at).Bind(7, note).Run();
}

}  // namespace cloister::promotion
