#include "governance/promotion/promotion_service.h"

#include <algorithm>
#include <set>
#include <string_view>

#include "appliance/core/encoding.h"
#include "audit/verify/jcs.h"
#include "governance/environments/environment_config.h"
#include "governance/environments/environment_store.h"
#include "governance/policy/calendar.h"
#include "governance/policy/document.h"

namespace cloister::promotion {
namespace {

// A stored user id as people read it: "<key>" holds the current name and
// "<key>_id" the id that every comparison uses.
void PutWho(Json& out, const std::string& key, const std::string& id, const Service::NameOf& names) {
  out[key] = names(id);
  out[key + "_id"] = id;
}

}  // namespace

namespace {

const std::set<std::string> kOpen = {"pending_checks", "awaiting_approval", "approved", "scheduled"};

int64_t Seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

Json ParseOr(const std::string& text, Json fallback) {
  if (text.empty()) return fallback;
  auto j = ParseJson(text);
  return j.ok() ? *j : fallback;
}

Result<std::vector<std::string>> EnvironmentNames(Connection& conn) {
  CL_ASSIGN_OR_RETURN(auto envs, ListEnvironments(conn));
  std::vector<std::string> out;
  for (const auto& e : envs) out.push_back(e.name);
  return out;
}

Status CheckEnvironmentName(const std::vector<std::string>& envs, const std::string& env) {
  if (std::find(envs.begin(), envs.end(), env) == envs.end()) {
    std::string list;
    for (const auto& e : envs) list += (list.empty() ? "" : ", ") + e;
    return Status::InvalidArgument("\"" + env + "\" is not an environment (" + list + ")");
  }
  return Status::Ok();
}

// The variable and secret names set in an environment.
struct ConfigNames {
  std::set<std::string> variables, secrets;
};

Result<ConfigNames> NamesIn(Connection& conn, const std::string& environment) {
  ConfigNames out;
  CL_ASSIGN_OR_RETURN(auto vars, ListVariables(conn, environment));
  CL_ASSIGN_OR_RETURN(auto secrets, ListSecrets(conn, environment));
  for (const auto& v : vars) out.variables.insert(v.name);
  for (const auto& s : secrets) out.secrets.insert(s.name);
  return out;
}

// The names in `wanted` that `have` lacks, as a JSON list.
Json Missing(const std::set<std::string>& wanted, const std::set<std::string>& have) {
  Json out = Json::array();
  for (const auto& n : wanted) {
    if (!have.count(n)) out.push_back(n);
  }
  return out;
}

// ---- versions and deployments ----------------------------------------------

constexpr const char* kVersionColumns = "id, automation, canonical, source, author, created_at, seq";

Service::StoredVersion VersionRow(const Statement& s) {
  return {s.ColumnText(0), s.ColumnText(1), s.ColumnText(2), s.ColumnText(3), s.ColumnText(4), s.ColumnText(5),
          s.ColumnInt(6)};
}

Result<std::optional<Service::StoredVersion>> FindVersion(Connection& conn, const std::string& id) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached(std::string("SELECT ") + kVersionColumns +
                                                 " FROM automation_versions WHERE id = ?"));
  s->Bind(1, id);
  CL_ASSIGN_OR_RETURN(const bool row, s->Step());
  std::optional<Service::StoredVersion> out;
  if (row) out = VersionRow(*s);
  s->Reset();
  return out;
}

Result<std::vector<Service::StoredVersion>> VersionsOf(Connection& conn, const std::string& automation) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached(std::string("SELECT ") + kVersionColumns +
                                                 " FROM automation_versions WHERE automation = ? ORDER BY seq"));
  s->Bind(1, automation);
  std::vector<Service::StoredVersion> out;
  for (;;) {
    CL_ASSIGN_OR_RETURN(const bool row, s->Step());
    if (!row) return out;
    out.push_back(VersionRow(*s));
  }
}

struct Deployment {
  int64_t seq = 0;
  std::string environment, automation, version, previous_version, promotion_id, kind, deployed_at, deployed_by;
  Json ToJson(const Service::NameOf& names) const {
    Json j = {{"seq", seq},
            {"environment", environment},
            {"automation", automation},
            {"version", version},
            {"previous_version", previous_version.empty() ? Json() : Json(previous_version)},
            {"promotion", promotion_id.empty() ? Json() : Json(promotion_id)},
            {"kind", kind},
            {"deployed_at", deployed_at}};
    PutWho(j, "deployed_by", deployed_by, names);
    return j;
  }
};

constexpr const char* kDeploymentColumns =
    "seq, environment, automation, version, COALESCE(previous_version, ''), COALESCE(promotion_id, ''), kind, "
    "deployed_at, deployed_by";

Result<std::vector<Deployment>> Deployments(Statement* s) {
  std::vector<Deployment> out;
  for (;;) {
    CL_ASSIGN_OR_RETURN(const bool row, s->Step());
    if (!row) return out;
    out.push_back({s->ColumnInt(0), s->ColumnText(1), s->ColumnText(2), s->ColumnText(3), s->ColumnText(4),
                   s->ColumnText(5), s->ColumnText(6), s->ColumnText(7), s->ColumnText(8)});
  }
}

// What is live in `environment`: the latest deployment of each automation
// (of one automation when `automation` is set).
Result<std::vector<Deployment>> LiveIn(Connection& conn, const std::string& environment, const std::string& automation) {
  CL_ASSIGN_OR_RETURN(Statement * s,
                      conn.Cached(std::string("SELECT ") + kDeploymentColumns +
                                  " FROM deployments d WHERE environment = ?1 AND (?2 = '' OR automation = ?2) AND "
                                  "seq = (SELECT MAX(seq) FROM deployments m WHERE m.environment = d.environment "
                                  "AND m.automation = d.automation) ORDER BY automation"));
  s->Bind(1, environment).Bind(2, automation);
  return Deployments(s);
}

Result<std::optional<Deployment>> LiveOne(Connection& conn, const std::string& environment,
                                          const std::string& automation) {
  CL_ASSIGN_OR_RETURN(auto all, LiveIn(conn, environment, automation));
  std::optional<Deployment> out;
  if (!all.empty()) out = all.front();
  return out;
}

Status AddDeployment(Transaction& tx, const Deployment& d) {
  CL_ASSIGN_OR_RETURN(Statement * s,
                      tx.Prepare("INSERT INTO deployments (environment, automation, version, previous_version, "
                                 "promotion_id, kind, deployed_at, deployed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
  s->Bind(1, d.environment).Bind(2, d.automation).Bind(3, d.version);
  d.previous_version.empty() ? s->BindNull(4) : s->Bind(4, d.previous_version);
  d.promotion_id.empty() ? s->BindNull(5) : s->Bind(5, d.promotion_id);
  return s->Bind(6, d.kind).Bind(7, d.deployed_at).Bind(8, d.deployed_by).Run();
}

// ---- pipelines ---------------------------------------------------------------

struct StoredPipeline {
  std::string name, source, digest, created_at, created_by;
  int64_t version = 0;
};

Result<std::vector<StoredPipeline>> PipelineRows(Statement* s) {
  std::vector<StoredPipeline> out;
  for (;;) {
    CL_ASSIGN_OR_RETURN(const bool row, s->Step());
    if (!row) return out;
    out.push_back({s->ColumnText(0), s->ColumnText(2), s->ColumnText(3), s->ColumnText(4), s->ColumnText(5),
                   s->ColumnInt(1)});
  }
}

Result<std::vector<StoredPipeline>> StoredPipelines(Connection& conn, const std::string& name) {
  CL_ASSIGN_OR_RETURN(Statement * s,
                      conn.Cached("SELECT name, version, source, digest, created_at, created_by FROM pipeline_documents "
                                  "p WHERE (?1 = '' AND version = (SELECT MAX(version) FROM pipeline_documents m WHERE "
                                  "m.name = p.name)) OR name = ?1 ORDER BY name, version"));
  s->Bind(1, name);
  return PipelineRows(s);
}

// Every pipeline in force: the stored ones, and the built-in default unless
// one named "default" is stored.
Result<std::vector<Pipeline>> PipelinesInForce(Connection& conn, const std::vector<std::string>& envs) {
  CL_ASSIGN_OR_RETURN(auto stored, StoredPipelines(conn, ""));
  std::vector<Pipeline> out;
  bool has_default = false;
  for (const auto& row : stored) {
    auto p = ParsePipeline(row.source, envs);
    if (!p.ok()) return Status::FailedPrecondition("stored pipeline " + row.name + " v" + std::to_string(row.version) +
                                                   " no longer loads: " + p.status().message());
    p->version = row.version;
    has_default = has_default || p->name == "default";
    out.push_back(std::move(*p));
  }
  if (!has_default) {
    CL_ASSIGN_OR_RETURN(Pipeline d, ParsePipeline(DefaultPipelineSource(envs), envs));
    out.push_back(std::move(d));
  }
  return out;
}

Result<Pipeline> PipelineFor(const std::vector<Pipeline>& pipelines, const std::string& automation) {
  const Pipeline* chosen = nullptr;
  const Pipeline* fallback = nullptr;
  for (const auto& p : pipelines) {
    if (p.name == "default") {
      fallback = &p;
    } else if (p.Matches(automation)) {
      if (chosen != nullptr) {
        return Status::FailedPrecondition("automation " + automation + " matches pipelines " + chosen->name + " and " +
                                          p.name + "; narrow their \"automations\" so one applies");
      }
      chosen = &p;
    }
  }
  if (chosen == nullptr) chosen = fallback;
  if (chosen == nullptr) return Status::Internal("no default pipeline");
  return *chosen;
}

// ---- promotions ----------------------------------------------------------------

struct Row {
  std::string id, automation, version, from, to, kind, state, requester, author, reason, scheduled_for, pipeline,
      created_at, updated_at;
  bool emergency = false;
  Json checks = Json::array(), decision, override_, review;
};

struct Approval {
  std::string user, decision, version, comment, at;
  Json roles;
  Json ToJson(const Service::NameOf& names) const {
    Json j = {{"decision", decision}, {"version", version}, {"roles", roles}, {"comment", comment}, {"at", at}};
    PutWho(j, "user", user, names);
    return j;
  }
};

constexpr const char* kPromotionColumns =
    "id, automation, version, from_env, to_env, kind, state, requester, author, emergency, reason, "
    "COALESCE(scheduled_for, ''), pipeline, checks, COALESCE(decision, ''), COALESCE(override, ''), "
    "COALESCE(review, ''), created_at, updated_at";

Row PromotionRow(const Statement& s) {
  Row r;
  r.id = s.ColumnText(0);
  r.automation = s.ColumnText(1);
  r.version = s.ColumnText(2);
  r.from = s.ColumnText(3);
  r.to = s.ColumnText(4);
  r.kind = s.ColumnText(5);
  r.state = s.ColumnText(6);
  r.requester = s.ColumnText(7);
  r.author = s.ColumnText(8);
  r.emergency = s.ColumnInt(9) != 0;
  r.reason = s.ColumnText(10);
  r.scheduled_for = s.ColumnText(11);
  r.pipeline = s.ColumnText(12);
  r.checks = ParseOr(s.ColumnText(13), Json::array());
  r.decision = ParseOr(s.ColumnText(14), Json());
  r.override_ = ParseOr(s.ColumnText(15), Json());
  r.review = ParseOr(s.ColumnText(16), Json());
  r.created_at = s.ColumnText(17);
  r.updated_at = s.ColumnText(18);
  return r;
}

Result<std::vector<Row>> PromotionRows(Statement* s) {
  std::vector<Row> out;
  for (;;) {
    CL_ASSIGN_OR_RETURN(const bool row, s->Step());
    if (!row) return out;
    out.push_back(PromotionRow(*s));
  }
}

Result<Row> LoadPromotion(Connection& conn, const std::string& id) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached(std::string("SELECT ") + kPromotionColumns +
                                                 " FROM promotions WHERE id = ?"));
  s->Bind(1, id);
  CL_ASSIGN_OR_RETURN(auto rows, PromotionRows(s));
  if (rows.empty()) return Status::NotFound("no promotion " + id);
  return rows.front();
}

