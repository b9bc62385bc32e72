#include "appliance/api/governance_json.h"

namespace cloister::api_json {
namespace {

using promotion::PromotionRecord;

Json OrNull(const std::string& text) { return text.empty() ? Json() : Json(text); }

void PutWho(Json& out, const std::string& key, const std::string& id, const NameOf& names) {
  out[key] = names(id);
  out[key + "_id"] = id;
}

std::string State(const PromotionRecord& p) { return std::string(promotion::StateName(p.state)); }

Json SummaryJson(const PromotionRecord& p, const NameOf& names) {
  Json j = {{"id", p.id},
            {"automation", p.automation},
            {"version", p.version},
            {"from", p.from},
            {"to", p.to},
            {"kind", p.kind},
            {"state", State(p)},
            {"emergency", p.emergency},
            {"reviewed", !p.review.is_null()},
            {"created_at", p.created_at},
            {"updated_at", p.updated_at}};
  PutWho(j, "requester", p.requester, names);
  return j;
}

}  // namespace

Json SavedAutomationJson(const promotion::SavedAutomation& s) {
  Json out = {{"name", s.name}, {"version", s.version}, {"environment", s.environment}, {"created", s.created},
              {"seq", s.seq}};
  if (!s.unchanged) out["previous_version"] = OrNull(s.previous_version);
  return out;
}

Json AutomationListJson(const std::vector<promotion::AutomationListing>& list) {
  Json items = Json::array();
  for (const auto& item : list) {
    Json live = Json::object();
    for (const auto& [env, version] : item.live) live[env] = version ? Json(*version) : Json();
    items.push_back({{"name", item.summary.name},
                     {"versions", item.summary.versions},
                     {"last_saved_at", item.summary.last_saved_at},
                     {"live", live}});
  }
  return {{"items", items}};
}

Json AutomationViewJson(const promotion::AutomationView& view, const NameOf& names) {
  Json versions = Json::array(), live = Json::object();
  for (const auto& v : view.versions) {
    Json j = {{"id", v.id}, {"seq", v.seq}, {"created_at", v.created_at}};
    PutWho(j, "author", v.author, names);
    versions.push_back(std::move(j));
  }
  for (const auto& [env, d] : view.live) live[env] = d ? DeploymentJson(*d, names) : Json();
  const auto head = view.head();
  return {{"name", view.name},
          {"head", head ? Json(*head) : Json()},
          {"versions", versions},
          {"live", live},
          {"pipeline", view.pipeline}};
}

Json VersionDiffJson(const promotion::VersionDiff& diff) {
  return {{"automation", diff.automation}, {"from", diff.from}, {"to", diff.to}, {"changes", diff.changes}};
}

Json DeploymentJson(const promotion::Deployment& d, const NameOf& names) {
  Json j = {{"seq", d.seq},
            {"environment", d.environment},
            {"automation", d.automation},
            {"version", d.version},
            {"previous_version", OrNull(d.previous_version)},
            {"promotion", OrNull(d.promotion_id)},
            {"kind", d.kind},
            {"deployed_at", d.deployed_at}};
  PutWho(j, "deployed_by", d.deployed_by, names);
  return j;
}

Json LiveJson(const std::string& environment, const std::vector<promotion::LiveAutomation>& live,
              const NameOf& names) {
  Json items = Json::array();
  for (const auto& l : live) {
    Json j = DeploymentJson(l.deployment, names);
    j["seq"] = l.version_seq ? Json(*l.version_seq) : Json();  // the version's number
    j["since"] = l.deployment.deployed_at;
    items.push_back(std::move(j));
  }
  return {{"environment", environment}, {"items", items}};
}

Json DeploymentsJson(const std::string& environment, const std::vector<promotion::Deployment>& deployments,
                     const NameOf& names) {
  Json items = Json::array();
  for (const auto& d : deployments) items.push_back(DeploymentJson(d, names));
  return {{"environment", environment}, {"items", items}};
}

Json EnvironmentDiffJson(const promotion::EnvironmentDiff& diff) {
  Json items = Json::array();
  for (const auto& a : diff.automations) {
    items.push_back({{"automation", a.automation},
                     {"from_version", a.from_version},
                     {"to_version", a.to_version ? Json(*a.to_version) : Json()},
                     {"status", a.status},
                     {"changes", a.changes},
                     {"missing_variables", a.missing_variables},
                     {"missing_secrets", a.missing_secrets}});
  }
  return {{"from", diff.from},
          {"to", diff.to},
          {"automations", items},
          {"variables_only_in_from", diff.variables_only_in_from},
          {"secrets_only_in_from", diff.secrets_only_in_from}};
}

Json PutPipelineJson(const promotion::PutPipelineResult& put) {
  return {{"name", put.name}, {"version", put.version}, {"digest", put.digest}, {"created", put.created}};
}

Json PipelineListJson(const std::vector<promotion::Pipeline>& pipelines) {
  Json items = Json::array();
  for (const auto& p : pipelines) {
    Json j = p.ToJson();
    j["origin"] = p.version == 0 ? "built-in" : "database";
    items.push_back(std::move(j));
  }
  return {{"items", items}};
}

Json PipelineDocumentJson(const promotion::PipelineDocument& doc) {
  Json j = doc.pipeline.ToJson();
  j["source"] = doc.source;
  j["origin"] = doc.pipeline.version == 0 ? "built-in" : "database";
  return j;
}

Json PipelineVersionsJson(const std::string& name, const std::vector<promotion::StoredPipeline>& versions,
                          const NameOf& names) {
  Json list = Json::array();
  for (const auto& v : versions) {
    Json j = {{"version", v.version}, {"digest", v.digest}, {"created_at", v.created_at}};
    PutWho(j, "created_by", v.created_by, names);
    list.push_back(std::move(j));
  }
  return {{"name", name}, {"versions", list}};
}

Json PromotionPageJson(const promotion::PromotionPage& page, const NameOf& names) {
  const PromotionRecord& p = page.promotion;
  Json approvals = Json::array(), history = Json::array();
  for (const auto& a : page.approvals) {
    Json j = {{"decision", a.decision}, {"version", a.version}, {"roles", a.roles}, {"comment", a.comment},
              {"at", a.at}};
    PutWho(j, "user", a.user, names);
    approvals.push_back(std::move(j));
  }
  for (const auto& h : page.history) {
    Json j = {{"seq", h.seq}, {"from", OrNull(h.from_state)}, {"to", h.to_state}, {"at", h.at}, {"note", h.note}};
    PutWho(j, "actor", h.actor, names);
    history.push_back(std::move(j));
  }
  Json out = {{"id", p.id},
              {"automation", p.automation},
              {"version", p.version},
              {"from", p.from},
              {"to", p.to},
              {"kind", p.kind},
              {"state", State(p)},
              {"emergency", p.emergency},
              {"reason", p.reason},
              {"scheduled_for", OrNull(p.scheduled_for)},
              {"pipeline", p.pipeline},
              {"checks", p.checks},
              {"decision", p.decision},
              {"approvals", approvals},
              {"override", p.override_},
              {"review", p.review},
              {"history", history},
              {"created_at", p.created_at},
              {"updated_at", p.updated_at}};
  PutWho(out, "requester", p.requester, names);
  PutWho(out, "author", p.author, names);
  return out;
}

Json PromotionListJson(const std::vector<promotion::PromotionRecord>& promotions, const NameOf& names) {
  Json items = Json::array();
  for (const auto& p : promotions) items.push_back(SummaryJson(p, names));
  return {{"items", items}};
}

}  // namespace cloister::api_json
