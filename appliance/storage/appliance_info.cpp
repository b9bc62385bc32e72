#include "appliance/storage/appliance_info.h"

#include <cctype>

namespace cloister {

Status ValidateApplianceName(const std::string& name) {
  const bool ok_size = !name.empty() && name.size() <= 63;
  bool ok_chars = ok_size && std::isalnum(static_cast<unsigned char>(name[0]));
  for (char c : name) ok_chars = ok_chars && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-');
  if (!ok_chars) {
    return Status::InvalidArgument("appliance name \"" + name +
                                   "\" must be 1-63 letters, digits, dots or dashes, starting with a letter or digit");
  }
  return Status::Ok();
}

Status WriteApplianceInfo(Transaction& tx, const ApplianceInfo& info) {
  CL_ASSIGN_OR_RETURN(Statement * stmt,
                      tx.Prepare("INSERT INTO appliance (singleton, appliance_id, name, created_at, created_by_version) "
                                 "VALUES (1, ?, ?, ?, ?)"));
  return stmt->Bind(1, info.appliance_id).Bind(2, info.name).Bind(3, info.created_at).Bind(4, info.created_by_version).Run();
}

Result<ApplianceInfo> ReadApplianceInfo(ReadView db) {
  CL_ASSIGN_OR_RETURN(auto info, db.Select("appliance", "SELECT appliance_id, name, created_at, created_by_version "
                                                        "FROM appliance")
                                     .ReadOne([](const Row& row) {
                                       return ApplianceInfo{row.Text(0), row.Text(1), row.Text(2), row.Text(3)};
                                     }));
  if (!info) return Status::Corruption(db.path() + " has no appliance record");
  return std::move(*info);
}

}  // namespace cloister
