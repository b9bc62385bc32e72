#include "governance/promotion/promotion_schema.h"

namespace cloister::promotion {
namespace {

// Migration 5, after automation_versions: what is live where.
constexpr char kDeployments[] = R"sql(CREATE TABLE deployments (
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
)sql";

// Migration 5, after the environments module's part: pipelines, promotions,
// their approvals and their history. The open states are spelled out here
// as they shipped, not built from promotion_state.h, so that this text (and
// its checksum) never changes.
constexpr char kPipelinesPromotions[] = R"sql(CREATE TABLE pipeline_documents (
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
)sql";

// Migration 6, first: every stored "who" becomes a user id. Kept whole
// here although it also rewrites the policy, automation and environment
// tables and reads identity's users and api_tokens: its rewrites apply one
// rule that must read the same in every table, and split by module they
// would interleave four modules in the layout. The promotion module owns
// most of the tables rewritten and stands on automation, environments and
// policy. The identity module's own statements of this migration (lockouts,
// token labels) are its part, joined after this one.
constexpr char kPeopleByUserId[] = R"sql(-- Every stored "who" becomes the stable user id (rows written before held a
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
)sql";

// Migration 7: a promotion's state is one of promotion_state.h's states,
// checked by the schema. SQLite adds a CHECK only by rebuilding the table;
// its children are rebuilt with it so that no dropped table is referenced
// (foreign keys stay on: the migration runs in a transaction), and renaming
// the new parent rewrites the children's references to "promotions". The
// list is written out, never built, so this text never changes; a test
// holds it equal to StateCheckSql("state").
constexpr char kStateCheck[] = R"sql(CREATE TABLE promotions_checked (
  id TEXT PRIMARY KEY,
  automation TEXT NOT NULL,
  version TEXT NOT NULL REFERENCES automation_versions(id),
  from_env TEXT NOT NULL,
  to_env TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('promotion', 'rollback')),
  state TEXT NOT NULL CHECK (state IN ('pending_checks', 'awaiting_approval', 'approved', 'scheduled', 'deployed', 'rejected', 'blocked', 'cancelled', 'failed')),
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
INSERT INTO promotions_checked SELECT id, automation, version, from_env, to_env, kind, state, requester, author,
  emergency, reason, scheduled_for, pipeline, checks, decision, override, review, created_at, updated_at
  FROM promotions;
CREATE TABLE promotion_approvals_checked (
  promotion_id TEXT NOT NULL REFERENCES promotions_checked(id),
  user TEXT NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
  version TEXT NOT NULL,
  roles TEXT NOT NULL,
  comment TEXT NOT NULL,
  at TEXT NOT NULL,
  PRIMARY KEY (promotion_id, user)
) WITHOUT ROWID;
INSERT INTO promotion_approvals_checked SELECT promotion_id, user, decision, version, roles, comment, at
  FROM promotion_approvals;
CREATE TABLE promotion_history_checked (
  promotion_id TEXT NOT NULL REFERENCES promotions_checked(id),
  seq INTEGER NOT NULL,
  from_state TEXT,
  to_state TEXT NOT NULL,
  actor TEXT NOT NULL,
  at TEXT NOT NULL,
  note TEXT NOT NULL,
  PRIMARY KEY (promotion_id, seq)
) WITHOUT ROWID;
INSERT INTO promotion_history_checked SELECT promotion_id, seq, from_state, to_state, actor, at, note
  FROM promotion_history;
DROP TABLE promotion_approvals;
DROP TABLE promotion_history;
DROP TABLE promotions;
ALTER TABLE promotions_checked RENAME TO promotions;
ALTER TABLE promotion_approvals_checked RENAME TO promotion_approvals;
ALTER TABLE promotion_history_checked RENAME TO promotion_history;
CREATE UNIQUE INDEX promotions_one_open ON promotions(automation, to_env)
  WHERE state IN ('pending_checks', 'awaiting_approval', 'approved', 'scheduled');
CREATE INDEX promotions_by_state ON promotions(state, updated_at);
)sql";

}  // namespace

std::string_view StateCheckMigrationSql() { return kStateCheck; }

std::vector<MigrationPart> PromotionMigrationParts() {
  return {
      {5, "promotion", kDeployments},
      {5, "promotion", kPipelinesPromotions},
      {6, "promotion", kPeopleByUserId},
      {7, "promotion", kStateCheck},
  };
}

}  // namespace cloister::promotion
