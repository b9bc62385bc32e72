// /v1/audit: the ledger's events, checkpoints, proofs, public key, HMAC form,
// exports and full verification.
#include <charconv>

#include "appliance/api/audit_export.h"
#include "appliance/api/routes.h"

namespace cloister {
namespace {

constexpr size_t kMaxPage = 1000;

std::string B64(const Hash& h) { return verify::Base64(std::string_view(reinterpret_cast<const char*>(h.data()), h.size())); }

Result<uint64_t> QueryUint(const HttpRequest& r, const std::string& name, std::optional<uint64_t> fallback) {
  auto it = r.query.find(name);
  if (it == r.query.end() || it->second.empty()) {
    if (fallback) return *fallback;
    return Status::InvalidArgument("query parameter \"" + name + "\" is required");
  }
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc() || end != it->second.data() + it->second.size()) {
    return Status::InvalidArgument("query parameter \"" + name + "\" must be a non-negative integer");
  }
  return v;
}

std::string QueryString(const HttpRequest& r, const std::string& name) {
  auto it = r.query.find(name);
  return it == r.query.end() ? "" : it->second;
}

// Filters from query parameters or a JSON object (same field names);
// `prefix` goes before a field's name in errors ("filter.").
Result<EventFilter> FilterFrom(const std::function<std::optional<std::string>(const std::string&)>& get,
                               const std::string& prefix = "") {
  EventFilter f;
  auto num = [&](const std::string& name, uint64_t& out) -> Status {
    auto v = get(name);
    if (!v || v->empty()) return Status::Ok();
    const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || end != v->data() + v->size()) {
      return Status::InvalidArgument("filter \"" + name + "\" must be a non-negative integer");
    }
    return Status::Ok();
  };
  CL_RETURN_IF_ERROR(num("from_seq", f.from_seq));
  CL_RETURN_IF_ERROR(num("to_seq", f.to_seq));
  // Compared as instants: normalized to the ledger's own time format.
  CL_ASSIGN_OR_RETURN(f.since, TimeParameter(prefix + "since", get("since").value_or(""), /*round_up=*/true));
  CL_ASSIGN_OR_RETURN(f.until, TimeParameter(prefix + "until", get("until").value_or(""), /*round_up=*/false));
  f.actor = get("actor").value_or("");
  f.action = get("action").value_or("");
  f.env = get("env").value_or("");
  f.outcome = get("outcome").value_or("");
  if (!f.outcome.empty() && f.outcome != "success" && f.outcome != "denied" && f.outcome != "error") {
    return Status::InvalidArgument("filter \"outcome\" must be success, denied or error");
  }
  return f;
}

Result<HttpResponse> ListEvents(ApiContext& ctx, HttpRequest& r) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(EventFilter filter, FilterFrom([&](const std::string& k) -> std::optional<std::string> {
                        auto it = r.query.find(k);
                        return it == r.query.end() ? std::nullopt : std::optional<std::string>(it->second);
                      }));
  CL_ASSIGN_OR_RETURN(const uint64_t cursor, QueryUint(r, "cursor", 0));
  CL_ASSIGN_OR_RETURN(const uint64_t limit, QueryUint(r, "limit", 100));
  if (limit == 0 || limit > kMaxPage) return Status::InvalidArgument("limit must be 1.." + std::to_string(kMaxPage));
  CL_ASSIGN_OR_RETURN(auto events, session->store->reads().Read<std::vector<StoredEvent>>([&](ReadView db) {
                        return AuditLedger::Query(db, filter, cursor, limit + 1);
                      }));
  Json list = Json::array();
  for (size_t i = 0; i < std::min<size_t>(events.size(), limit); ++i) list.push_back(Json::parse(events[i].data));
  Json out = {{"events", list}, {"next_cursor", nullptr}};
  if (events.size() > limit) out["next_cursor"] = events[limit].seq;
  return HttpResponse::FromJson(200, out);
}

Json CheckpointJson(const StoredCheckpoint& c) {
  return {{"size", c.size}, {"root", B64(c.root)}, {"note", c.note}, {"created_at", c.created_at}};
}

Result<HttpResponse> ListCheckpoints(ApiContext& ctx, HttpRequest& r) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(const uint64_t after, QueryUint(r, "after", 0));
  CL_ASSIGN_OR_RETURN(const uint64_t limit, QueryUint(r, "limit", 100));
  if (limit == 0 || limit > kMaxPage) return Status::InvalidArgument("limit must be 1.." + std::to_string(kMaxPage));
  CL_ASSIGN_OR_RETURN(auto list, session->store->reads().Read<std::vector<StoredCheckpoint>>([&](ReadView db) {
                        return AuditLedger::Checkpoints(db, after, limit);
                      }));
  Json out = Json::array();
  for (const auto& c : list) out.push_back(CheckpointJson(c));
  return HttpResponse::FromJson(200, {{"checkpoints", out}});
}

