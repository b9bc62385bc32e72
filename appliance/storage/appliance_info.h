// The appliance's identity record: its id (from the keyring), the name chosen
// at initialization (fixed for the life of the ledger) and when and by which
// version it was created.
#pragma once

#include <string>

#include "appliance/core/clock.h"
#include "appliance/storage/rows.h"
#include "appliance/storage/writer.h"

namespace cloister {

struct ApplianceInfo {
  std::string appliance_id;
  std::string name;
  std::string created_at;
  std::string created_by_version;
};

// Appliance names: 1-63 characters of [A-Za-z0-9.-], starting with a letter
// or digit (a host name; no spaces or '+', so it can name the audit origin).
Status ValidateApplianceName(const std::string& name);

Status WriteApplianceInfo(Transaction& tx, const ApplianceInfo& info);
// corruption when the database has no appliance record.
Result<ApplianceInfo> ReadApplianceInfo(ReadView db);

}  // namespace cloister
