// Read connections, separate from the writer's. Each is query_only, so a
// read path cannot write by mistake; WAL lets them read while the writer
// commits. Read() lends one connection to the calling thread for the
// duration of `fn`, waiting when all are lent.
//
// Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "appliance/core/mutex.h"
#include "appliance/storage/connection.h"
#include "appliance/storage/rows.h"

namespace cloister {

class ReadPool {
 public:
  // Opens `size` query_only connections to an existing database.
  static Result<std::unique_ptr<ReadPool>> Open(const std::string& path, const SecureBytes& key, int size);

  // Lends a connection to `fn` as a read-only view (appliance/storage/rows.h).
  template <typename T>
  Result<T> Read(const std::function<Result<T>(ReadView)>& fn) {
    Lease lease(*this);
    return fn(ReadView(*lease.conn));
  }
  Status Read(const std::function<Status(ReadView)>& fn) {
    Lease lease(*this);
    return fn(ReadView(*lease.conn));
  }

 private:
  struct Lease {
    explicit Lease(ReadPool& pool);
    ~Lease();
    ReadPool& pool;
    std::unique_ptr<Connection> conn;
  };

  Mutex mu_;
  CondVar cv_;
  std::vector<std::unique_ptr<Connection>> idle_ CL_GUARDED_BY(mu_);
};

}  // namespace cloister