Result<std::optional<Row>> OpenPromotion(Connection& conn, const std::string& automation, const std::string& to) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached(std::string("SELECT ") + kPromotionColumns +
                                                 " FROM promotions WHERE automation = ? AND to_env = ? AND state IN "
                                                 "('pending_checks', 'awaiting_approval', 'approved', 'scheduled')"));
  s->Bind(1, automation).Bind(2, to);
  CL_ASSIGN_OR_RETURN(auto rows, PromotionRows(s));
  std::optional<Row> out;
  if (!rows.empty()) out = rows.front();
  return out;
}

Result<std::vector<Approval>> LoadApprovals(Connection& conn, const std::string& id) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached("SELECT user, decision, version, comment, at, roles FROM "
                                                 "promotion_approvals WHERE promotion_id = ? ORDER BY at, user"));
  s->Bind(1, id);
  std::vector<Approval> out;
  for (;;) {
    CL_ASSIGN_OR_RETURN(const bool row, s->Step());
    if (!row) return out;
    out.push_back({s->ColumnText(0), s->ColumnText(1), s->ColumnText(2), s->ColumnText(3), s->ColumnText(4),
                   ParseOr(s->ColumnText(5), Json::array())});
  }
}

Result<Json> History(Connection& conn, const std::string& id, const Service::NameOf& names) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached("SELECT seq, COALESCE(from_state, ''), to_state, actor, at, note "
                                                 "FROM promotion_history WHERE promotion_id = ? ORDER BY seq"));
  s->Bind(1, id);
  Json out = Json::array();
  for (;;) {
    CL_ASSIGN_OR_RETURN(const bool row, s->Step());
    if (!row) return out;
    Json h = {{"seq", s->ColumnInt(0)},
              {"from", s->ColumnText(1).empty() ? Json() : Json(s->ColumnText(1))},
              {"to", s->ColumnText(2)},
              {"at", s->ColumnText(4)},
              {"note", s->ColumnText(5)}};
    PutWho(h, "actor", s->ColumnText(3), names);
    out.push_back(std::move(h));
  }
}

// Inserts a new promotion, or updates what changes after creation.
Status SavePromotion(Transaction& tx, const Row& r, bool insert) {
  const auto bind_json = [](Statement* s, int index, const Json& j) {
    j.is_null() ? s->BindNull(index) : s->Bind(index, j.dump());
  };
  if (!insert) {
    CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("UPDATE promotions SET state = ?, checks = ?, decision = ?, "
                                                  "override = ?, review = ?, updated_at = ? WHERE id = ?"));
    s->Bind(1, r.state).Bind(2, r.checks.dump());
    bind_json(s, 3, r.decision);
    bind_json(s, 4, r.override_);
    bind_json(s, 5, r.review);
    return s->Bind(6, r.updated_at).Bind(7, r.id).Run();
  }
  CL_ASSIGN_OR_RETURN(Statement * s,
                      tx.Prepare("INSERT INTO promotions (id, automation, version, from_env, to_env, kind, state, "
                                 "requester, author, emergency, reason, scheduled_for, pipeline, checks, decision, "
                                 "override, review, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                                 "?, ?, ?, ?, ?, ?, ?, ?)"));
  s->Bind(1, r.id).Bind(2, r.automation).Bind(3, r.version).Bind(4, r.from).Bind(5, r.to).Bind(6, r.kind);
  s->Bind(7, r.state).Bind(8, r.requester).Bind(9, r.author).Bind(10, static_cast<int64_t>(r.emergency));
  s->Bind(11, r.reason);
  r.scheduled_for.empty() ? s->BindNull(12) : s->Bind(12, r.scheduled_for);
  s->Bind(13, r.pipeline).Bind(14, r.checks.dump());
  bind_json(s, 15, r.decision);
  bind_json(s, 16, r.override_);
  bind_json(s, 17, r.review);
  return s->Bind(18, r.created_at).Bind(19, r.updated_at).Run();
}

std::string NewId(Random& random) {
  uint8_t b[8];
  if (!random.Fill(b, sizeof b).ok()) return "";
  return "prm-" + HexEncode(b, sizeof b);
}

}  // namespace

bool Caller::Holds(const std::vector<std::string>& any_of) const {
  for (const auto& r : roles) {
    if (r == "admin" || std::find(any_of.begin(), any_of.end(), r) != any_of.end()) return true;
  }
  return false;
}

// Everything a promotion's gate reads, loaded inside the writer's unit.
struct Service::Loaded {
  Row p;
  std::vector<Approval> approvals;
  std::vector<std::string> envs;
  Pipeline pipeline;
  Stage stage;
  automation::Definition definition;
  // Policy bindings made from the stage's policies, alive while the decision is.
  std::vector<policy::PolicyBinding> extra;
};

namespace {

enum class Phase { kRequest, kReview, kDeploy };

struct Check {
  std::string name, status, message;  // status: pass, fail, waiting, skipped, pending
  Json details;
  Json ToJson() const {
    Json j = {{"name", name}, {"status", status}, {"message", message}};
    if (!details.is_null()) j["details"] = details;
    return j;
  }
};

struct Context {
  const Clock& clock;
  Random& random;
  AuditLedger& ledger;
  const std::function<std::shared_ptr<const policy::PolicySet>()>& policies;
  policy::EvalLimits limits;
  const Service::NameOf& names;
};

AuditRecord Event(const Caller& caller, const std::string& action, const Row& p) {
  AuditRecord e = caller.audit;
  e.action = action;
  e.outcome = "success";
  e.target_kind = "promotion";
  e.target_id = p.id;
  e.env = p.to;
  e.details = {{"automation", p.automation},
               {"version", p.version},
               {"from", p.from},
               {"to", p.to},
               {"kind", p.kind},
               {"state", p.state},
               {"emergency", p.emergency}};
  if (p.emergency) e.reason = "emergency: " + p.reason;
  return e;
}

}  // namespace

PipelinePolicies BindPipelinePolicies(const Pipeline& pipeline, const std::string& environment,
                                      const policy::PolicySet& set) {
  PipelinePolicies out;
  out.pipeline = pipeline.name;
  for (const auto& name : pipeline.StageFor(environment).policies) {
    if (!set.policies().count(name) || set.policies().at(name).hook != "promotion") {
      out.missing.push_back(name);
      continue;
    }
    policy::PolicyBinding b;
    b.name = "pipeline:" + pipeline.name + "/" + environment + "/" + name;
    b.hook = "promotion";
    b.policies = {name};
    b.environments = {environment};
    b.level = policy::Level::kHardMandatory;
    b.origin = "pipeline " + pipeline.name;
    out.bindings.push_back(std::move(b));
  }
  return out;
}

