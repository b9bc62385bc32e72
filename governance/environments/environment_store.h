// Environments: the ordered stages automations are promoted through (dev,
// test, prod by default; chosen at initialization).
#pragma once

#include <string>
#include <vector>

#include "appliance/core/clock.h"
#include "appliance/storage/rows.h"
#include "appliance/storage/writer.h"

namespace cloister {

struct Environment {
  std::string name;
  int position = 0;  // promotion order, 0 first
};

// 1-16 distinct names, each 1-32 characters of [a-z0-9-] starting with a letter.
Status ValidateEnvironmentNames(const std::vector<std::string>& names);

// Creates the environments in the given order.
Status CreateEnvironments(Transaction& tx, const std::vector<std::string>& names, const Clock& clock);

Result<std::vector<Environment>> ListEnvironments(ReadView db);

}  // namespace cloister
