// Read connections, separate from the writer's. Each is query_only, so a
// read path cannot write by mistake; WAL lets them read while the writer
// commits. Read() lends one connection to the calling thread for the
// duration of `fn`, waiting when all are lent.
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "appliance/storage/connection.h"

namespace cloister {

class ReadPool {
 public:
  // Opens `size` query_only connections to an existing database.
  static Result<std::unique_ptr<ReadPool>> Open(const std::string& path, const SecureBytes& key, int size);

  template <typename T>
  Result<T> Read(const std::function<Result<T>(Connection&)>& fn) {
    Lease lease(*this);
    return fn(*lease.conn);
  }
  Status Read(const std::function<Status(Connection&)>& fn) {
    Lease lease(*this);
    return fn(*lease.conn);
  }

 private:
  struct Lease {
    explicit Lease(ReadPool& pool);
    ~Lease();
    ReadPool& pool;
    std::unique_ptr<Connection> conn;
  };

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace cloister
