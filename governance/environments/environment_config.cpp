#include "governance/environments/environment_config.h"

#include <cctype>

#include "appliance/core/secure_bytes.h"
#include "appliance/storage/key_wrap.h"

namespace cloister {
namespace {

constexpr const char* kSecretsKey = "environment_secrets_key";

std::string Aad(const std::string& environment, const std::string& name) {
  return "cloister secret v1\n" + environment + "\n" + name;
}

Result<std::vector<ConfigEntry>> Entries(Statement* s, bool with_value) {
  std::vector<ConfigEntry> out;
  for (;;) {
    CL_ASSIGN_OR_RETURN(const bool row, s->Step());
    if (!row) return out;
    out.push_back({s->ColumnText(0), with_value ? s->ColumnText(1) : "", s->ColumnText(2), s->ColumnText(3)});
  }
}

Result<SecureBytes> ReadKey(Connection& conn) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached("SELECT material FROM appliance_keys WHERE name = ?"));
  s->Bind(1, kSecretsKey);
  CL_ASSIGN_OR_RETURN(const bool row, s->Step());
  if (!row) return Status::NotFound("no secrets key");
  const std::string_view m = s->ColumnView(0);
  SecureBytes key(reinterpret_cast<const uint8_t*>(m.data()), m.size());
  s->Reset();
  if (key.size() != 32) return Status::Corruption("the environment secrets key is not 32 bytes");
  return key;
}

std::vector<std::string> JsonList(const std::string& text) {
  auto j = ParseJson(text);
  std::vector<std::string> out;
  if (j.ok() && j->is_array()) {
    for (const Json& x : *j) {
      if (x.is_string()) out.push_back(x);
    }
  }
  return out;
}

}  // namespace

Status ValidateConfigName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 && !std::isdigit(static_cast<unsigned char>(name[0]));
  for (char c : name) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  if (!ok) {
    return Status::InvalidArgument("name \"" + name +
                                   "\" must be 1-64 of A-Z, a-z, 0-9, _ and -, not starting with a digit");
  }
  return Status::Ok();
}

Result<std::vector<ConfigEntry>> ListVariables(Connection& conn, const std::string& environment) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached("SELECT name, value, updated_at, updated_by FROM "
                                                 "environment_variables WHERE environment = ? ORDER BY name"));
  s->Bind(1, environment);
  return Entries(s, true);
}

Result<std::vector<ConfigEntry>> ListSecrets(Connection& conn, const std::string& environment) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached("SELECT name, '', updated_at, updated_by FROM environment_secrets "
                                                 "WHERE environment = ? ORDER BY name"));
  s->Bind(1, environment);
  return Entries(s, false);
}

Status SetVariable(Transaction& tx, const std::string& environment, const std::string& name, const std::string& value,
                   const std::string& actor, const Clock& clock) {
  CL_RETURN_IF_ERROR(ValidateConfigName(name));
  if (value.size() > 64 * 1024) return Status::InvalidArgument("a variable's value is at most 64 KiB");
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("INSERT OR REPLACE INTO environment_variables (environment, name, "
                                                "value, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)"));
  return s->Bind(1, environment).Bind(2, name).Bind(3, value).Bind(4, FormatTimestamp(clock.Now())).Bind(5, actor).Run();
}

