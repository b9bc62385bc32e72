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

// Rows of "SELECT name, value, updated_at, updated_by".
ConfigEntry DecodeEntry(const Row& row) {
  return {row.Text(0), row.Text(1), row.Text(2), row.Text(3)};
}

// A stored key, straight into SecureBytes (never a plain string):
// corruption naming its appliance_keys row unless it is 32 bytes.
Result<SecureBytes> DecodeKey(const Row& row) {
  const std::string_view m = row.View(1);
  if (m.size() != 32)
    return row.Corrupt("material is " + std::to_string(m.size()) + " bytes, not 32");
  return SecureBytes(reinterpret_cast<const uint8_t*>(m.data()), m.size());
}

// not_found when the key has not been made yet.
Result<SecureBytes> ReadKey(ReadView db) {
  CL_ASSIGN_OR_RETURN(
      std::optional<SecureBytes> key,
      db.Select("appliance_keys", "SELECT name, material FROM appliance_keys WHERE name = ?")
          .Bind(1, kSecretsKey)
          .ReadOne(DecodeKey));
  if (!key) return Status::NotFound("no secrets key");
  return std::move(*key);
}

// A stored list of host globs: a JSON array of strings, or corruption.
Result<std::vector<std::string>> GlobList(const Row& row, int col, std::string_view column) {
  CL_ASSIGN_OR_RETURN(const Json j, row.JsonAt(col, column));
  std::vector<std::string> out;
  if (j.is_array()) {
    for (const Json& x : j) {
      if (!x.is_string()) break;
      out.push_back(x);
    }
  }
  if (!j.is_array() || out.size() != j.size())
    return row.Corrupt(std::string(column) + " is not a list of strings");
  return out;
}

}  // namespace

Status ValidateConfigName(const std::string& name) {
  bool ok =
      !name.empty() && name.size() <= 64 && !std::isdigit(static_cast<unsigned char>(name[0]));
  for (char c : name)
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  if (!ok) {
    return Status::InvalidArgument(
        "name \"" + name + "\" must be 1-64 of A-Z, a-z, 0-9, _ and -, not starting with a digit");
  }
  return Status::Ok();
}

Result<std::vector<ConfigEntry>> ListVariables(ReadView db, const std::string& environment) {
  return db
      .Select("environment_variables",
              "SELECT name, value, updated_at, updated_by FROM "
              "environment_variables WHERE environment = ? ORDER BY name")
      .Bind(1, environment)
      .ReadAll(DecodeEntry);
}

Result<std::vector<ConfigEntry>> ListSecrets(ReadView db, const std::string& environment) {
  return db
      .Select("environment_secrets",
              "SELECT name, '', updated_at, updated_by FROM environment_secrets "
              "WHERE environment = ? ORDER BY name")
      .Bind(1, environment)
      .ReadAll(DecodeEntry);
}

Status SetVariable(Transaction& tx, const std::string& environment, const std::string& name,
                   const std::string& value, const std::string& actor, const Clock& clock) {
  CL_RETURN_IF_ERROR(ValidateConfigName(name));
  if (value.size() > 64 * 1024)
    return Status::InvalidArgument("a variable's value is at most 64 KiB");
  CL_ASSIGN_OR_RETURN(Statement * s,
                      tx.Prepare("INSERT OR REPLACE INTO environment_variables (environment, name, "
                                 "value, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)"));
  return s->Bind(1, environment)
      .Bind(2, name)
      .Bind(3, value)
      .Bind(4, FormatTimestamp(clock.Now()))
      .Bind(5, actor)
      .Run();
}