Result<HttpResponse> LatestCheckpoint(ApiContext& ctx, HttpRequest& r) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(StoredCheckpoint latest, session->audit->checkpointer().SignNow());
  if (QueryString(r, "format") == "note") return HttpResponse::FromText(200, latest.note, "text/plain; charset=utf-8");
  return HttpResponse::FromJson(200, CheckpointJson(latest));
}

// The checkpoint of exactly `size` (signing the head's when size is the head).
Result<StoredCheckpoint> CheckpointOfSize(Session& session, uint64_t size) {
  CL_ASSIGN_OR_RETURN(auto found, session.store->reads().Read<std::optional<StoredCheckpoint>>(
                                      [&](ReadView db) { return AuditLedger::CheckpointAtLeast(db, size); }));
  if (found && found->size == size) return *found;
  CL_ASSIGN_OR_RETURN(StoredCheckpoint head, session.audit->checkpointer().SignNow());
  if (head.size == size) return head;
  return Status::NotFound("no signed checkpoint has tree size " + std::to_string(size) +
                          "; use the size of a listed checkpoint");
}

Result<HttpResponse> InclusionProof(ApiContext& ctx, HttpRequest& r) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(const uint64_t seq, QueryUint(r, "seq", std::nullopt));
  CL_ASSIGN_OR_RETURN(StoredCheckpoint latest, session->audit->checkpointer().SignNow());
  CL_ASSIGN_OR_RETURN(const uint64_t size, QueryUint(r, "size", latest.size));
  if (seq >= size) return Status::InvalidArgument("seq must be below size (" + std::to_string(size) + ")");
  CL_ASSIGN_OR_RETURN(StoredCheckpoint checkpoint, CheckpointOfSize(*session, size));
  struct Proof {
    Hash leaf;
    std::vector<Hash> path;
  };
  CL_ASSIGN_OR_RETURN(Proof proof, session->store->reads().Read<Proof>([&](ReadView db) -> Result<Proof> {
                        Status error;
                        Proof p;
                        CL_ASSIGN_OR_RETURN(p.leaf, AuditLedger::LeafHash(db, seq));
                        p.path = verify::InclusionProof(seq, size, [&](uint64_t b, uint64_t e) {
                          auto h = AuditLedger::SubtreeHash(db, b, e);
                          if (!h.ok()) error = h.status();
                          return h.ok() ? *h : Hash{};
                        });
                        if (!error.ok()) return error;
                        return p;
                      }));
  if (QueryString(r, "format") == "tlog-proof") {
    std::string text = "c2sp.org/tlog-proof@v1\nindex " + std::to_string(seq) + "\n";
    for (const Hash& h : proof.path) text += B64(h) + "\n";
    text += "\n" + checkpoint.note;
    return HttpResponse::FromText(200, text, "text/plain; charset=utf-8");
  }
  Json path = Json::array();
  for (const Hash& h : proof.path) path.push_back(B64(h));
  return HttpResponse::FromJson(200, {{"seq", seq}, {"size", size}, {"leaf_hash", B64(proof.leaf)}, {"proof", path},
                                      {"checkpoint", checkpoint.note}});
}

Result<HttpResponse> ConsistencyProof(ApiContext& ctx, HttpRequest& r) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(const uint64_t from, QueryUint(r, "from", std::nullopt));
  CL_ASSIGN_OR_RETURN(StoredCheckpoint latest, session->audit->checkpointer().SignNow());
  CL_ASSIGN_OR_RETURN(const uint64_t to, QueryUint(r, "to", latest.size));
  if (from == 0 || from > to) return Status::InvalidArgument("need 0 < from <= to");
  CL_ASSIGN_OR_RETURN(StoredCheckpoint checkpoint, CheckpointOfSize(*session, to));
  CL_ASSIGN_OR_RETURN(auto proof, session->store->reads().Read<std::vector<Hash>>([&](ReadView db) -> Result<std::vector<Hash>> {
                        Status error;
                        auto p = verify::ConsistencyProof(from, to, [&](uint64_t b, uint64_t e) {
                          auto h = AuditLedger::SubtreeHash(db, b, e);
                          if (!h.ok()) error = h.status();
                          return h.ok() ? *h : Hash{};
                        });
                        if (!error.ok()) return error;
                        return p;
                      }));
  Json path = Json::array();
  for (const Hash& h : proof) path.push_back(B64(h));
  return HttpResponse::FromJson(200, {{"from", from}, {"to", to}, {"proof", path}, {"checkpoint", checkpoint.note}});
}

