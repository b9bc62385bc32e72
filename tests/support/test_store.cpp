#include "tests/support/test_store.h"

#include "appliance/storage/migrator.h"

namespace cloister::testing {

Result<TestStore> OpenTestStore(const std::string& path, const SecureBytes& key, const Clock& clock) {
  ConnectionOptions create;
  create.create = true;
  CL_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, Connection::Open(path, key, create));
  CL_RETURN_IF_ERROR(Migrate(*conn, SchemaMigrations(), clock).status());
  TestStore out;
  out.writer = std::make_unique<GroupCommitWriter>(std::move(conn), WriterOptions{}, clock, nullptr);
  CL_ASSIGN_OR_RETURN(out.reads, ReadPool::Open(path, key, 2));
  return out;
}

}  // namespace cloister::testing
