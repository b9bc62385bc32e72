#include "tests/integration/identity_test_support.h"

namespace cloister::testing {

void IdentityFixture::Boot(const std::string& auth_yaml) {
  WriteText(dir_.File("cloister.yaml"), "auth:\n" + auth_yaml);
  ASSERT_TRUE(server_.Start());
  const ApiResponse init = Call("POST", "/v1/sys/init", {{"key_file", dir_.File("unseal.key")}});
  ASSERT_EQ(init.status, 200) << init.body;
  admin_token_ = init.json()["initial_admin_token"];
  admin_user_ = init.json()["initial_admin_user"];
  admin_password_ = init.json()["initial_admin_password"];
  ASSERT_EQ(Call("POST", "/v1/sys/unseal").status, 200);
}

ApiResponse IdentityFixture::CookieCall(const std::string& method, const std::string& path, const LoginResult& session,
                                        const Json& body, bool with_csrf) {
  std::map<std::string, std::string> headers = {{"Cookie", "cloister_session=" + session.cookie}};
  if (with_csrf) headers["X-CSRF-Token"] = session.csrf;
  return Call(method, path, body, "", headers);
}

LoginResult IdentityFixture::SessionFrom(const ApiResponse& response) {
  LoginResult out;
  out.response = response;
  const std::string set_cookie = response.headers.count("set-cookie") ? response.headers.at("set-cookie") : "";
  const std::string prefix = "cloister_session=";
  if (set_cookie.rfind(prefix, 0) == 0) out.cookie = set_cookie.substr(prefix.size(), set_cookie.find(';') - prefix.size());
  const Json j = response.json();
  if (j.is_object() && j.contains("csrf_token")) out.csrf = j["csrf_token"];
  return out;
}

LoginResult IdentityFixture::Login(const std::string& user, const std::string& password,
                                   const std::map<std::string, std::string>& headers) {
  return SessionFrom(Call("POST", "/v1/auth/login", {{"username", user}, {"password", password}}, "", headers));
}

std::string IdentityFixture::MakeUser(const std::string& name, const std::vector<std::string>& roles,
                                      const std::string& password) {
  Json bindings = Json::array();
  for (const auto& r : roles) {
    const size_t at = r.find('@');
    bindings.push_back({{"role", r.substr(0, at)}, {"environment", r.substr(at + 1)}});
  }
  const std::string temporary = "temporary-" + name + "-password";
  const ApiResponse created =
      Call("POST", "/v1/users", {{"username", name}, {"password", temporary}, {"roles", bindings}}, admin_token_);
  EXPECT_EQ(created.status, 201) << created.body;
  const LoginResult first = Login(name, temporary);
  EXPECT_EQ(first.response.status, 200) << first.response.body;
  const ApiResponse changed = CookieCall("POST", "/v1/auth/password", first,
                                         {{"current_password", temporary}, {"new_password", password}});
  EXPECT_EQ(changed.status, 200) << changed.body;
  return created.json().value("id", "");
}

Json IdentityFixture::Events(const std::string& query) {
  return Call("GET", "/v1/audit/events?limit=1000&" + query, nullptr, admin_token_).json()["events"];
}

std::string IdentityFixture::Hmac(const std::string& value) {
  return Call("POST", "/v1/audit/hash", {{"value", value}}, admin_token_).json()["hash"];
}

}  // namespace cloister::testing
