// A migrated SQLCipher database with the real writer and a read pool, for
// tests of code that reads and writes through them; and the storage options
// cloisterd wires, for tests that run a SealManager.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "appliance/storage/group_commit_writer.h"
#include "appliance/storage/read_pool.h"
#include "appliance/storage/seal_manager.h"

namespace cloister::testing {

struct TestStore {
  std::unique_ptr<GroupCommitWriter> writer;
  std::unique_ptr<ReadPool> reads;
};

// Creates `path` with `key`, applies every migration of the appliance's
// schema and opens the writer and a pool of two readers; the error, when
// any step fails.
Result<TestStore> OpenTestStore(const std::string& path, const SecureBytes& key,
                                const Clock& clock);

// What cloisterd gives its SealManager (the appliance's schema, the
// group-commit writer on `clock`, no metrics) for `data_dir`. Records a test
// failure when the schema does not assemble. `clock` must outlive the
// SealManager.
StorageOptions ApplianceStorageOptions(const std::string& data_dir, int read_connections,
                                       const Clock& clock);

// `factory` with each writer it builds handed to `wrap`, which owns it and
// returns the writer to serve; for tests that make the database refuse units.
WriterFactory WrapWriters(WriterFactory factory,
                          std::function<std::unique_ptr<Writer>(std::unique_ptr<Writer>)> wrap);

}  // namespace cloister::testing
