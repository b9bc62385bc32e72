#include "tests/support/test_store.h"

#include <gtest/gtest.h>

#include "appliance/server/schema.h"
#include "appliance/server/storage_wiring.h"
#include "appliance/storage/migrator.h"

namespace cloister::testing {

Result<TestStore> OpenTestStore(const std::string& path, const SecureBytes& key,
                                const Clock& clock) {
  ConnectionOptions create;
  create.create = true;
  CL_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, Connection::Open(path, key, create));
  CL_ASSIGN_OR_RETURN(std::vector<Migration> migrations, ApplianceMigrations());
  CL_RETURN_IF_ERROR(Migrate(*conn, migrations, clock).status());
  TestStore out;
  out.writer =
      std::make_unique<GroupCommitWriter>(std::move(conn), WriterOptions{}, clock, nullptr);
  CL_ASSIGN_OR_RETURN(out.reads, ReadPool::Open(path, key, 2));
  return out;
}

StorageOptions ApplianceStorageOptions(const std::string& data_dir, int read_connections,
                                       const Clock& clock) {
  StorageOptions options;
  options.data_dir = data_dir;
  options.read_connections = read_connections;
  auto wired = WireStorage(std::move(options), clock, nullptr);
  if (!wired.ok()) {
    ADD_FAILURE() << wired.status().ToString();
    return {};
  }
  return std::move(wired).value();
}

WriterFactory WrapWriters(WriterFactory factory,
                          std::function<std::unique_ptr<Writer>(std::unique_ptr<Writer>)> wrap) {
  return [factory = std::move(factory), wrap = std::move(wrap)](
             std::unique_ptr<Connection> conn,
             const WriterOptions& options) -> Result<std::unique_ptr<Writer>> {
    CL_ASSIGN_OR_RETURN(std::unique_ptr<Writer> writer, factory(std::move(conn), options));
    return wrap(std::move(writer));
  };
}

}  // namespace cloister::testing
