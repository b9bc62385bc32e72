#include "appliance/storage/schema_layout.h"

#include <deque>
#include <map>
#include <utility>

namespace cloister {

const std::vector<MigrationLayout>& SchemaLayout() {
  // Versions 1..8 shipped: databases recorded their names, and checksums of
  // their parts joined in exactly these orders.
  // clang-format off
  static const std::vector<MigrationLayout> kLayout = {
      {1, "appliance_environments_tokens", {"storage", "environments", "identity"}},
      {2, "audit_ledger", {"audit"}},
      {3, "users_sessions_lockouts", {"identity"}},
      {4, "policy_documents", {"policy"}},
      {5, "automations_environments_promotions", {"automation", "promotion", "environments", "promotion"}},
      {6, "people_by_user_id", {"promotion", "identity"}},
      {7, "promotion_state_check", {"promotion"}},
      {8, "runs", {"environments", "runtime"}},
  };
  // clang-format on
  return kLayout;
}

Result<std::vector<Migration>> AssembleMigrations(const std::vector<MigrationLayout>& layout,
                                                  const std::vector<MigrationPart>& parts) {
  std::map<std::pair<int, std::string>, std::deque<const MigrationPart*>> unused;
  for (const MigrationPart& part : parts) unused[{part.version, part.module}].push_back(&part);

  std::vector<Migration> out;
  for (const MigrationLayout& entry : layout) {
    if (entry.version != static_cast<int>(out.size()) + 1) {
      return Status::Internal("schema layout: migration " + std::to_string(entry.version) + " (" +
                              entry.name + ") follows migration " + std::to_string(out.size()) +
                              "; versions must run 1..n");
    }
    Migration m{entry.version, entry.name, "\n"};
    for (const std::string& module : entry.modules) {
      auto& queue = unused[{entry.version, module}];
      if (queue.empty()) {
        return Status::Internal("schema layout: migration " + std::to_string(entry.version) + " (" +
                                entry.name + ") takes a part from module " + module +
                                ", which gave none");
      }
      m.sql += queue.front()->sql;
      queue.pop_front();
    }
    out.push_back(std::move(m));
  }
  for (const auto& [key, queue] : unused) {
    if (!queue.empty()) {
      return Status::Internal("schema layout: module " + key.second +
                              " gave a part for migration " + std::to_string(key.first) +
                              " that the layout has no place for");
    }
  }
  return out;
}

}  // namespace cloister