namespace {

Status Transition(Transaction& tx, Context& ctx, const Caller& caller, Row& p, const std::string& to,
                  const std::string& note) {
  if (p.state == to) return Status::Ok();
  const std::string from = p.state;
  p.state = to;
  p.updated_at = FormatTimestamp(ctx.clock.Now());
  CL_ASSIGN_OR_RETURN(Statement * seq, tx.Prepare("SELECT COUNT(*) FROM promotion_history WHERE promotion_id = ?"));
  seq->Bind(1, p.id);
  CL_RETURN_IF_ERROR(seq->Step().status());
  const int64_t n = seq->ColumnInt(0) + 1;
  CL_ASSIGN_OR_RETURN(Statement * h, tx.Prepare("INSERT INTO promotion_history (promotion_id, seq, from_state, "
                                                "to_state, actor, at, note) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  h->Bind(1, p.id).Bind(2, n);
  from.empty() ? h->BindNull(3) : h->Bind(3, from);
  CL_RETURN_IF_ERROR(h->Bind(4, to).Bind(5, caller.user()).Bind(6, p.updated_at).Bind(7, note).Run());
  AuditRecord e = Event(caller, from.empty() ? "promotion.requested" : "promotion." + to, p);
  e.details["from_state"] = from.empty() ? Json() : Json(from);
  e.details["note"] = note;
  return ctx.ledger.Append(tx, e).status();
}

// Identities compare by user id; the pipeline's "users" list names people,
// matched against the approver's current name.
bool Eligible(const Approval& a, const Row& p, const ApprovalRule& rule, const Service::NameOf& names,
              std::string* why) {
  const std::string name = names(a.user);
  if (a.user == p.requester && !rule.allow_requester) {
    *why = name + " requested this promotion";
    return false;
  }
  if (a.user == p.author && !rule.allow_author) {
    *why = name + " wrote version " + p.version.substr(0, 12);
    return false;
  }
  if (a.version != p.version) {
    *why = "approved another version";
    return false;
  }
  if (std::find(rule.users.begin(), rule.users.end(), name) != rule.users.end()) return true;
  for (const Json& r : a.roles) {
    if (r == "admin" || std::find(rule.roles.begin(), rule.roles.end(), r.get<std::string>()) != rule.roles.end()) {
      return true;
    }
  }
  *why = name + " holds none of the roles " + Json(rule.roles).dump() + " in " + p.to;
  return false;
}

// People appear in the policy input by name (names are unique and never
// reused), resolved from the stored ids, so no credential can choose one.
Json PolicyInput(Connection& conn, const Service::Loaded& l, const ConfigNames& target, int64_t now,
                 const Service::NameOf& names) {
  const Row& p = l.p;
  Json approvals = Json::array();
  for (const auto& a : l.approvals) {
    if (a.decision != "approve") continue;
    const auto at = policy::ParseTime(a.at);
    approvals.push_back({{"user", names(a.user)},
                         {"roles", a.roles},
                         {"at", policy::FormatTime(at.value_or(now))},
                         {"version", a.version},
                         {"comment", a.comment}});
  }
  const auto requested = ParseTimestamp(p.created_at);
  Json promotion = {{"id", p.id},
                    {"automation", p.automation},
                    {"version", p.version},
                    {"from", p.from},
                    {"to", p.to},
                    {"requester", names(p.requester)},
                    {"author", names(p.author)},
                    {"requested_at", policy::FormatTime(requested ? Seconds(*requested) : now)},
                    {"emergency", p.emergency},
                    {"reason", p.reason},
                    {"approvals", approvals}};
  if (!p.scheduled_for.empty()) promotion["scheduled_for"] = p.scheduled_for;
  Json live = Json::array();
  for (const auto& env : l.envs) {
    auto d = LiveOne(conn, env, p.automation);
    if (d.ok() && *d) {
      const auto since = ParseTimestamp((*d)->deployed_at);
      live.push_back({{"environment", env}, {"version", (*d)->version},
                      {"since", policy::FormatTime(since ? Seconds(*since) : now)}});
    }
  }
  const auto settings = GetSettings(conn, p.to);
  const int64_t position = std::find(l.envs.begin(), l.envs.end(), p.to) - l.envs.begin();
  return {{"time", policy::FormatTime(now)},
          {"promotion", promotion},
          {"definition", l.definition.PolicyView()},
          {"environment",
           {{"name", p.to},
            {"position", position},
            {"egress_allow", settings.ok() ? settings->egress_allow : std::vector<std::string>{}},
            {"model_endpoints", settings.ok() ? settings->model_endpoints : std::vector<std::string>{}},
            {"variables", target.variables},
            {"secrets", target.secrets}}},
          {"live", live},
          {"evidence", Json::array()}};
}

// Runs every check of the promotion's gate, stores them on it and moves it
// to the state they lead to (at deployment, a passing gate leaves the state
// for the caller). Records the policy decision when one is made.
Status Gate(Transaction& tx, Context& ctx, const Caller& caller, Service::Loaded& l, Phase phase) {
  Connection& conn = tx.connection();
  Row& p = l.p;
  const int64_t now = Seconds(ctx.clock.Now());
  std::vector<Check> checks;
  bool failed = false, waiting = false;
  const auto add = [&](Check c) {
    // At deployment a window only holds the deployment back (the caller refuses it).
    failed = failed || (c.status == "fail" && !(phase == Phase::kDeploy && c.name == "window"));
    waiting = waiting || c.status == "waiting" || c.status == "pending";
    checks.push_back(std::move(c));
  };

  // The version is live where it is promoted from.
  if (p.kind == "rollback") {
    add({"source", "pass", "rollback to the version live in " + p.to + " before the current one", nullptr});
  } else {
    CL_ASSIGN_OR_RETURN(auto live, LiveOne(conn, p.from, p.automation));
    if (live && live->version == p.version) {
      add({"source", "pass", "version is live in " + p.from, nullptr});
    } else {
      add({"source", "fail",
           "version " + p.version.substr(0, 12) + " is no longer live in " + p.from +
               (live ? " (superseded by " + live->version.substr(0, 12) + ")" : ""),
           {{"live_in_source", live ? Json(live->version) : Json()}}});
    }
  }

  // Variables and secrets the version needs exist in the target.
  CL_ASSIGN_OR_RETURN(const ConfigNames target, NamesIn(conn, p.to));
  {
    const Json missing_vars = Missing(l.definition.variables, target.variables);
    const Json missing_secrets = Missing(l.definition.secrets, target.secrets);
    if (missing_vars.empty() && missing_secrets.empty()) {
      add({"configuration", "pass", "every variable and secret the version references is set in " + p.to, nullptr});
    } else {
      std::string what;
      for (const auto& v : missing_vars) what += (what.empty() ? "" : ", ") + std::string("variable ") + v.get<std::string>();
      for (const auto& s : missing_secrets) what += (what.empty() ? "" : ", ") + std::string("secret ") + s.get<std::string>();
      add({"configuration", "fail", p.to + " lacks " + what,
           {{"missing_variables", missing_vars}, {"missing_secrets", missing_secrets}}});
    }
  }

  // Scheduling allowed, and the deployment time outside deny windows.
  const auto scheduled = p.scheduled_for.empty() ? std::nullopt : policy::ParseTime(p.scheduled_for);
  if (scheduled && !l.stage.scheduling) {
    add({"schedule", "fail", "the pipeline does not allow scheduled promotions into " + p.to, nullptr});
  }
  if (p.kind == "rollback") {
    add({"window", "skipped", "rollbacks are not held by deny windows", nullptr});
  } else {
    const int64_t at = phase == Phase::kDeploy ? now : scheduled.value_or(now);
    const std::string blocked = WindowBlocks(l.stage, at);
    if (blocked.empty()) {
      add({"window", "pass", "no deny window at " + policy::FormatTime(at), nullptr});
    } else if (p.emergency && l.stage.break_glass_skips_windows) {
      add({"window", "skipped", "break-glass: " + blocked, nullptr});
    } else if (phase == Phase::kReview) {
      add({"window", "notice", blocked + "; the deployment must wait until it ends", nullptr});
    } else {
      add({"window", "fail", blocked, nullptr});
    }
  }

  // Approvals.
  const ApprovalRule& rule = p.kind == "rollback" ? l.stage.rollback : l.stage.approvals;
  bool approved = false;
  {
    Json counted = Json::array(), not_counted = Json::array();
    std::set<std::string> users;
    for (const auto& a : l.approvals) {
      if (a.decision != "approve") continue;
      std::string why;
      if (Eligible(a, p, rule, ctx.names, &why) && users.insert(a.user).second) {
        counted.push_back(ctx.names(a.user));
      } else {
        not_counted.push_back({{"user", ctx.names(a.user)}, {"why", why}});
      }
    }
    const int have = static_cast<int>(counted.size());
    const Json details = {{"required", rule.required}, {"counted", counted}, {"not_counted", not_counted},
                          {"roles", rule.roles}, {"users", rule.users}};
    if (p.emergency && l.stage.break_glass_skips_approvals && have < rule.required) {
      approved = true;
      add({"approvals", "skipped", "break-glass: approvals skipped; an approver must review this promotion afterwards",
           details});
    } else if (have >= rule.required) {
      approved = true;
      add({"approvals", "pass", std::to_string(have) + " of " + std::to_string(rule.required) + " approvals", details});
    } else {
      add({"approvals", "waiting", std::to_string(have) + " of " + std::to_string(rule.required) + " approvals", details});
    }
  }

  // Policy, once nothing else fails and the approvals are in.
  if (p.kind == "rollback") {
    add({"policy", "skipped", "rollbacks return to a version that passed its gates", nullptr});
  } else if (failed || !approved) {
    add({"policy", "pending", "evaluated once the approvals are in and nothing else fails", nullptr});
  } else {
    const auto set = ctx.policies();
    const PipelinePolicies required = BindPipelinePolicies(l.pipeline, p.to, *set);
    l.extra = required.bindings;
    std::string missing;
    for (const auto& name : required.missing) missing += (missing.empty() ? "" : ", ") + name;
    if (!missing.empty()) {
      add({"policy", "fail", "the pipeline requires promotion policies that are not loaded: " + missing, nullptr});
    } else {
      const Json input = PolicyInput(conn, l, target, now, ctx.names);
      CL_ASSIGN_OR_RETURN(policy::Document doc, policy::Document::Bind(*policy::HookSchema("promotion"), input));
      std::optional<policy::OverrideRequest> ov;
      if (l.p.override_.is_object()) {
        ov = policy::OverrideRequest{l.p.override_.value("user", ""),
                                     l.p.override_.value("roles", std::vector<std::string>{}),
                                     l.p.override_.value("reason", "")};
      }
      policy::Evaluator evaluator(ctx.limits);
      const policy::Decision d = set->Decide("promotion", p.to, doc, evaluator, ov ? &*ov : nullptr, &l.extra);
      p.decision = d.ToJson(false);
      AuditRecord e = Event(caller, "policy.decision", p);
      e.outcome = d.allowed ? "success" : "denied";
      e.details = d.ToJson(true);
      e.details["hook"] = "promotion";
      e.details["promotion"] = p.id;
      e.details["version"] = p.version;
      e.details["input_digest"] = Sha256Hex(verify::Canonicalize(input));
      e.details["input"] = input;
      if (d.outcome == "overridden") e.reason = "override: " + ov->reason;
      CL_RETURN_IF_ERROR(ctx.ledger.Append(tx, e).status());
      if (d.outcome == "deny") {
        add({"policy", "fail", "refused by policy: " + d.Summary(), nullptr});
      } else if (d.outcome == "overridable") {
        add({"policy", "waiting",
             "needs an override by one of " + Json(d.override_roles).dump() + ": " + d.Summary() +
                 (d.override_refused.empty() ? "" : " (" + d.override_refused + ")"),
             {{"override_roles", d.override_roles}}});
      } else {
        add({"policy", "pass", d.outcome == "allow" ? "every binding passed" : "passed (" + d.outcome + ")", nullptr});
      }
    }
  }

  p.checks = Json::array();
  for (const auto& c : checks) p.checks.push_back(c.ToJson());
  std::string to;
  if (failed) {
    to = phase == Phase::kDeploy ? "failed" : "blocked";
  } else if (waiting) {
    to = "awaiting_approval";
  } else {
    to = scheduled && *scheduled > now && phase != Phase::kDeploy ? "scheduled" : "approved";
  }
  std::string note;
  for (const auto& c : checks) {
    if (c.status == "fail" || (to == "awaiting_approval" && c.status == "waiting")) {
      note += (note.empty() ? "" : "; ") + c.name + ": " + c.message;
    }
  }
  if (phase == Phase::kDeploy && to == "approved") return Status::Ok();  // the caller deploys
  CL_RETURN_IF_ERROR(Transition(tx, ctx, caller, p, to, note));
  return SavePromotion(tx, p, false);
}

Result<Json> Page(Connection& conn, const Row& p, const Service::NameOf& names) {
  CL_ASSIGN_OR_RETURN(auto approvals, LoadApprovals(conn, p.id));
  CL_ASSIGN_OR_RETURN(Json history, History(conn, p.id, names));
  Json list = Json::array();
  for (const auto& a : approvals) list.push_back(a.ToJson(names));
  Json page = {{"id", p.id},
              {"automation", p.automation},
              {"version", p.version},
              {"from", p.from},
              {"to", p.to},
              {"kind", p.kind},
              {"state", p.state},
              {"emergency", p.emergency},
              {"reason", p.reason},
              {"scheduled_for", p.scheduled_for.empty() ? Json() : Json(p.scheduled_for)},
              {"pipeline", p.pipeline},
              {"checks", p.checks},
              {"decision", p.decision},
              {"approvals", list},
              {"override", p.override_},
              {"review", p.review},
              {"history", history},
              {"created_at", p.created_at},
              {"updated_at", p.updated_at}};
  PutWho(page, "requester", p.requester, names);
  PutWho(page, "author", p.author, names);
  return page;
}

Json Summary(const Row& p, const Service::NameOf& names) {
  Json j = {{"id", p.id},           {"automation", p.automation}, {"version", p.version},
            {"from", p.from},       {"to", p.to},                 {"kind", p.kind},
            {"state", p.state},     {"emergency", p.emergency},
            {"reviewed", !p.review.is_null()}, {"created_at", p.created_at}, {"updated_at", p.updated_at}};
  PutWho(j, "requester", p.requester, names);
  return j;
}

// Open promotions out of `environment` for versions no longer live there
// fail: their approvals were for what is now superseded.
Status FailSuperseded(Transaction& tx, Context& ctx, const Caller& caller, const std::string& automation,
                      const std::string& environment, const std::string& live_version) {
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare(std::string("SELECT ") + kPromotionColumns +
                                                " FROM promotions WHERE automation = ? AND from_env = ? AND kind = "
                                                "'promotion' AND state IN ('pending_checks', 'awaiting_approval', "
                                                "'approved', 'scheduled') AND version != ?"));
  s->Bind(1, automation).Bind(2, environment).Bind(3, live_version);
  CL_ASSIGN_OR_RETURN(auto rows, PromotionRows(s));
  for (Row& r : rows) {
    const std::string note = "superseded: version " + live_version.substr(0, 12) + " is now live in " + environment;
    r.checks.push_back(Check{"source", "fail", note, nullptr}.ToJson());
    CL_RETURN_IF_ERROR(Transition(tx, ctx, caller, r, "failed", note));
    CL_RETURN_IF_ERROR(SavePromotion(tx, r, false));
  }
  return Status::Ok();
}

Result<automation::Definition> DefinitionOf(Connection& conn, const std::string& id) {
  CL_ASSIGN_OR_RETURN(auto v, FindVersion(conn, id));
  if (!v) return Status::NotFound("no version " + id);
  return automation::FromCanonical(v->canonical, v->id);
}

}  // namespace

// ---- automations ------------------------------------------------------------------

Result<Json> Service::SaveAutomation(const Caller& caller, const std::string& name, const std::string& source,
                                     const std::string& if_match) {
  automation::ParseResult parsed = automation::Parse(source);
  if (!parsed.ok()) {
    Json problems = Json::array();
    for (const auto& p : parsed.problems) problems.push_back(p.ToJson());
    return Status::InvalidArgument(automation::FormatProblems(parsed.problems, name + ".yaml"))
        .WithReason("invalid_definition")
        .WithDetails({{"problems", problems}});
  }
  const automation::Definition& def = parsed.definition;
  if (def.name != name) {
    return Status::InvalidArgument("metadata.name is \"" + def.name + "\" but the path names \"" + name + "\"");
  }
  // What the run that committed answers: the saved version, or the policy's
  // refusal (its decision event is kept, the version is not saved).
  struct Saved {
    Json out;
    Status refusal;
  };
  Context ctx{clock_, random_, ledger_, policies_, limits_, names_};
  const Result<Saved> saved = writer_.Write<Saved>([&](Transaction& tx) -> Result<Saved> {
    Connection& conn = tx.connection();
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(conn));
    const std::string& first = envs.front();
    CL_ASSIGN_OR_RETURN(auto versions, VersionsOf(conn, name));
    CL_ASSIGN_OR_RETURN(auto live, LiveOne(conn, first, name));
    const std::string head = live ? live->version : "";
    if (!if_match.empty() && if_match != head) {
      return Status::Conflict("stale If-Match: the live version in " + first + " is " +
                              (head.empty() ? "none" : head) + ", not " + if_match)
          .WithReason("stale")
          .WithDetails({{"current", head}});
    }
    auto existing = std::find_if(versions.begin(), versions.end(), [&](const auto& v) { return v.id == def.id; });
    Json out = {{"name", name}, {"version", def.id}, {"environment", first}};
    if (head == def.id) {
      out["created"] = false;
      out["seq"] = existing->seq;
      return Saved{out, Status::Ok()};
    }
    // The automation.save policy hook.
    const auto set = policies_();
    if (set->HasBindings("automation.save")) {
      const Json input = {{"time", policy::FormatTime(Seconds(clock_.Now()))},
                          {"actor", {{"user", caller.user_name()}, {"kind", caller.audit.actor.kind}, {"roles", caller.roles},
                                     {"bindings", Json::array()}}},
                          {"environment", {{"name", first}, {"position", 0}}},
                          {"definition", def.PolicyView()},
                          {"version", def.id},
                          {"previous_version", head}};
      CL_ASSIGN_OR_RETURN(policy::Document doc, policy::Document::Bind(*policy::HookSchema("automation.save"), input));
      policy::Evaluator evaluator(limits_);
      const policy::Decision d = set->Decide("automation.save", first, doc, evaluator);
      if (std::any_of(d.bindings.begin(), d.bindings.end(), [](const auto& b) { return b.failed; })) {
        AuditRecord e = caller.audit;
        e.action = "policy.decision";
        e.outcome = d.allowed ? "success" : "denied";
        e.target_kind = "automation";
        e.target_id = name;
        e.env = first;
        e.details = d.ToJson(true);
        e.details["hook"] = "automation.save";
        e.details["input_digest"] = Sha256Hex(verify::Canonicalize(input));
        e.details["input"] = input;
        CL_RETURN_IF_ERROR(ledger_.Append(tx, e).status());
        if (!d.allowed) {
          // Keep the decision event; refuse the save after the commit.
          return Saved{Json(), Status::PermissionDenied("refused by policy: " + d.Summary())
                                   .WithReason("policy_denied")
                                   .WithDetails({{"decision", d.ToJson(false)}})};
        }
      }
    }
    const std::string now = FormatTimestamp(clock_.Now());
    int64_t seq = existing != versions.end() ? existing->seq : static_cast<int64_t>(versions.size()) + 1;
    if (existing == versions.end()) {
      CL_ASSIGN_OR_RETURN(Statement * ins,
                          tx.Prepare("INSERT INTO automation_versions (id, automation, seq, canonical, source, author, "
                                     "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"));
      CL_RETURN_IF_ERROR(ins->Bind(1, def.id).Bind(2, name).Bind(3, seq).Bind(4, def.canonical).Bind(5, source)
                             .Bind(6, caller.user()).Bind(7, now).Run());
    }
    CL_RETURN_IF_ERROR(AddDeployment(tx, {0, first, name, def.id, head, "", "save", now, caller.user()}));
    AuditRecord e = caller.audit;
    e.action = "automation.save";
    e.target_kind = "automation";
    e.target_id = name;
    e.env = first;
    e.details = {{"version", def.id},
                 {"seq", seq},
                 {"previous_version", head.empty() ? Json() : Json(head)},
                 {"new_content", existing == versions.end()},
                 {"source_digest", Sha256Hex(source)}};
    CL_RETURN_IF_ERROR(ledger_.Append(tx, e).status());
    CL_RETURN_IF_ERROR(FailSuperseded(tx, ctx, caller, name, first, def.id));
    out["created"] = existing == versions.end();
    out["seq"] = seq;
    out["previous_version"] = head.empty() ? Json() : Json(head);
    return Saved{out, Status::Ok()};
  });
  CL_RETURN_IF_ERROR(saved.status());
  if (!saved->refusal.ok()) return saved->refusal;
  return saved->out;
}

