#include "governance/environments/environments_schema.h"

namespace cloister {
namespace {

// Migration 1: the ordered environments.
constexpr char kEnvironments[] = R"sql(CREATE TABLE environments (
  name TEXT PRIMARY KEY,
  position INTEGER NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);
)sql";

// Migration 5, between the promotion module's two parts: each environment's
// variables, encrypted secrets and settings.
constexpr char kVariablesSecretsSettings[] = R"sql(CREATE TABLE environment_variables (
  environment TEXT NOT NULL,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (environment, name)
) WITHOUT ROWID;
CREATE TABLE environment_secrets (
  environment TEXT NOT NULL,
  name TEXT NOT NULL,
  nonce BLOB NOT NULL,
  ciphertext BLOB NOT NULL,
  tag BLOB NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (environment, name)
) WITHOUT ROWID;
CREATE TABLE environment_settings (
  environment TEXT PRIMARY KEY,
  egress_allow TEXT NOT NULL,
  model_endpoints TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  updated_by TEXT NOT NULL
);
)sql";

// Migration 8, before the runtime's part: the CA certificates (PEM) that
// steps verify the environment's HTTPS services against.
constexpr char kCaBundle[] =
    R"sql(ALTER TABLE environment_settings ADD COLUMN ca_bundle TEXT NOT NULL DEFAULT '';
)sql";

}  // namespace

std::vector<MigrationPart> EnvironmentsMigrationParts() {
  return {
      {1, "environments", kEnvironments},
      {5, "environments", kVariablesSecretsSettings},
      {8, "environments", kCaBundle},
  };
}

}  // namespace cloister
