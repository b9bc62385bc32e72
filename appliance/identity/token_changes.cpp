#include "appliance/identity/token_changes.h"

#include <map>

namespace cloister {
namespace {

TokenChange ChangeOf(const TokenInfo& t) {
  return {t.id, t.name, t.owner_id, t.owner_name, t.created_at, t.revoked_at};
}

Json ListToJson(const std::vector<TokenChange>& list) {
  Json out = Json::array();
  for (const auto& t : list) {
    out.push_back({{"id", t.id},
                   {"name", t.name},
                   {"owner", {{"id", t.owner_id}, {"name", t.owner_name}}},
                   {"created_at", t.created_at},
                   {"revoked_at", t.revoked_at}});
  }
  return out;
}

Result<std::string> StringField(const Json& j, const char* key, const std::string& where) {
  if (!j.contains(key)) return std::string();
  if (!j[key].is_string()) return Status::InvalidArgument(where + ": \"" + key + "\" is not a string");
  return j[key].get<std::string>();
}

Result<std::vector<TokenChange>> ListFromJson(const Json& json, const char* key) {
  std::vector<TokenChange> out;
  if (!json.contains(key)) return out;
  const Json& list = json[key];
  if (!list.is_array()) return Status::InvalidArgument(std::string("\"") + key + "\" is not a list");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = std::string(key) + "[" + std::to_string(i) + "]";
    const Json& e = list[i];
    if (!e.is_object()) return Status::InvalidArgument(where + " is not an object");
    const Json owner = e.contains("owner") ? e["owner"] : Json::object();
    if (!owner.is_object()) return Status::InvalidArgument(where + ": \"owner\" is not an object");
    TokenChange t;
    CL_ASSIGN_OR_RETURN(t.id, StringField(e, "id", where));
    if (t.id.empty()) return Status::InvalidArgument(where + " has no \"id\"");
    CL_ASSIGN_OR_RETURN(t.name, StringField(e, "name", where));
    CL_ASSIGN_OR_RETURN(t.owner_id, StringField(owner, "id", where + ".owner"));
    CL_ASSIGN_OR_RETURN(t.owner_name, StringField(owner, "name", where + ".owner"));
    CL_ASSIGN_OR_RETURN(t.created_at, StringField(e, "created_at", where));
    CL_ASSIGN_OR_RETURN(t.revoked_at, StringField(e, "revoked_at", where));
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace

TokenChanges CompareTokens(const std::vector<TokenInfo>& in_backup, const std::vector<TokenInfo>& in_replaced) {
  std::map<std::string, const TokenInfo*> backup;
  for (const auto& t : in_backup) backup[t.id] = &t;
  TokenChanges out;
  for (const auto& t : in_replaced) {
    auto it = backup.find(t.id);
    if (it == backup.end()) {
      out.created_after_backup.push_back(ChangeOf(t));
    } else if (!t.revoked_at.empty() && it->second->revoked_at.empty()) {
      out.revoked_after_backup.push_back(ChangeOf(t));
    }
  }
  return out;
}

Json TokenChangesToJson(const TokenChanges& changes) {
  return {{"created_after_backup", ListToJson(changes.created_after_backup)},
          {"revoked_after_backup", ListToJson(changes.revoked_after_backup)}};
}

Result<TokenChanges> TokenChangesFromJson(const Json& json) {
  if (!json.is_object()) return Status::InvalidArgument("the token changes are not an object");
  TokenChanges out;
  CL_ASSIGN_OR_RETURN(out.created_after_backup, ListFromJson(json, "created_after_backup"));
  CL_ASSIGN_OR_RETURN(out.revoked_after_backup, ListFromJson(json, "revoked_after_backup"));
  return out;
}

}  // namespace cloister