Result<Json> Service::ListAutomations() {
  return reads_.Read<Json>([&](Connection& conn) -> Result<Json> {
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(conn));
    CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached("SELECT automation, COUNT(*), MAX(created_at) FROM "
                                                   "automation_versions GROUP BY automation ORDER BY automation"));
    std::vector<std::tuple<std::string, int64_t, std::string>> rows;
    for (;;) {
      CL_ASSIGN_OR_RETURN(const bool row, s->Step());
      if (!row) break;
      rows.emplace_back(s->ColumnText(0), s->ColumnInt(1), s->ColumnText(2));
    }
    Json items = Json::array();
    for (const auto& [name, count, last] : rows) {
      Json live = Json::object();
      for (const auto& env : envs) {
        CL_ASSIGN_OR_RETURN(auto d, LiveOne(conn, env, name));
        live[env] = d ? Json(d->version) : Json();
      }
      items.push_back({{"name", name}, {"versions", count}, {"last_saved_at", last}, {"live", live}});
    }
    return Json{{"items", items}};
  });
}

Result<Json> Service::GetAutomation(const std::string& name) {
  return reads_.Read<Json>([&](Connection& conn) -> Result<Json> {
    CL_ASSIGN_OR_RETURN(auto versions, VersionsOf(conn, name));
    if (versions.empty()) return Status::NotFound("no automation named " + name);
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(conn));
    Json list = Json::array(), live = Json::object();
    for (const auto& v : versions) {
      Json j = {{"id", v.id}, {"seq", v.seq}, {"created_at", v.created_at}};
      PutWho(j, "author", v.author, names_);
      list.push_back(std::move(j));
    }
    for (const auto& env : envs) {
      CL_ASSIGN_OR_RETURN(auto d, LiveOne(conn, env, name));
      live[env] = d ? d->ToJson(names_) : Json();
    }
    CL_ASSIGN_OR_RETURN(auto pipelines, PipelinesInForce(conn, envs));
    CL_ASSIGN_OR_RETURN(Pipeline pipeline, PipelineFor(pipelines, name));
    return Json{{"name", name},
                {"head", live[envs.front()].is_null() ? Json() : live[envs.front()]["version"]},
                {"versions", list},
                {"live", live},
                {"pipeline", pipeline.name}};
  });
}

