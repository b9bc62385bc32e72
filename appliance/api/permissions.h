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
  // Where the roles must be held: "" in any environment, "*" in every
  // environment (a binding on "*": for calls that concern the whole
  // appliance), otherwise the path parameter that names the environment.
  std::string env_param;
};

const std::vector<PermissionEntry>& PermissionTable();

// Sets roles and environment parameters on every route; internal error
// naming the first route without an entry or whose access disagrees.
Status ApplyPermissionTable(Router& router);

}  // namespace cloister
