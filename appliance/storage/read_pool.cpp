#include "appliance/storage/read_pool.h"

namespace cloister {

Result<std::unique_ptr<ReadPool>> ReadPool::Open(const std::string& path, const SecureBytes& key, int size) {
  auto pool = std::make_unique<ReadPool>();
  ConnectionOptions options;
  options.read_only = true;
  for (int i = 0; i < size; ++i) {
    CL_ASSIGN_OR_RETURN(auto conn, Connection::Open(path, key, options));
    MutexLock lock(pool->mu_);
    pool->idle_.push_back(std::move(conn));
  }
  return pool;
}

ReadPool::Lease::Lease(ReadPool& p) : pool(p) {
  MutexLock lock(pool.mu_);
  while (pool.idle_.empty()) pool.cv_.Wait(lock);
  conn = std::move(pool.idle_.back());
  pool.idle_.pop_back();
}

ReadPool::Lease::~Lease() {
  conn->ResetBusyStatements();
  {
    MutexLock lock(pool.mu_);
    pool.idle_.push_back(std::move(conn));
  }
  pool.cv_.NotifyOne();
}

}  // namespace cloister