Result<Service::StoredVersion> Service::GetVersion(const std::string& name, const std::string& id) {
  return reads_.Read<StoredVersion>([&](Connection& conn) -> Result<StoredVersion> {
    CL_ASSIGN_OR_RETURN(auto v, FindVersion(conn, id));
    if (!v || v->automation != name) return Status::NotFound("automation " + name + " has no version " + id);
    if (Sha256Hex(v->canonical) != v->id) {
      return Status::Corruption("stored version " + id + " of " + name +
                                " does not hash to its id: its content was altered")
          .WithReason("version_integrity");
    }
    return *v;
  });
}

Result<Json> Service::DiffVersions(const std::string& name, const std::string& from, const std::string& to) {
  CL_ASSIGN_OR_RETURN(StoredVersion a, GetVersion(name, from));
  CL_ASSIGN_OR_RETURN(StoredVersion b, GetVersion(name, to));
  CL_ASSIGN_OR_RETURN(Json ja, ParseJson(a.canonical));
  CL_ASSIGN_OR_RETURN(Json jb, ParseJson(b.canonical));
  return Json{{"automation", name}, {"from", from}, {"to", to}, {"changes", automation::Diff(ja, jb)}};
}

// ---- environments -------------------------------------------------------------------

Result<Json> Service::Live(const std::string& environment) {
  return reads_.Read<Json>([&](Connection& conn) -> Result<Json> {
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(conn));
    CL_RETURN_IF_ERROR(CheckEnvironmentName(envs, environment));
    CL_ASSIGN_OR_RETURN(auto live, LiveIn(conn, environment, ""));
    Json items = Json::array();
    for (const auto& d : live) {
      CL_ASSIGN_OR_RETURN(auto v, FindVersion(conn, d.version));
      Json j = d.ToJson(names_);
      j["seq"] = v ? Json(v->seq) : Json();
      j["since"] = d.deployed_at;
      items.push_back(j);
    }
    return Json{{"environment", environment}, {"items", items}};
  });
}

Result<Json> Service::Deployments(const std::string& environment, const std::string& automation) {
  return reads_.Read<Json>([&](Connection& conn) -> Result<Json> {
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(conn));
    CL_RETURN_IF_ERROR(CheckEnvironmentName(envs, environment));
    CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached(std::string("SELECT ") + kDeploymentColumns +
                                                   " FROM deployments WHERE environment = ?1 AND (?2 = '' OR "
                                                   "automation = ?2) ORDER BY seq DESC LIMIT 500"));
    s->Bind(1, environment).Bind(2, automation);
    CL_ASSIGN_OR_RETURN(auto rows, cloister::promotion::Deployments(s));
    Json items = Json::array();
    for (const auto& d : rows) items.push_back(d.ToJson(names_));
    return Json{{"environment", environment}, {"items", items}};
  });
}

Result<Json> Service::DiffEnvironments(const std::string& from, const std::string& to) {
  return reads_.Read<Json>([&](Connection& conn) -> Result<Json> {
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(conn));
    CL_RETURN_IF_ERROR(CheckEnvironmentName(envs, from));
    CL_RETURN_IF_ERROR(CheckEnvironmentName(envs, to));
    CL_ASSIGN_OR_RETURN(auto source, LiveIn(conn, from, ""));
    CL_ASSIGN_OR_RETURN(const ConfigNames target_names, NamesIn(conn, to));
    CL_ASSIGN_OR_RETURN(const ConfigNames source_names, NamesIn(conn, from));
    Json items = Json::array();
    for (const auto& d : source) {
      CL_ASSIGN_OR_RETURN(auto target, LiveOne(conn, to, d.automation));
      CL_ASSIGN_OR_RETURN(automation::Definition def, DefinitionOf(conn, d.version));
      Json item = {{"automation", d.automation},
                   {"from_version", d.version},
                   {"to_version", target ? Json(target->version) : Json()}};
      if (target && target->version == d.version) {
        item["status"] = "same";
        item["changes"] = Json::array();
      } else {
        item["status"] = target ? "differs" : "new";
        Json before = Json::object();
        if (target) {
          CL_ASSIGN_OR_RETURN(automation::Definition old, DefinitionOf(conn, target->version));
          before = old.document;
        }
        item["changes"] = automation::Diff(before, def.document);
      }
      item["missing_variables"] = Missing(def.variables, target_names.variables);
      item["missing_secrets"] = Missing(def.secrets, target_names.secrets);
      items.push_back(item);
    }
    return Json{{"from", from},
                {"to", to},
                {"automations", items},
                {"variables_only_in_from", Missing(source_names.variables, target_names.variables)},
                {"secrets_only_in_from", Missing(source_names.secrets, target_names.secrets)}};
  });
}