Status SetSecret(Transaction& tx, const std::string& environment, const std::string& name,
                 const std::string& value, const std::string& actor, const Clock& clock,
                 Random& random) {
  CL_RETURN_IF_ERROR(ValidateConfigName(name));
  if (value.empty() || value.size() > 64 * 1024)
    return Status::InvalidArgument("a secret's value is 1 byte to 64 KiB");
  auto key = ReadKey(tx.view());
  if (!key.ok() && key.status().code() == StatusCode::kNotFound) {
    CL_ASSIGN_OR_RETURN(SecureBytes fresh, SecureBytes::Generate(random, 32));
    CL_ASSIGN_OR_RETURN(
        Statement * ins,
        tx.Prepare("INSERT INTO appliance_keys (name, material, created_at) VALUES (?, ?, ?)"));
    CL_RETURN_IF_ERROR(ins->Bind(1, kSecretsKey)
                           .BindBlob(2, fresh.view())
                           .Bind(3, FormatTimestamp(clock.Now()))
                           .Run());
    key = std::move(fresh);
  }
  if (!key.ok()) return key.status();
  const SecureBytes plain(reinterpret_cast<const uint8_t*>(value.data()), value.size());
  CL_ASSIGN_OR_RETURN(WrappedKey sealed, WrapKey(*key, plain, Aad(environment, name), random));
  CL_ASSIGN_OR_RETURN(
      Statement * s,
      tx.Prepare(
          "INSERT OR REPLACE INTO environment_secrets (environment, name, nonce, ciphertext, "
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

Status DeleteConfig(Transaction& tx, bool secret, const std::string& environment,
                    const std::string& name) {
  CL_ASSIGN_OR_RETURN(
      Statement * s,
      tx.Prepare(secret ? "DELETE FROM environment_secrets WHERE environment = ? AND name = ?"
                        : "DELETE FROM environment_variables WHERE environment = ? AND name = ?"));
  CL_RETURN_IF_ERROR(s->Bind(1, environment).Bind(2, name).Run());
  if (tx.Changes() == 0) {
    return Status::NotFound(std::string(secret ? "no secret" : "no variable") + " named " + name +
                            " in " + environment);
  }
  return Status::Ok();
}

Result<std::string> RevealSecret(ReadView db, const std::string& environment,
                                 const std::string& name) {
  CL_ASSIGN_OR_RETURN(SecureBytes key, ReadKey(db));
  CL_ASSIGN_OR_RETURN(std::optional<WrappedKey> sealed,
                      db.Select("environment_secrets",
                                "SELECT nonce, ciphertext, tag FROM environment_secrets WHERE "
                                "environment = ? AND name = ?")
                          .Bind(1, environment)
                          .Bind(2, name)
                          .ReadOne([](const Row& row) {
                            const auto bytes = [&](int col) {
                              const std::string_view v = row.View(col);
                              return Bytes(v.begin(), v.end());
                            };
                            return WrappedKey{bytes(0), bytes(1), bytes(2)};
                          }));
  if (!sealed) return Status::NotFound("no secret named " + name + " in " + environment);
  CL_ASSIGN_OR_RETURN(SecureBytes plain, UnwrapKey(key, *sealed, Aad(environment, name)));
  return std::string(plain.view());
}

Result<EnvironmentSettings> GetSettings(ReadView db, const std::string& environment) {
  CL_ASSIGN_OR_RETURN(std::optional<EnvironmentSettings> stored,
                      db.Select("environment_settings",
                                "SELECT environment, egress_allow, model_endpoints, ca_bundle FROM "
                                "environment_settings WHERE environment = ?")
                          .Bind(1, environment)
                          .ReadOne([](const Row& row) -> Result<EnvironmentSettings> {
                            EnvironmentSettings out;
                            CL_ASSIGN_OR_RETURN(out.egress_allow, GlobList(row, 1, "egress_allow"));
                            CL_ASSIGN_OR_RETURN(out.model_endpoints,
                                                GlobList(row, 2, "model_endpoints"));
                            out.ca_bundle = row.Text(3);
                            return out;
                          }));
  return stored ? std::move(*stored) : EnvironmentSettings{};
}

Status SetSettings(Transaction& tx, const std::string& environment,
                   const EnvironmentSettings& settings, const std::string& actor,
                   const Clock& clock) {
  CL_ASSIGN_OR_RETURN(
      Statement * s, tx.Prepare("INSERT OR REPLACE INTO environment_settings (environment, "
                                "egress_allow, model_endpoints, updated_at, updated_by, ca_bundle) "
                                "VALUES (?, ?, ?, ?, ?, ?)"));
  return s->Bind(1, environment)
      .Bind(2, Json(settings.egress_allow).dump())
      .Bind(3, Json(settings.model_endpoints).dump())
      .Bind(4, FormatTimestamp(clock.Now()))
      .Bind(5, actor)
      .Bind(6, settings.ca_bundle)
      .Run();
}

}  // namespace cloister
