// A fixture for identity tests: a real cloisterd with a chosen "auth"
// configuration, initialized and unsealed, with helpers to log in and call
// with a session cookie.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "tests/integration/appliance_server.h"

namespace cloister::testing {

struct LoginResult {
  ApiResponse response;
  std::string cookie;  // the session cookie's value, from Set-Cookie
  std::string csrf;    // the session's CSRF token
};

class IdentityFixture : public ::testing::Test {
 protected:
  // Starts cloisterd with `auth_yaml` as the "auth" section (indented
  // below "auth:"), initializes it with a key file and unseals it.
  void Boot(const std::string& auth_yaml = kDefaultAuth);

  ApiResponse Call(const std::string& method, const std::string& path, const Json& body = nullptr,
                   const std::string& token = "",
                   const std::map<std::string, std::string>& headers = {}) {
    return testing::Call(server_, method, path, body, token, headers);
  }
  // A call carrying a session cookie, and its CSRF token when `with_csrf`.
  ApiResponse CookieCall(const std::string& method, const std::string& path,
                         const LoginResult& session, const Json& body = nullptr,
                         bool with_csrf = true);
  LoginResult Login(const std::string& user, const std::string& password,
                    const std::map<std::string, std::string>& headers = {});
  // The session a response set: its cookie (from Set-Cookie) and CSRF token.
  static LoginResult SessionFrom(const ApiResponse& response);
  // Creates a user with `roles` ("author@dev", "admin@*") and gives them
  // `password`, already changed (no change pending); returns the user's id.
  std::string MakeUser(const std::string& name, const std::vector<std::string>& roles,
                       const std::string& password);
  // Audit events matching `query` (e.g. "action=auth.login").
  Json Events(const std::string& query);
  std::string Hmac(const std::string& value);

  // The cheapest password hashing the configuration allows (scrypt_n 16384):
  // tests hash and verify passwords by the dozen.
  static constexpr const char* kDefaultAuth =
      "  scrypt_n: 16384\n"
      "  lockout:\n    account_threshold: 3\n    address_threshold: 1000\n    base_delay_seconds: "
      "1\n";

  TempDir dir_;
  ApplianceServer server_{dir_.File("data"), dir_.File("cloister.yaml")};  // Boot writes the file
  std::string admin_token_, admin_user_, admin_password_;
};

}  // namespace cloister::testing
