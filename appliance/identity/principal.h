// Who is making a request, once authenticated.
#pragma once

#include <string>
#include <vector>

#include "appliance/identity/roles.h"

namespace cloister {

struct Principal {
  std::string kind;                   // "token" (users and certificates arrive with sessions)
  std::string id;                     // token id, e.g. "tok_4f1c..."; never the secret
  std::string name;                   // human label, e.g. "initial admin token"
  std::vector<RoleBinding> bindings;  // what it may do, where
  std::string audit_id;               // how the audit ledger names it (token ids in HMAC form)
};

}  // namespace cloister