Status SetSecret(Transaction& tx, const std::string& environment, const std::string& name, const std::string& value,
                 const std::string& actor, const Clock& clock, Random& random) {
  CL_RETURN_IF_ERROR(ValidateConfigName(name));
  if (value.empty() || value.size() > 64 * 1024) return Status::InvalidArgument("a secret's value is 1 byte to 64 KiB");
  auto key = ReadKey(tx.connection());
  if (!key.ok() && key.status().code() == StatusCode::kNotFound) {
    CL_ASSIGN_OR_RETURN(SecureBytes fresh, SecureBytes::Generate(random, 32));
    CL_ASSIGN_OR_RETURN(Statement * ins,
                        tx.Prepare("INSERT INTO appliance_keys (name, material, created_at) VALUES (?, ?, ?)"));
    CL_RETURN_IF_ERROR(ins->Bind(1, kSecretsKey).BindBlob(2, fresh.view()).Bind(3, FormatTimestamp(clock.Now())).Run());
    key = std::move(fresh);
  }
  if (!key.ok()) return key.status();
  const SecureBytes plain(reinterpret_cast<const uint8_t*>(value.data()), value.size());
  CL_ASSIGN_OR_RETURN(WrappedKey sealed, WrapKey(*key, plain, Aad(environment, name), random));
  CL_ASSIGN_OR_RETURN(Statement * s,
                      tx.Prepare("INSERT OR REPLACE INTO environment_secrets (environment, name, nonce, ciphertext, "
                                 "tag, updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  return s->Bind(1, environment)
      .Bind(2, name)
      .BindBlob(3, AsChars(sealed.nonce.data(), sealed.nonce.size()))
      .BindBlob(4, AsChars(sealed.ciphertext.data(), sealed.ciphertext.size()))
      .BindBlob(5, AsChars(sealed.tag.data(), sealed.tag.size()))
      .Bind(6, FormatTimestamp(clock.Now()))
      .Bind(7, actor)
      .Run();
}

Status DeleteConfig(Transaction& tx, bool secret, const std::string& environment, const std::string& name) {
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare(secret ? "DELETE FROM environment_secrets WHERE environment = ? AND name = ?"
                                                       : "DELETE FROM environment_variables WHERE environment = ? AND name = ?"));
  CL_RETURN_IF_ERROR(s->Bind(1, environment).Bind(2, name).Run());
  if (tx.Changes() == 0) {
    return Status::NotFound(std::string(secret ? "no secret" : "no variable") + " named " + name + " in " + environment);
  }
  return Status::Ok();
}

Result<std::string> RevealSecret(Connection& conn, const std::string& environment, const std::string& name) {
  CL_ASSIGN_OR_RETURN(SecureBytes key, ReadKey(conn));
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached("SELECT nonce, ciphertext, tag FROM environment_secrets WHERE "
                                                 "environment = ? AND name = ?"));
  s->Bind(1, environment).Bind(2, name);
  CL_ASSIGN_OR_RETURN(const bool row, s->Step());
  if (!row) return Status::NotFound("no secret named " + name + " in " + environment);
  const auto bytes = [&](int col) {
    const std::string_view v = s->ColumnView(col);
    return Bytes(v.begin(), v.end());
  };
  WrappedKey sealed{bytes(0), bytes(1), bytes(2)};
  s->Reset();
  CL_ASSIGN_OR_RETURN(SecureBytes plain, UnwrapKey(key, sealed, Aad(environment, name)));
  return std::string(plain.view());
}

Result<EnvironmentSettings> GetSettings(Connection& conn, const std::string& environment) {
  CL_ASSIGN_OR_RETURN(Statement * s, conn.Cached("SELECT egress_allow, model_endpoints FROM environment_settings "
                                                 "WHERE environment = ?"));
  s->Bind(1, environment);
  CL_ASSIGN_OR_RETURN(const bool row, s->Step());
  EnvironmentSettings out;
  if (row) {
    out.egress_allow = JsonList(s->ColumnText(0));
    out.model_endpoints = JsonList(s->ColumnText(1));
  }
  s->Reset();
  return out;
}

Status SetSettings(Transaction& tx, const std::string& environment, const EnvironmentSettings& settings,
                   const std::string& actor, const Clock& clock) {
  CL_ASSIGN_OR_RETURN(Statement * s, tx.Prepare("INSERT OR REPLACE INTO environment_settings (environment, "
                                                "egress_allow, model_endpoints, updated_at, updated_by) VALUES "
                                                "(?, ?, ?, ?, ?)"));
  return s->Bind(1, environment)
      .Bind(2, Json(settings.egress_allow).dump())
      .Bind(3, Json(settings.model_endpoints).dump())
      .Bind(4, FormatTimestamp(clock.Now()))
      .Bind(5, actor)
      .Run();
}

}  // namespace cloister
