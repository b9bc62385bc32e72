// /v1/sys/backups: online backups of the encrypted database and the keyring
// (audit/backup.h), written to <data_dir>/backups and downloaded from there.
// Creating and downloading are both audited: a backup and its unseal
// material together are the whole appliance.
#include <dirent.h>

#include <algorithm>
#include <regex>

#include "appliance/api/routes.h"
#include "appliance/core/files.h"
#include "appliance/core/version.h"
#include "audit/backup.h"

namespace cloister {
namespace {

std::string BackupDir(ApiContext& ctx) { return ctx.appliance.seal_manager().data_dir() + "/backups"; }

bool ValidBackupName(const std::string& name) {
  static const std::regex kName("cloister-[A-Za-z0-9.-]{1,63}-[0-9]{8}T[0-9]{6}Z-[0-9]{1,20}\\.cbk");
  return std::regex_match(name, kName);
}

Json SummaryJson(const BackupSummary& b) {
  const std::string name = b.path.substr(b.path.find_last_of('/') + 1);
  return {{"name", name},
          {"size", b.size},
          {"sha256", b.sha256},
          {"created_at", b.manifest.created_at},
          {"version", b.manifest.version},
          {"schema_version", b.manifest.schema_version},
          {"ledger", {{"size", b.manifest.ledger.size}, {"root_hash", b.manifest.ledger.root_hash}}},
          {"download", "/v1/sys/backups/" + name}};
}

Result<HttpResponse> CreateBackup(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(Json body, JsonBody(http));
  CL_RETURN_IF_ERROR(CheckKnownFields(body, {}));
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  const std::string dir = BackupDir(ctx);
  CL_RETURN_IF_ERROR(MakeDirectories(dir, 0700));
  const std::string created_at = FormatTimestamp(ctx.clock.Now());
  std::string stamp = created_at.substr(0, 19);  // 2026-11-22T10:15:00
  stamp.erase(std::remove_if(stamp.begin(), stamp.end(), [](char c) { return c == '-' || c == ':'; }), stamp.end());

  // The snapshot must end at a signed checkpoint; events arriving between
  // signing and the snapshot mean signing again.
  Result<BackupSummary> backup = Status::Internal("not attempted");
  for (int attempt = 0; attempt < 20; ++attempt) {
    CL_ASSIGN_OR_RETURN(StoredCheckpoint head, session->audit->checkpointer().SignNow());
    const std::string path = dir + "/cloister-" + session->info.name + "-" + stamp + "Z-" + std::to_string(head.size) + ".cbk";
    backup = WriteBackup(ctx.appliance.seal_manager().database_path(), ctx.appliance.seal_manager().keyring_path(),
                         session->store->data_key(), CloisterVersion(), created_at, path);
    if (backup.ok() || backup.status().reason() != "checkpoint_pending") break;
  }
  if (!backup.ok()) return backup.status();

  AuditRecord event = RecordFor(RequesterOf(http), "system.backup");
  event.target_kind = "backup";
  event.target_id = backup->path.substr(backup->path.find_last_of('/') + 1);
  event.details = {{"sha256", backup->sha256},
                   {"size", backup->size},
                   {"ledger_size", backup->manifest.ledger.size},
                   {"root_hash", backup->manifest.ledger.root_hash}};
  if (Status st = session->audit->Record(event); !st.ok()) {
    std::remove(backup->path.c_str());  // no backup exists without its audit event
    return st;
  }
  ctx.logger.Info("rid=" + http.request_id + " backup " + backup->path + " sha256 " + backup->sha256);
  return HttpResponse::FromJson(201, SummaryJson(*backup));
}

Result<HttpResponse> ListBackups(ApiContext& ctx) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  std::vector<std::string> names;
  if (DIR* d = opendir(BackupDir(ctx).c_str())) {
    while (dirent* e = readdir(d)) {
      if (ValidBackupName(e->d_name)) names.push_back(e->d_name);
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  Json items = Json::array();
  for (const auto& name : names) {
    auto b = ReadBackup(BackupDir(ctx) + "/" + name);
    if (b.ok()) {
      items.push_back(SummaryJson(*b));
    } else {
      items.push_back({{"name", name}, {"problem", b.status().message()}});
    }
  }
  return HttpResponse::FromJson(200, {{"backups", items}});
}

Result<HttpResponse> DownloadBackup(ApiContext& ctx, HttpRequest& http) {
  CL_ASSIGN_OR_RETURN(auto session, RequireSession(ctx));
  const std::string name = http.path_params.at("name");
  if (!ValidBackupName(name)) return Status::NotFound("no backup named \"" + name + "\"").WithReason("not_found");
  const std::string path = BackupDir(ctx) + "/" + name;
  if (!PathExists(path)) return Status::NotFound("no backup named \"" + name + "\"").WithReason("not_found");
  AuditRecord event = RecordFor(RequesterOf(http), "system.backup_download");
  event.target_kind = "backup";
  event.target_id = name;
  CL_RETURN_IF_ERROR(session->audit->Record(event));
  HttpResponse response;
  response.content_type = "application/octet-stream";
  response.body_file = path;
  response.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
  return response;
}

}  // namespace

void AddBackupRoutes(Router& router, ApiContext& ctx) {
  router.Add({"POST", "/v1/sys/backups", Access::kAuthenticated, false,
              [&ctx](HttpRequest& r) { return CreateBackup(ctx, r); }});
  router.Add({"GET", "/v1/sys/backups", Access::kAuthenticated, false,
              [&ctx](HttpRequest&) { return ListBackups(ctx); }});
  router.Add({"GET", "/v1/sys/backups/{name}", Access::kAuthenticated, false,
              [&ctx](HttpRequest& r) { return DownloadBackup(ctx, r); }});
}

}  // namespace cloister
