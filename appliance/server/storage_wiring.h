// The storage cloisterd opens: the appliance's schema and the group-commit
// writer, put into the StorageOptions that SealManager receives.
#pragma once

#include "appliance/core/clock.h"
#include "appliance/core/metrics.h"
#include "appliance/core/status.h"
#include "appliance/storage/seal_manager.h"

namespace cloister {

// Builds a GroupCommitWriter on `clock` for each store opened, counting into
// `metrics` when not null (then it must have the writer's families,
// DescribeWriterMetrics). `clock` and `metrics` must outlive every writer
// built.
WriterFactory GroupCommitWriters(const Clock& clock, Metrics* metrics);

// `options` with the appliance's migrations (schema.h) and
// GroupCommitWriters(clock, metrics). internal when the schema does not
// assemble.
Result<StorageOptions> WireStorage(StorageOptions options, const Clock& clock, Metrics* metrics);

}  // namespace cloister
