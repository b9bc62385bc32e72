// Routes: method + path pattern -> handler, with what each route requires
// (a token or not, whether it answers while sealed). Patterns are literal
// segments and {name} placeholders: /v1/promotions/{id}/approve.
//
// Built once at startup, then read-only: Find is thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "appliance/http/http_types.h"
#include "appliance/identity/roles.h"

namespace cloister {

using Handler = std::function<Result<HttpResponse>(HttpRequest&)>;

enum class Access {
  kPublic,         // no credentials (health, seal status, init, unseal)
  kAuthenticated,  // a valid API token
};

struct Route {
  Route() = default;
  Route(std::string m, std::string p, Access a, bool sealed, Handler h)
      : method(std::move(m)), pattern(std::move(p)), access(a), while_sealed(sealed), handler(std::move(h)) {}

  std::string method;
  std::string pattern;
  Access access = Access::kAuthenticated;
  bool while_sealed = false;  // answers while sealed or uninitialized
  Handler handler;
  // Set from the permission table: roles any of which allows the call
  // (admin always does), and the path parameter that names the environment
  // the call concerns ("" when it concerns none in particular).
  std::vector<Role> roles;
  std::string env_param;
};

class Router {
 public:
  void Add(Route route);

  struct Match {
    const Route* route = nullptr;               // null: no route for this method
    std::map<std::string, std::string> params;  // placeholder values
    std::vector<std::string> allowed_methods;   // when the path exists under other methods
  };
  Match Find(const std::string& method, const std::string& path) const;

  const std::vector<Route>& routes() const { return routes_; }
  std::vector<Route>& mutable_routes() { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace cloister
