// The permission table: every route and what it needs. It is the single
// source: ApplyPermissionTable sets each route's roles from it, a route
// missing from it stops the server from starting, and a test checks that
// docs/admin-guide.md shows every row.
#pragma once

#include <string>
#include <vector>

#include "appliance/http/router.h"

namespace cloister {

struct PermissionEntry {
  std::string method;
  std::string pattern;
  std::string needs;      // "public", "authenticated", or roles joined by ", " (admin always may)
  std::string env_param;  // path parameter naming the environment, or ""
};

const std::vector<PermissionEntry>& PermissionTable();

// Sets roles and environment parameters on every route; internal error
// naming the first route without an entry or whose access disagrees.
Status ApplyPermissionTable(Router& router);

}  // namespace cloister
