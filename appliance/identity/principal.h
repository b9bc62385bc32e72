// Who is making a request, once authenticated.
#pragma once

#include <string>

namespace cloister {

struct Principal {
  std::string kind;         // "token" (users and certificates arrive with identity)
  std::string id;           // token id, e.g. "tok_4f1c..."; never the secret
  std::string name;         // human label, e.g. "initial admin token"
  std::string role;         // "admin", ...
  std::string environment;  // environment the role applies to, or "*"
};

}  // namespace cloister
