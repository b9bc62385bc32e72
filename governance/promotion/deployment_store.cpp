#include "governance/promotion/deployment_store.h"

namespace cloister::promotion {
namespace {

constexpr const char* kColumns =
    "seq, environment, automation, version, COALESCE(previous_version, ''), COALESCE(promotion_id, ''), kind, "
    "deployed_at, deployed_by";

Deployment Decode(const Row& row) {
  return {row.Int(0),  row.Text(1), row.Text(2), row.Text(3), row.Text(4),
          row.Text(5), row.Text(6), row.Text(7), row.Text(8)};
}

}  // namespace

Result<std::vector<Deployment>> DeploymentStore::LiveIn(ReadView db, const std::string& environment,
                                                        const std::string& automation) {
  return db
      .Select("deployments", std::string("SELECT ") + kColumns +
                                 " FROM deployments d WHERE environment = ?1 AND (?2 = '' OR automation = ?2) AND "
                                 "seq = (SELECT MAX(seq) FROM deployments m WHERE m.environment = d.environment "
                                 "AND m.automation = d.automation) ORDER BY automation")
      .Bind(1, environment)
      .Bind(2, automation)
      .ReadAll(Decode);
}

Result<std::optional<Deployment>> DeploymentStore::LiveOne(ReadView db, const std::string& environment,
                                                           const std::string& automation) {
  CL_ASSIGN_OR_RETURN(auto all, LiveIn(db, environment, automation));
  std::optional<Deployment> out;
  if (!all.empty()) out = std::move(all.front());
  return out;
}

Result<std::vector<Deployment>> DeploymentStore::History(ReadView db, const std::string& environment,
                                                         const std::string& automation, int limit) {
  return db
      .Select("deployments", std::string("SELECT ") + kColumns +
                                 " FROM deployments WHERE environment = ?1 AND (?2 = '' OR automation = ?2) "
                                 "ORDER BY seq DESC LIMIT ?3")
      .Bind(1, environment)
      .Bind(2, automation)
      .Bind(3, static_cast<int64_t>(limit))
      .ReadAll(Decode);
}

Status DeploymentStore::Add(Transaction& tx, const Deployment& d) {
  CL_ASSIGN_OR_RETURN(Statement * s,
                      tx.Prepare("INSERT INTO deployments (environment, automation, version, previous_version, "
                                 "promotion_id, kind, deployed_at, deployed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  s->Bind(1, d.environment).Bind(2, d.automation).Bind(3, d.version);
  d.previous_version.empty() ? s->BindNull(4) : s->Bind(4, d.previous_version);
  d.promotion_id.empty() ? s->BindNull(5) : s->Bind(5, d.promotion_id);
  return s->Bind(6, d.kind).Bind(7, d.deployed_at).Bind(8, d.deployed_by).Run();
}

}  // namespace cloister::promotion
