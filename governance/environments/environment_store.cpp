#include "governance/environments/environment_store.h"

#include <set>

namespace cloister {

Status ValidateEnvironmentNames(const std::vector<std::string>& names) {
  if (names.empty() || names.size() > 16) return Status::InvalidArgument("environments: give 1 to 16 names");
  std::set<std::string> seen;
  for (const std::string& n : names) {
    bool ok = !n.empty() && n.size() <= 32 && n[0] >= 'a' && n[0] <= 'z';
    for (char c : n) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
    if (!ok) {
      return Status::InvalidArgument("environment name \"" + n +
                                     "\" must be 1-32 characters of a-z, 0-9 and '-', starting with a letter");
    }
    if (!seen.insert(n).second) return Status::InvalidArgument("environment \"" + n + "\" is listed twice");
  }
  return Status::Ok();
}

Status CreateEnvironments(Transaction& tx, const std::vector<std::string>& names, const Clock& clock) {
  CL_RETURN_IF_ERROR(ValidateEnvironmentNames(names));
  const std::string now = FormatTimestamp(clock.Now());
  for (size_t i = 0; i < names.size(); ++i) {
    CL_ASSIGN_OR_RETURN(Statement * stmt,
                        tx.Prepare("INSERT INTO environments (name, position, created_at) VALUES (?, ?, ?)"));
    CL_RETURN_IF_ERROR(stmt->Bind(1, names[i]).Bind(2, static_cast<int64_t>(i)).Bind(3, now).Run());
  }
  return Status::Ok();
}

Result<std::vector<Environment>> ListEnvironments(ReadView db) {
  return db.Select("environments", "SELECT name, position FROM environments ORDER BY position")
      .ReadAll([](const Row& row) { return Environment{row.Text(0), static_cast<int>(row.Int(1))}; });
}

}  // namespace cloister
