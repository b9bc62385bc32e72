// A migrated SQLCipher database with the real writer and a read pool, for
// tests of code that reads and writes through them.
#pragma once

#include <memory>
#include <string>

#include "appliance/storage/group_commit_writer.h"
#include "appliance/storage/read_pool.h"

namespace cloister::testing {

struct TestStore {
  std::unique_ptr<GroupCommitWriter> writer;
  std::unique_ptr<ReadPool> reads;
};

// Creates `path` with `key`, applies every migration and opens the writer
// and a pool of two readers; the error, when any step fails.
Result<TestStore> OpenTestStore(const std::string& path, const SecureBytes& key, const Clock& clock);

}  // namespace cloister::testing
