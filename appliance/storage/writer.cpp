#include "appliance/storage/writer.h"

namespace cloister {

void BatchCompletion::Finish(std::vector<Status> results, std::vector<std::function<Status(Transaction&)>> done_units) {
  {
    std::lock_guard lock(mu_);
    results_ = std::move(results);
    done_units_ = std::move(done_units);
    done_ = true;
  }
  cv_.notify_all();
}

Status BatchCompletion::Wait(size_t index) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return done_; });
  return results_[index];
}

WriteTicket WriteTicket::Failed(Status status) {
  auto completion = std::make_shared<BatchCompletion>(1);
  completion->Finish({std::move(status)});
  return WriteTicket(std::move(completion), 0);
}

}  // namespace cloister