// ---- pipelines --------------------------------------------------------------------------

Result<Json> Service::PutPipeline(const Caller& caller, const std::string& name, const std::string& source) {
  return writer_.Write<Json>([&](Transaction& tx) -> Result<Json> {
    Connection& conn = tx.connection();
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(conn));
    CL_ASSIGN_OR_RETURN(Pipeline p, ParsePipeline(source, envs));
    if (p.name != name) {
      return Status::InvalidArgument("metadata.name is \"" + p.name + "\" but the path names \"" + name + "\"");
    }
    const auto set = policies_();
    for (const auto& [env, stage] : p.stages) {
      for (const auto& policy : stage.policies) {
        if (!set->policies().count(policy) || set->policies().at(policy).hook != "promotion") {
          return Status::InvalidArgument("stages." + env + ".policies: no promotion policy named \"" + policy +
                                         "\" is loaded");
        }
      }
    }
    CL_ASSIGN_OR_RETURN(auto versions, StoredPipelines(conn, name));
    const int64_t version = static_cast<int64_t>(versions.size()) + 1;
    if (!versions.empty() && versions.back().digest == p.digest) {
      return Json{{"name", name}, {"version", versions.back().version}, {"digest", p.digest}, {"created", false}};
    }
    CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("INSERT INTO pipeline_documents (name, version, source, digest, "
                                                  "created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)"));
    CL_RETURN_IF_ERROR(s->Bind(1, name).Bind(2, version).Bind(3, source).Bind(4, p.digest)
                           .Bind(5, FormatTimestamp(clock_.Now())).Bind(6, caller.user()).Run());
    AuditRecord e = caller.audit;
    e.action = "pipeline.put";
    e.target_kind = "pipeline";
    e.target_id = name;
    e.details = {{"version", version}, {"digest", p.digest}, {"pipeline", p.ToJson()}};
    CL_RETURN_IF_ERROR(ledger_.Append(tx, e).status());
    return Json{{"name", name}, {"version", version}, {"digest", p.digest}, {"created", true}};
  });
}

Result<Json> Service::ListPipelines() {
  return reads_.Read<Json>([&](Connection& conn) -> Result<Json> {
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(conn));
    CL_ASSIGN_OR_RETURN(auto pipelines, PipelinesInForce(conn, envs));
    Json items = Json::array();
    for (const auto& p : pipelines) {
      Json j = p.ToJson();
      j["origin"] = p.version == 0 ? "built-in" : "database";
      items.push_back(j);
    }
    return Json{{"items", items}};
  });
}

Result<Json> Service::GetPipeline(const std::string& name, int64_t version) {
  return reads_.Read<Json>([&](Connection& conn) -> Result<Json> {
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(conn));
    CL_ASSIGN_OR_RETURN(auto versions, StoredPipelines(conn, name));
    std::string source;
    int64_t found = 0;
    for (const auto& v : versions) {
      if (version == 0 || v.version == version) {
        source = v.source;
        found = v.version;
      }
    }
    if (found == 0 && (version != 0 || name != "default")) {
      return Status::NotFound(version ? "pipeline " + name + " has no version " + std::to_string(version)
                                      : "no pipeline named " + name);
    }
    if (found == 0) source = DefaultPipelineSource(envs);
    CL_ASSIGN_OR_RETURN(Pipeline p, ParsePipeline(source, envs));
    p.version = found;
    Json j = p.ToJson();
    j["source"] = source;
    j["origin"] = found == 0 ? "built-in" : "database";
    return j;
  });
}

Result<Json> Service::PipelineVersions(const std::string& name) {
  return reads_.Read<Json>([&](Connection& conn) -> Result<Json> {
    CL_ASSIGN_OR_RETURN(auto versions, StoredPipelines(conn, name));
    Json list = Json::array();
    for (const auto& v : versions) {
      Json j = {{"version", v.version}, {"digest", v.digest}, {"created_at", v.created_at}};
      PutWho(j, "created_by", v.created_by, names_);
      list.push_back(std::move(j));
    }
    return Json{{"name", name}, {"versions", list}};
  });
}

// ---- promotions ---------------------------------------------------------------------------

Status Service::WriteDenied(const Caller& caller, const std::string& action, const std::string& id, const Status& why) {
  const Status written = writer_.Write([&](Transaction& tx) -> Status {
    AuditRecord e = caller.audit;
    e.action = action;
    e.outcome = "denied";
    e.target_kind = "promotion";
    e.target_id = id;
    e.reason = why.message().substr(0, 500);
    // What was refused and by which rule, so a search by environment and
    // outcome finds it: the promotion's target, automation and version.
    e.details = {{"promotion", id}, {"rule", why.reason()}};
    if (why.details().is_object()) e.details["refusal"] = why.details();
    auto p = LoadPromotion(tx.connection(), id);
    if (p.ok()) {
      e.env = p->to;
      e.details["automation"] = p->automation;
      e.details["version"] = p->version;
      e.details["state"] = p->state;
    }
    return ledger_.Append(tx, e).status();
  });
  return written.ok() ? why : written;
}

Result<Json> Service::Act(const std::string& id,
                          const std::function<Status(Transaction&, Loaded&)>& action) {
  return writer_.Write<Json>([&](Transaction& tx) -> Result<Json> {
    Connection& conn = tx.connection();
    Loaded l;
    if (!id.empty()) {
      CL_ASSIGN_OR_RETURN(l.p, LoadPromotion(conn, id));
      CL_ASSIGN_OR_RETURN(l.approvals, LoadApprovals(conn, id));
      CL_ASSIGN_OR_RETURN(l.definition, DefinitionOf(conn, l.p.version));
    }
    CL_ASSIGN_OR_RETURN(l.envs, EnvironmentNames(conn));
    CL_RETURN_IF_ERROR(action(tx, l));
    return Page(conn, l.p, names_);
  });
}

namespace {

// The stage that gates `p`, from the pipeline in force for its automation.
Status LoadGates(Connection& conn, Service::Loaded& l) {
  CL_ASSIGN_OR_RETURN(auto pipelines, PipelinesInForce(conn, l.envs));
  CL_ASSIGN_OR_RETURN(l.pipeline, PipelineFor(pipelines, l.p.automation));
  l.stage = l.pipeline.StageFor(l.p.to);
  return Status::Ok();
}

Status RequireOpen(const Row& p, std::initializer_list<const char*> states, const std::string& doing) {
  for (const char* s : states) {
    if (p.state == s) return Status::Ok();
  }
  std::string why = "promotion " + p.id + " is " + p.state + "; it cannot be " + doing;
  if (p.state == "failed" || p.state == "blocked") {
    for (const Json& c : p.checks) {
      if (c.value("status", "") == "fail") why += " (" + c.value("name", "") + ": " + c.value("message", "") + ")";
    }
  }
  return Status::Conflict(why).WithReason("promotion_state");
}

// Whether an operation ended in one of its refusals: the answers that are
// also recorded as a denied event (after the unit rolled back). Decided from
// the status the unit's last run returned, never from a variable a run
// sets, which a replay of the unit could leave stale.
bool RefusedWith(const Result<Json>& result, std::initializer_list<std::string_view> reasons) {
  if (result.ok()) return false;
  return std::find(reasons.begin(), reasons.end(), result.status().reason()) != reasons.end();
}

// A refusal of who may act, or of the promotion's state: recorded as denied.
bool Refused(const Result<Json>& result) {
  if (result.ok()) return false;
  const StatusCode c = result.status().code();
  return c == StatusCode::kPermissionDenied || c == StatusCode::kConflict || c == StatusCode::kFailedPrecondition;
}

}  // namespace

