#include "appliance/identity/identity_schema.h"

namespace cloister {
namespace {

// Migration 1: API tokens, before users existed.
constexpr char kApiTokens[] = R"sql(CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  environment TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT,
  last_used_at TEXT
);
)sql";

// Migration 3: users, their role bindings and sessions, login lockouts, and
// tokens owned by users.
constexpr char kUsersSessionsLockouts[] = R"sql(CREATE TABLE users (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  name_key TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  must_change_password INTEGER NOT NULL DEFAULT 0,
  certificate_subject TEXT UNIQUE,
  created_at TEXT NOT NULL,
  password_changed_at TEXT NOT NULL,
  disabled_at TEXT,
  last_login_at TEXT
);
CREATE TABLE role_bindings (
  user_id TEXT NOT NULL REFERENCES users(id),
  role TEXT NOT NULL,
  environment TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (user_id, role, environment)
) WITHOUT ROWID;
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL REFERENCES users(id),
  csrf_token TEXT NOT NULL,
  method TEXT NOT NULL,
  remote_ip TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE INDEX sessions_by_user ON sessions(user_id);
CREATE TABLE login_failures (
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  failures INTEGER NOT NULL,
  last_failure_at TEXT NOT NULL,
  locked_until TEXT,
  PRIMARY KEY (kind, key)
) WITHOUT ROWID;
ALTER TABLE api_tokens ADD COLUMN owner_id TEXT REFERENCES users(id);
ALTER TABLE api_tokens ADD COLUMN restrict_roles TEXT;
ALTER TABLE api_tokens ADD COLUMN restrict_environments TEXT;
CREATE INDEX api_tokens_by_owner ON api_tokens(owner_id);
)sql";

// Migration 6, after the promotion module's part: lockouts keyed by HMAC,
// and token names made labels unique per owner.
constexpr char kLockoutsAndTokenLabels[] = R"sql(-- Account lockouts are now keyed by the HMAC of the name tried; the old
-- rows held names, or passwords typed as names, in clear.
DELETE FROM login_failures WHERE kind = 'account';
-- Token names become labels unique among an owner's live tokens.
UPDATE api_tokens SET name = name || ' (' || id || ')' WHERE revoked_at IS NULL AND EXISTS (
  SELECT 1 FROM api_tokens t WHERE t.owner_id = api_tokens.owner_id AND t.name = api_tokens.name
  AND t.revoked_at IS NULL AND t.id < api_tokens.id);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens(owner_id, name) WHERE revoked_at IS NULL;
)sql";

}  // namespace

std::vector<MigrationPart> IdentityMigrationParts() {
  return {
      {1, "identity", kApiTokens},
      {3, "identity", kUsersSessionsLockouts},
      {6, "identity", kLockoutsAndTokenLabels},
  };
}

}  // namespace cloister
