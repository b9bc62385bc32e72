#include "appliance/server/storage_wiring.h"

#include "appliance/server/schema.h"
#include "appliance/storage/group_commit_writer.h"

namespace cloister {

WriterFactory GroupCommitWriters(const Clock& clock, Metrics* metrics) {
  return [&clock, metrics](std::unique_ptr<Connection> conn,
                           const WriterOptions& options) -> Result<std::unique_ptr<Writer>> {
    return std::unique_ptr<Writer>(
        std::make_unique<GroupCommitWriter>(std::move(conn), options, clock, metrics));
  };
}

Result<StorageOptions> WireStorage(StorageOptions options, const Clock& clock, Metrics* metrics) {
  CL_ASSIGN_OR_RETURN(options.migrations, ApplianceMigrations());
  options.make_writer = GroupCommitWriters(clock, metrics);
  return options;
}

}  // namespace cloister