Result<Json> Service::Request(const Caller& caller, const PromotionRequest& req) {
  Context ctx{clock_, random_, ledger_, policies_, limits_, names_};
  std::optional<int64_t> scheduled;
  if (!req.scheduled_for.empty()) {
    scheduled = policy::ParseTime(req.scheduled_for);
    if (!scheduled) return Status::InvalidArgument("scheduled_for: expected a time such as 2026-12-01T22:00:00Z");
    if (*scheduled <= Seconds(clock_.Now())) return Status::InvalidArgument("scheduled_for is in the past");
  }
  if (req.emergency && (req.reason.empty() || req.reason.size() > 2000)) {
    return Status::InvalidArgument("an emergency promotion needs a written reason (1 to 2000 characters)");
  }
  return Act("", [&](Transaction& tx, Loaded& l) -> Status {
    Connection& conn = tx.connection();
    CL_RETURN_IF_ERROR(CheckEnvironmentName(l.envs, req.to));
    const auto to = std::find(l.envs.begin(), l.envs.end(), req.to);
    if (to == l.envs.begin()) {
      return Status::InvalidArgument(req.to + " is the first environment: save the automation there instead");
    }
    const std::string from = *(to - 1);
    CL_ASSIGN_OR_RETURN(auto live, LiveOne(conn, from, req.automation));
    if (!live) return Status::FailedPrecondition(req.automation + " has no version live in " + from);
    const std::string version = req.version.empty() ? live->version : req.version;
    CL_ASSIGN_OR_RETURN(auto stored, FindVersion(conn, version));
    if (!stored || stored->automation != req.automation) {
      return Status::NotFound("automation " + req.automation + " has no version " + version);
    }
    if (live->version != version) {
      return Status::FailedPrecondition("version " + version.substr(0, 12) + " is not live in " + from + " (" +
                                        live->version.substr(0, 12) + " is); a version is promoted only from the "
                                        "environment where it is live, to the next one")
          .WithReason("not_live_in_source");
    }
    CL_ASSIGN_OR_RETURN(auto open, OpenPromotion(conn, req.automation, req.to));
    if (open) {
      return Status::Conflict("promotion " + open->id + " of " + req.automation + " to " + req.to + " is still " +
                              open->state)
          .WithReason("promotion_open")
          .WithDetails({{"open_promotion", open->id}});
    }
    l.p.id = NewId(random_);
    l.p.automation = req.automation;
    l.p.version = version;
    l.p.from = from;
    l.p.to = req.to;
    l.p.kind = "promotion";
    CL_RETURN_IF_ERROR(LoadGates(conn, l));
    if (req.emergency && !caller.Holds(l.stage.break_glass_roles)) {
      return Status::PermissionDenied("break-glass into " + req.to + " needs one of the roles " +
                                      Json(l.stage.break_glass_roles).dump() + " (pipeline " + l.pipeline.name + ")")
          .WithReason("break_glass_not_allowed");
    }
    CL_ASSIGN_OR_RETURN(l.definition, automation::FromCanonical(stored->canonical, stored->id));
    l.p.requester = caller.user();
    l.p.author = stored->author;
    l.p.emergency = req.emergency;
    l.p.reason = req.reason;
    l.p.scheduled_for = scheduled ? policy::FormatTime(*scheduled) : "";
    l.p.pipeline = l.pipeline.name + "@" + std::to_string(l.pipeline.version) + ":" + l.pipeline.digest.substr(0, 16);
    l.p.created_at = l.p.updated_at = FormatTimestamp(clock_.Now());
    l.p.state = "";
    CL_RETURN_IF_ERROR(SavePromotion(tx, l.p, true));
    CL_RETURN_IF_ERROR(Transition(tx, ctx, caller, l.p, "pending_checks",
                                  req.emergency ? "emergency: " + req.reason : req.reason));
    return Gate(tx, ctx, caller, l, Phase::kRequest);
  });
}

Result<Json> Service::Rollback(const Caller& caller, const std::string& automation, const std::string& environment,
                               const std::string& reason) {
  Context ctx{clock_, random_, ledger_, policies_, limits_, names_};
  return Act("", [&](Transaction& tx, Loaded& l) -> Status {
    Connection& conn = tx.connection();
    CL_RETURN_IF_ERROR(CheckEnvironmentName(l.envs, environment));
    CL_ASSIGN_OR_RETURN(auto live, LiveOne(conn, environment, automation));
    if (!live) return Status::NotFound(automation + " is not live in " + environment);
    if (live->previous_version.empty()) {
      return Status::FailedPrecondition("no version of " + automation + " was live in " + environment +
                                        " before " + live->version.substr(0, 12) + "; there is nothing to roll back to");
    }
    CL_ASSIGN_OR_RETURN(auto open, OpenPromotion(conn, automation, environment));
    if (open) {
      return Status::Conflict("promotion " + open->id + " of " + automation + " to " + environment + " is still " +
                              open->state)
          .WithReason("promotion_open")
          .WithDetails({{"open_promotion", open->id}});
    }
    CL_ASSIGN_OR_RETURN(auto stored, FindVersion(conn, live->previous_version));
    if (!stored) return Status::Corruption("deployment history names a missing version " + live->previous_version);
    CL_ASSIGN_OR_RETURN(l.definition, automation::FromCanonical(stored->canonical, stored->id));
    l.p.id = NewId(random_);
    l.p.automation = automation;
    l.p.version = stored->id;
    l.p.from = l.p.to = environment;
    l.p.kind = "rollback";
    CL_RETURN_IF_ERROR(LoadGates(conn, l));
    l.p.requester = caller.user();
    l.p.author = stored->author;
    l.p.reason = reason;
    l.p.pipeline = l.pipeline.name + "@" + std::to_string(l.pipeline.version) + ":" + l.pipeline.digest.substr(0, 16);
    l.p.created_at = l.p.updated_at = FormatTimestamp(clock_.Now());
    CL_RETURN_IF_ERROR(SavePromotion(tx, l.p, true));
    CL_RETURN_IF_ERROR(Transition(tx, ctx, caller, l.p, "pending_checks",
                                  "rollback from " + live->version.substr(0, 12) + ": " + reason));
    return Gate(tx, ctx, caller, l, Phase::kRequest);
  });
}

Result<Json> Service::Approve(const Caller& caller, const std::string& id, const std::string& version,
                              const std::string& comment) {
  Context ctx{clock_, random_, ledger_, policies_, limits_, names_};
  auto result = Act(id, [&](Transaction& tx, Loaded& l) -> Status {
    Connection& conn = tx.connection();
    CL_RETURN_IF_ERROR(LoadGates(conn, l));
    // The same approval again changes nothing.
    for (const auto& a : l.approvals) {
      if (a.user == caller.user() && a.decision == "approve" && a.version == version) return Status::Ok();
    }
    CL_RETURN_IF_ERROR(RequireOpen(l.p, {"awaiting_approval"}, "approved"));
    if (version != l.p.version) {
      return Status::Conflict("this promotion is for version " + l.p.version + "; an approval of " + version +
                              " does not apply to it (approvals are bound to one version)")
          .WithReason("version_mismatch");
    }
    const ApprovalRule& rule = l.p.kind == "rollback" ? l.stage.rollback : l.stage.approvals;
    Approval a{caller.user(), "approve", version, comment, FormatTimestamp(clock_.Now()), Json(caller.roles)};
    std::string why;
    if (!Eligible(a, l.p, rule, names_, &why)) {
      const bool self = a.user == l.p.requester || a.user == l.p.author;
      return Status::PermissionDenied("you may not approve this promotion: " + why)
          .WithReason(self ? "self_approval" : "not_an_eligible_approver");
    }
    for (const auto& other : l.approvals) {
      if (other.user == caller.user()) {
        return Status::Conflict(caller.user_name() + " already " + (other.decision == "approve" ? "approved" : "rejected") +
                                " this promotion").WithReason("already_decided");
      }
    }
    CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("INSERT INTO promotion_approvals (promotion_id, user, decision, "
                                                  "version, roles, comment, at) VALUES (?, ?, ?, ?, ?, ?, ?)"));
    CL_RETURN_IF_ERROR(s->Bind(1, id).Bind(2, a.user).Bind(3, a.decision).Bind(4, a.version).Bind(5, a.roles.dump())
                           .Bind(6, comment).Bind(7, a.at).Run());
    l.approvals.push_back(a);
    AuditRecord e = Event(caller, "promotion.approval", l.p);
    e.details["decision"] = "approve";
    e.details["comment"] = comment;
    e.details["roles"] = caller.roles;
    CL_RETURN_IF_ERROR(ledger_.Append(tx, e).status());
    return Gate(tx, ctx, caller, l, Phase::kReview);
  });
  if (RefusedWith(result, {"version_mismatch", "self_approval", "not_an_eligible_approver", "promotion_state"})) {
    return WriteDenied(caller, "promotion.approval", id, result.status());
  }
  return result;
}

Result<Json> Service::Reject(const Caller& caller, const std::string& id, const std::string& comment) {
  Context ctx{clock_, random_, ledger_, policies_, limits_, names_};
  auto result = Act(id, [&](Transaction& tx, Loaded& l) -> Status {
    CL_RETURN_IF_ERROR(LoadGates(tx.connection(), l));
    CL_RETURN_IF_ERROR(RequireOpen(l.p, {"awaiting_approval", "approved", "scheduled"}, "rejected"));
    const ApprovalRule& rule = l.p.kind == "rollback" ? l.stage.rollback : l.stage.approvals;
    if (!caller.Holds(rule.roles) &&
        std::find(rule.users.begin(), rule.users.end(), caller.user_name()) == rule.users.end()) {
      return Status::PermissionDenied("rejecting needs one of the roles " + Json(rule.roles).dump() + " in " + l.p.to)
          .WithReason("not_an_eligible_approver");
    }
    if (comment.empty()) return Status::InvalidArgument("a rejection needs a comment saying why");
    CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("INSERT OR REPLACE INTO promotion_approvals (promotion_id, user, "
                                                  "decision, version, roles, comment, at) VALUES (?, ?, 'reject', ?, ?, "
                                                  "?, ?)"));
    CL_RETURN_IF_ERROR(s->Bind(1, id).Bind(2, caller.user()).Bind(3, l.p.version).Bind(4, Json(caller.roles).dump())
                           .Bind(5, comment).Bind(6, FormatTimestamp(clock_.Now())).Run());
    AuditRecord e = Event(caller, "promotion.approval", l.p);
    e.details["decision"] = "reject";
    e.details["comment"] = comment;
    CL_RETURN_IF_ERROR(ledger_.Append(tx, e).status());
    CL_RETURN_IF_ERROR(Transition(tx, ctx, caller, l.p, "rejected", caller.user_name() + ": " + comment));
    return SavePromotion(tx, l.p, false);
  });
  if (Refused(result)) return WriteDenied(caller, "promotion.approval", id, result.status());
  return result;
}

