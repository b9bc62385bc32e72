// The appliance's schema. Append new migrations at the end; never edit or
// reorder a migration that has shipped (its checksum is recorded).
#include "appliance/storage/migrator.h"

namespace cloister {

const std::vector<Migration>& SchemaMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "appliance_environments_tokens", R"sql(
CREATE TABLE appliance (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  appliance_id TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by_version TEXT NOT NULL
);
CREATE TABLE environments (
  name TEXT PRIMARY KEY,
  position INTEGER NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);
CREATE TABLE api_tokens (
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
)sql"},
      {2, "audit_ledger", R"sql(
CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY,
  data BLOB NOT NULL,
  chain_hash BLOB NOT NULL
);
CREATE TABLE audit_nodes (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE audit_checkpoints (
  size INTEGER PRIMARY KEY,
  root BLOB NOT NULL,
  note TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE appliance_keys (
  name TEXT PRIMARY KEY,
  material BLOB NOT NULL,
  created_at TEXT NOT NULL
);
)sql"},
      {3, "users_sessions_lockouts", R"sql(
CREATE TABLE users (
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
)sql"},
      {4, "policy_documents", R"sql(
CREATE TABLE policy_documents (
  kind TEXT NOT NULL CHECK (kind IN ('Policy', 'PolicyBinding')),
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  source TEXT,
  digest TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY (kind, name, version)
) WITHOUT ROWID;
)sql"},
      {5, "automations_environments_promotions", R"sql(
CREATE TABLE automation_versions (
  id TEXT PRIMARY KEY,
  automation TEXT NOT NULL,
  seq INTEGER NOT NULL,
  canonical TEXT NOT NULL,
  source TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (automation, seq)
);
CREATE TABLE deployments (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  environment TEXT NOT NULL,
  automation TEXT NOT NULL,
  version TEXT NOT NULL REFERENCES automation_versions(id),
  previous_version TEXT,
  promotion_id TEXT,
  kind TEXT NOT NULL CHECK (kind IN ('save', 'promotion', 'rollback')),
  deployed_at TEXT NOT NULL,
  deployed_by TEXT NOT NULL
);
CREATE INDEX deployments_by_environment ON deployments(environment, automation, seq);
CREATE TABLE environment_variables (
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
CREATE TABLE pipeline_documents (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  source TEXT NOT NULL,
  digest TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
CREATE TABLE promotions (
  id TEXT PRIMARY KEY,
  automation TEXT NOT NULL,
  version TEXT NOT NULL REFERENCES automation_versions(id),
  from_env TEXT NOT NULL,
  to_env TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('promotion', 'rollback')),
  state TEXT NOT NULL,
  requester TEXT NOT NULL,
  author TEXT NOT NULL,
  emergency INTEGER NOT NULL,
  reason TEXT NOT NULL,
  scheduled_for TEXT,
  pipeline TEXT NOT NULL,
  checks TEXT NOT NULL,
  decision TEXT,
  override TEXT,
  review TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX promotions_one_open ON promotions(automation, to_env)
  WHERE state IN ('pending_checks', 'awaiting_approval', 'approved', 'scheduled');
CREATE INDEX promotions_by_state ON promotions(state, updated_at);
CREATE TABLE promotion_approvals (
  promotion_id TEXT NOT NULL REFERENCES promotions(id),
  user TEXT NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
  version TEXT NOT NULL,
  roles TEXT NOT NULL,
  comment TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (promotion_id, user)
) WITHOUT ROWID;
CREATE TABLE promotion_history (
  promotion_id TEXT NOT NULL REFERENCES promotions(id),
  seq INTEGER NOT NULL,
  from_state TEXT,
  to_state TEXT NOT NULL,
  actor TEXT NOT NULL,
  at TEXT NOT NULL,
  note TEXT NOT NULL,
  PRIMARY KEY (promotion_id, seq)
) WITHOUT ROWID;
)sql"},
      {6, "people_by_user_id", R"sql(
-- Every stored "who" becomes the stable user id (rows written before held a
-- name, which a token named after someone could forge). A user name that
-- some token not owned by that user also carries is ambiguous: such rows
-- become "unverified:<name>", matching no one, and approvals of open
-- promotions by them are dropped so they must be given again.
UPDATE policy_documents SET created_by = 'unverified:' || created_by WHERE created_by IN (SELECT u.name FROM users u WHERE EXISTS (SELECT 1 FROM api_tokens t WHERE t.name = u.name AND (t.owner_id IS NULL OR t.owner_id != u.id)));
UPDATE automation_versions SET author = 'unverified:' || author WHERE author IN (SELECT u.name FROM users u WHERE EXISTS (SELECT 1 FROM api_tokens t WHERE t.name = u.name AND (t.owner_id IS NULL OR t.owner_id != u.id)));
UPDATE deployments SET deployed_by = 'unverified:' || deployed_by WHERE deployed_by IN (SELECT u.name FROM users u WHERE EXISTS (SELECT 1 FROM api_tokens t WHERE t.name = u.name AND (t.owner_id IS NULL OR t.owner_id != u.id)));
UPDATE environment_variables SET updated_by = 'unverified:' || updated_by WHERE updated_by IN (SELECT u.name FROM users u WHERE EXISTS (SELECT 1 FROM api_tokens t WHERE t.name = u.name AND (t.owner_id IS NULL OR t.owner_id != u.id)));
UPDATE environment_secrets SET updated_by = 'unverified:' || updated_by WHERE updated_by IN (SELECT u.name FROM users u WHERE EXISTS (SELECT 1 FROM api_tokens t WHERE t.name = u.name AND (t.owner_id IS NULL OR t.owner_id != u.id)));
UPDATE environment_settings SET updated_by = 'unverified:' || updated_by WHERE updated_by IN (SELECT u.name FROM users u WHERE EXISTS (SELECT 1 FROM api_tokens t WHERE t.name = u.name AND (t.owner_id IS NULL OR t.owner_id != u.id)));
UPDATE pipeline_documents SET created_by = 'unverified:' || created_by WHERE created_by IN (SELECT u.name FROM users u WHERE EXISTS (SELECT 1 FROM api_tokens t WHERE t.name = u.name AND (t.owner_id IS NULL OR t.owner_id != u.id)));
UPDATE promotions SET requester = 'unverified:' || requester WHERE requester IN (SELECT u.name FROM users u WHERE EXISTS (SELECT 1 FROM api_tokens t WHERE t.name = u.name AND (t.owner_id IS NULL OR t.owner_id != u.id)));
UPDATE promotions SET author = 'unverified:' || author WHERE author IN (SELECT u.name FROM users u WHERE EXISTS (SELECT 1 FROM api_tokens t WHERE t.name = u.name AND (t.owner_id IS NULL OR t.owner_id != u.id)));
UPDATE promotion_approvals SET user = 'unverified:' || user WHERE user IN (SELECT u.name FROM users u WHERE EXISTS (SELECT 1 FROM api_tokens t WHERE t.name = u.name AND (t.owner_id IS NULL OR t.owner_id != u.id)));
UPDATE promotion_history SET actor = 'unverified:' || actor WHERE actor IN (SELECT u.name FROM users u WHERE EXISTS (SELECT 1 FROM api_tokens t WHERE t.name = u.name AND (t.owner_id IS NULL OR t.owner_id != u.id)));
UPDATE policy_documents SET created_by = (SELECT id FROM users WHERE users.name = policy_documents.created_by) WHERE created_by IN (SELECT name FROM users);
UPDATE automation_versions SET author = (SELECT id FROM users WHERE users.name = automation_versions.author) WHERE author IN (SELECT name FROM users);
UPDATE deployments SET deployed_by = (SELECT id FROM users WHERE users.name = deployments.deployed_by) WHERE deployed_by IN (SELECT name FROM users);
UPDATE environment_variables SET updated_by = (SELECT id FROM users WHERE users.name = environment_variables.updated_by) WHERE updated_by IN (SELECT name FROM users);
UPDATE environment_secrets SET updated_by = (SELECT id FROM users WHERE users.name = environment_secrets.updated_by) WHERE updated_by IN (SELECT name FROM users);
UPDATE environment_settings SET updated_by = (SELECT id FROM users WHERE users.name = environment_settings.updated_by) WHERE updated_by IN (SELECT name FROM users);
UPDATE pipeline_documents SET created_by = (SELECT id FROM users WHERE users.name = pipeline_documents.created_by) WHERE created_by IN (SELECT name FROM users);
UPDATE promotions SET requester = (SELECT id FROM users WHERE users.name = promotions.requester) WHERE requester IN (SELECT name FROM users);
UPDATE promotions SET author = (SELECT id FROM users WHERE users.name = promotions.author) WHERE author IN (SELECT name FROM users);
UPDATE promotion_approvals SET user = (SELECT id FROM users WHERE users.name = promotion_approvals.user) WHERE user IN (SELECT name FROM users);
UPDATE promotion_history SET actor = (SELECT id FROM users WHERE users.name = promotion_history.actor) WHERE actor IN (SELECT name FROM users);
DELETE FROM promotion_approvals WHERE user LIKE 'unverified:%' AND promotion_id IN (
  SELECT id FROM promotions WHERE state IN ('pending_checks', 'awaiting_approval', 'approved', 'scheduled'));
-- Account lockouts are now keyed by the HMAC of the name tried; the old
-- rows held names, or passwords typed as names, in clear.
DELETE FROM login_failures WHERE kind = 'account';
-- Token names become labels unique among an owner's live tokens.
UPDATE api_tokens SET name = name || ' (' || id || ')' WHERE revoked_at IS NULL AND EXISTS (
  SELECT 1 FROM api_tokens t WHERE t.owner_id = api_tokens.owner_id AND t.name = api_tokens.name
  AND t.revoked_at IS NULL AND t.id < api_tokens.id);
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens(owner_id, name) WHERE revoked_at IS NULL;
)sql"},
  };
  return kMigrations;
}

}  // namespace cloister
