#include "appliance/runtime/runtime_schema.h"

namespace cloister::runtime {
namespace {

// Migration 8: runs (the durable queue and their summaries) and run_steps
// (one row per attempt of a step). Rowid order is queue order. A run's
// (environment, automation, idempotency_key) is unique, so a retried trigger
// finds the run it started. run_steps' key makes a step attempt's record
// unique: a completion is never recorded twice. run_schedules keeps, per
// scheduled automation, the last fire time the scheduler handled (started,
// or recorded as missed).
constexpr char kRuns[] = R"sql(CREATE TABLE runs (
  id TEXT NOT NULL UNIQUE,
  environment TEXT NOT NULL,
  automation TEXT NOT NULL,
  version TEXT NOT NULL,
  trigger TEXT NOT NULL CHECK (trigger IN ('manual', 'schedule', 'webhook')),
  triggered_by TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  inputs TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled', 'timed_out')),
  queued_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  next_step INTEGER NOT NULL DEFAULT 0,
  context TEXT NOT NULL DEFAULT '{}',
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_expires_ms INTEGER NOT NULL DEFAULT 0,
  cancel_requested_by TEXT NOT NULL DEFAULT '',
  error_code TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '',
  UNIQUE (environment, automation, idempotency_key)
);
CREATE INDEX runs_by_state ON runs (state);
CREATE INDEX runs_by_automation ON runs (environment, automation, state);
CREATE INDEX runs_by_version ON runs (environment, version, state);
CREATE TABLE run_steps (
  run_id TEXT NOT NULL REFERENCES runs (id),
  step_index INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  step_id TEXT NOT NULL,
  type TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'retrying')),
  started_at TEXT NOT NULL,
  duration_ms INTEGER NOT NULL,
  status INTEGER NOT NULL DEFAULT 0,
  error_code TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '',
  request_sha256 TEXT NOT NULL DEFAULT '',
  response_sha256 TEXT NOT NULL DEFAULT '',
  output TEXT,
  output_truncated INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, step_index, attempt)
) WITHOUT ROWID;
CREATE TABLE run_schedules (
  environment TEXT NOT NULL,
  automation TEXT NOT NULL,
  last_fire INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (environment, automation)
) WITHOUT ROWID;
)sql";

}  // namespace

std::vector<MigrationPart> RuntimeMigrationParts() { return {{8, "runtime", kRuns}}; }

}  // namespace cloister::runtime