Result<Json> Service::Cancel(const Caller& caller, const std::string& id, const std::string& reason) {
  Context ctx{clock_, random_, ledger_, policies_, limits_, names_};
  auto result = Act(id, [&](Transaction& tx, Loaded& l) -> Status {
    CL_RETURN_IF_ERROR(RequireOpen(l.p, {"pending_checks", "awaiting_approval", "approved", "scheduled"}, "cancelled"));
    if (caller.user() != l.p.requester && !caller.Holds({"admin"})) {
      return Status::PermissionDenied("only the requester (" + names_(l.p.requester) + ") or an admin may cancel it")
          .WithReason("not_the_requester");
    }
    CL_RETURN_IF_ERROR(Transition(tx, ctx, caller, l.p, "cancelled", caller.user_name() + ": " + reason));
    return SavePromotion(tx, l.p, false);
  });
  if (Refused(result)) return WriteDenied(caller, "promotion.cancel", id, result.status());
  return result;
}

Result<Json> Service::Override(const Caller& caller, const std::string& id, const std::string& reason) {
  Context ctx{clock_, random_, ledger_, policies_, limits_, names_};
  auto result = Act(id, [&](Transaction& tx, Loaded& l) -> Status {
    CL_RETURN_IF_ERROR(LoadGates(tx.connection(), l));
    CL_RETURN_IF_ERROR(RequireOpen(l.p, {"awaiting_approval"}, "overridden"));
    const auto policy_check = std::find_if(l.p.checks.begin(), l.p.checks.end(),
                                           [](const Json& c) { return c.value("name", "") == "policy"; });
    if (policy_check == l.p.checks.end() || (*policy_check).value("status", "") != "waiting") {
      return Status::Conflict("the policy gate is not waiting for an override").WithReason("no_override_needed");
    }
    const auto roles = (*policy_check)["details"].value("override_roles", std::vector<std::string>{});
    if (!caller.Holds(roles)) {
      return Status::PermissionDenied("an override needs one of the roles " + Json(roles).dump() + " in " + l.p.to)
          .WithReason("override_not_allowed");
    }
    if (reason.empty() || reason.size() > 2000) {
      return Status::InvalidArgument("an override needs a written reason (1 to 2000 characters)");
    }
    l.p.override_ = {{"user", caller.user_name()}, {"user_id", caller.user()}, {"roles", caller.roles}, {"reason", reason},
                     {"at", FormatTimestamp(clock_.Now())}};
    AuditRecord e = Event(caller, "promotion.override", l.p);
    e.reason = "override: " + reason;
    CL_RETURN_IF_ERROR(ledger_.Append(tx, e).status());
    return Gate(tx, ctx, caller, l, Phase::kReview);
  });
  if (Refused(result)) return WriteDenied(caller, "promotion.override", id, result.status());
  return result;
}

Result<Json> Service::Deploy(const Caller& caller, const std::string& id) {
  Context ctx{clock_, random_, ledger_, policies_, limits_, names_};
  auto result = Act(id, [&](Transaction& tx, Loaded& l) -> Status {
    Connection& conn = tx.connection();
    CL_RETURN_IF_ERROR(LoadGates(conn, l));
    CL_RETURN_IF_ERROR(RequireOpen(l.p, {"approved", "scheduled"}, "deployed"));
    const auto scheduled = l.p.scheduled_for.empty() ? std::nullopt : policy::ParseTime(l.p.scheduled_for);
    if (scheduled && *scheduled > Seconds(clock_.Now())) {
      return Status::Conflict("promotion " + id + " is scheduled for " + l.p.scheduled_for).WithReason("scheduled");
    }
    // Re-check what may have changed since approval: source, configuration,
    // window, policy. A failure is recorded (the promotion fails); a window
    // in force only refuses this attempt.
    CL_RETURN_IF_ERROR(Gate(tx, ctx, caller, l, Phase::kDeploy));
    if (l.p.state != "approved" && l.p.state != "scheduled") return Status::Ok();
    for (const Json& c : l.p.checks) {
      if (c.value("name", "") == "window" && c.value("status", "") == "fail") {
        return Status::Conflict("not deployed: " + c.value("message", "")).WithReason("deny_window");
      }
    }
    CL_ASSIGN_OR_RETURN(auto live, LiveOne(conn, l.p.to, l.p.automation));
    const std::string previous = live ? live->version : "";
    const std::string now = FormatTimestamp(clock_.Now());
    CL_RETURN_IF_ERROR(AddDeployment(tx, {0, l.p.to, l.p.automation, l.p.version, previous, l.p.id, l.p.kind, now,
                                          caller.user()}));
    CL_RETURN_IF_ERROR(Transition(tx, ctx, caller, l.p, "deployed",
                                  "live in " + l.p.to + (previous.empty() ? "" : ", replacing " + previous.substr(0, 12))));
    CL_RETURN_IF_ERROR(SavePromotion(tx, l.p, false));
    return FailSuperseded(tx, ctx, caller, l.p.automation, l.p.to, l.p.version);
  });
  if (RefusedWith(result, {"deny_window", "promotion_state"})) {
    return WriteDenied(caller, "promotion.deploy", id, result.status());
  }
  if (result.ok() && (*result)["state"] != "deployed") {
    std::string why;
    for (const Json& c : (*result)["checks"]) {
      if (c["status"] == "fail" || c["status"] == "waiting") why += "; " + c["name"].get<std::string>() + ": " + c["message"].get<std::string>();
    }
    return Status::Conflict("not deployed, the promotion is now " + (*result)["state"].get<std::string>() + why)
        .WithReason("deploy_failed")
        .WithDetails({{"promotion", *result}});
  }
  return result;
}

Result<Json> Service::Review(const Caller& caller, const std::string& id, const std::string& comment) {
  auto result = Act(id, [&](Transaction& tx, Loaded& l) -> Status {
    if (!l.p.emergency) return Status::FailedPrecondition("promotion " + id + " is not an emergency promotion");
    if (!l.p.review.is_null()) return Status::Conflict("promotion " + id + " was already reviewed").WithReason("reviewed");
    if (caller.user() == l.p.requester) {
      return Status::PermissionDenied("the requester of a break-glass promotion may not review it")
          .WithReason("self_review");
    }
    if (!caller.Holds({"approver"})) return Status::PermissionDenied("a review needs the approver role in " + l.p.to);
    if (comment.empty()) return Status::InvalidArgument("a review needs a comment");
    l.p.review = {{"user", caller.user_name()}, {"user_id", caller.user()}, {"comment", comment}, {"at", FormatTimestamp(clock_.Now())}};
    l.p.updated_at = l.p.review["at"];
    CL_RETURN_IF_ERROR(SavePromotion(tx, l.p, false));
    AuditRecord e = Event(caller, "promotion.review", l.p);
    e.details["comment"] = comment;
    return ledger_.Append(tx, e).status();
  });
  if (Refused(result)) return WriteDenied(caller, "promotion.review", id, result.status());
  return result;
}

Result<Json> Service::Get(const std::string& id) {
  return reads_.Read<Json>([&](Connection& conn) -> Result<Json> {
    CL_ASSIGN_OR_RETURN(Row p, LoadPromotion(conn, id));
    return Page(conn, p, names_);
  });
}

Result<PipelinePolicies> Service::PipelinePoliciesFor(const std::string& automation, const std::string& environment) {
  return reads_.Read<PipelinePolicies>([&](Connection& conn) -> Result<PipelinePolicies> {
    CL_ASSIGN_OR_RETURN(auto envs, EnvironmentNames(conn));
    CL_ASSIGN_OR_RETURN(auto pipelines, PipelinesInForce(conn, envs));
    CL_ASSIGN_OR_RETURN(Pipeline pipeline, PipelineFor(pipelines, automation));
    return BindPipelinePolicies(pipeline, environment, *policies_());
  });
}

Result<std::string> Service::TargetOf(const std::string& id) {
  return reads_.Read<std::string>([&](Connection& conn) -> Result<std::string> {
    CL_ASSIGN_OR_RETURN(Row p, LoadPromotion(conn, id));
    return p.to;
  });
}

Result<Json> Service::List(const PromotionFilter& f) {
  return reads_.Read<Json>([&](Connection& conn) -> Result<Json> {
    CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached(std::string("SELECT ") + kPromotionColumns +
                                                   " FROM promotions WHERE (?1 = '' OR automation = ?1) AND (?2 = '' "
                                                   "OR to_env = ?2) ORDER BY created_at DESC, id LIMIT 5000"));
    s->Bind(1, f.automation).Bind(2, f.environment);
    CL_ASSIGN_OR_RETURN(auto rows, PromotionRows(s));
    Json items = Json::array();
    for (const Row& r : rows) {
      if (f.state == "open" && !kOpen.count(r.state)) continue;
      if (!f.state.empty() && f.state != "open" && f.state != r.state) continue;
      if (f.unreviewed_emergencies && (!r.emergency || !r.review.is_null())) continue;
      if (static_cast<int>(items.size()) >= f.limit) break;
      items.push_back(Summary(r, names_));
    }
    return Json{{"items", items}};
  });
}

}  // namespace cloister::promotion
