// Who is making a request, once authenticated: a user (through a session)
// or an API token (owned by a user).
#pragma once

#include <string>
#include <vector>

#include "appliance/identity/roles.h"

namespace cloister {

struct Principal {
  std::string kind;                   // "user" (a session) or "token"
  std::string id;                     // user id ("usr_...") or token id ("tok_..."); never a secret
  std::string name;                   // user name, or the token's name
  std::vector<RoleBinding> bindings;  // what it may do, where
  std::string audit_id;               // how the audit ledger names it (token ids in HMAC form)

  std::string user_id, user_name;  // the user behind it; "" for a token that predates owners
  std::string session_id;          // sessions: "ses_..."
  std::string csrf_token;          // sessions: what unsafe cookie-authenticated requests must echo
  bool password_change_required = false;
  bool by_cookie = false;  // the session came in a cookie (so CSRF rules apply)

  // Who acts: the user behind a session or an owned token. Identity
  // comparisons (separation of duties, "only the requester may...") and
  // every stored "who" use person_id(), never a name: a token's name is a
  // label its owner chose. A token from before owners acts as itself, under
  // its audit id and a "token:" name no user name can take.
  const std::string& person_id() const { return user_id.empty() ? (audit_id.empty() ? id : audit_id) : user_id; }
  std::string person_name() const { return user_id.empty() ? "token:" + name : user_name; }
  bool is_person() const { return !user_id.empty(); }
};

}  // namespace cloister