Result<HttpResponse> HashValue(ApiContext& ctx, HttpRequest& r) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(r));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {"value"}));
  CL_ASSIGN_OR_RETURN(auto value, OptionalString(body, "value"));
  if (!value) return Status::InvalidArgument("field \"value\" is required");
  return HttpResponse::FromJson(200, {{"hash", session->audit->Hmac(*value)}});
}

Result<HttpResponse> VerifyAll(ApiContext& ctx, HttpRequest&) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(LedgerReport report, session->audit->Verify(/*from_latest_checkpoint=*/false));
  return HttpResponse::FromJson(200, report.ToJson());
}

Result<HttpResponse> Export(ApiContext& ctx, HttpRequest& r) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(r));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {"from_seq", "to_seq", "since", "until", "filter", "since_size"}));
  ExportRequest request;
  CL_ASSIGN_OR_RETURN(auto from_seq, OptionalInt(body, "from_seq"));
  CL_ASSIGN_OR_RETURN(auto to_seq, OptionalInt(body, "to_seq"));
  CL_ASSIGN_OR_RETURN(auto since, OptionalString(body, "since"));
  CL_ASSIGN_OR_RETURN(auto until, OptionalString(body, "until"));
  CL_ASSIGN_OR_RETURN(auto since_size, OptionalInt(body, "since_size"));
  if ((from_seq || to_seq) && (since || until)) {
    return Status::InvalidArgument("give from_seq/to_seq or since/until, not both");
  }
  if ((from_seq && *from_seq < 0) || (to_seq && *to_seq < 0) || (since_size && *since_size <= 0)) {
    return Status::InvalidArgument("from_seq and to_seq must be >= 0 and since_size > 0");
  }
  if (body.contains("filter")) {
    const Json& f = body["filter"];
    if (!f.is_object()) return Status::InvalidArgument("field \"filter\" must be an object");
    CL_RETURN_IF_ERROR(CheckKnownFields(f, {"actor", "action", "env", "outcome", "since", "until"}));
    for (const char* k : {"actor", "action", "env", "outcome", "since", "until"}) {
      if (f.contains(k) && !f[k].is_string()) {
        return Status::InvalidArgument("field \"filter." + std::string(k) + "\" must be a string");
      }
    }
    CL_ASSIGN_OR_RETURN(request.filter, FilterFrom(
                                            [&](const std::string& k) -> std::optional<std::string> {
                                              if (!f.contains(k)) return std::nullopt;
                                              return f[k].get<std::string>();
                                            },
                                            "filter."));
    request.filter_json = f;
  }
  request.from_seq = from_seq ? static_cast<uint64_t>(*from_seq) : 0;
  request.to_seq = to_seq ? std::optional<uint64_t>(static_cast<uint64_t>(*to_seq)) : std::nullopt;
  CL_ASSIGN_OR_RETURN(request.since, TimeParameter("since", since.value_or(""), /*round_up=*/true));
  CL_ASSIGN_OR_RETURN(request.until, TimeParameter("until", until.value_or(""), /*round_up=*/false));
  if (since_size) request.since_size = static_cast<uint64_t>(*since_size);
  request.created_by = r.principal ? r.principal->person_id() : "";
  CL_ASSIGN_OR_RETURN(StoredCheckpoint checkpoint, session->audit->checkpointer().SignNow());
  CL_ASSIGN_OR_RETURN(ExportBundle bundle, BuildExport(*session, checkpoint, request, ctx.clock));
  CL_ASSIGN_OR_RETURN(std::string archive, bundle.ToTarGz());
  HttpResponse response = HttpResponse::FromText(200, std::move(archive), "application/gzip");
  response.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + bundle.directory + ".tar.gz\"");
  return response;
}

}  // namespace

void AddAuditRoutes(Router& router, ApiContext& ctx) {
  auto add = [&](const char* method, const char* path, Result<HttpResponse> (*fn)(ApiContext&, HttpRequest&)) {
    router.Add({method, path, Access::kAuthenticated, false, [&ctx, fn](HttpRequest& r) { return fn(ctx, r); }});
  };
  add("GET", "/v1/audit/events", ListEvents);
  add("GET", "/v1/audit/checkpoints", ListCheckpoints);
  add("GET", "/v1/audit/checkpoints/latest", LatestCheckpoint);
  add("GET", "/v1/audit/proofs/inclusion", InclusionProof);
  add("GET", "/v1/audit/proofs/consistency", ConsistencyProof);
  add("POST", "/v1/audit/hash", HashValue);
  add("POST", "/v1/audit/exports", Export);
  add("GET", "/v1/audit/verify", VerifyAll);
  router.Add({"GET", "/v1/audit/public-key", Access::kAuthenticated, false, [&ctx](HttpRequest&) -> Result<HttpResponse> {
                CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
                return HttpResponse::FromText(200, session->audit->verifier_key() + "\n", "text/plain; charset=utf-8");
              }});
}

}  // namespace cloister
