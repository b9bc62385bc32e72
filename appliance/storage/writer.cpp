#include "appliance/storage/writer.h"

namespace cloister {

void BatchCompletion::Finish(std::vector<Status> results, std::vector<std::function<Status(Transaction&)>> done_units) {
  {
    MutexLock lock(mu_);
    results_ = std::move(results);
    done_units_ = std::move(done_units);
    done_ = true;
  }
  cv_.NotifyAll();
}

Status BatchCompletion::Wait(size_t index) {
  MutexLock lock(mu_);
  while (!done_) cv_.Wait(lock);
  return results_[index];
}

WriteTicket WriteTicket::Failed(Status status) {
  auto completion = std::make_shared<BatchCompletion>(1);
  completion->Finish({std::move(status)});
  return WriteTicket(std::move(completion), 0);
}

}  // namespace cloister
