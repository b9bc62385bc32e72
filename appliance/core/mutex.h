// Mutex, MutexLock and CondVar: std::mutex and std::condition_variable with
// Clang thread-safety annotations (appliance/core/thread_annotations.h), so
// that members written CL_GUARDED_BY(mu_) are checked at compile time.
//
//   Mutex mu_;
//   bool ready_ CL_GUARDED_BY(mu_) = false;
//   CondVar cv_;
//   ...
//   MutexLock lock(mu_);
//   while (!ready_) cv_.Wait(lock);
//
// Thread-safe, as the std types they wrap; a MutexLock belongs to the thread
// that made it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>

#include "appliance/core/thread_annotations.h"

namespace cloister {

// A non-recursive mutex the analysis knows. Take it with MutexLock.
class CL_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() CL_ACQUIRE() { mu_.lock(); }
  void Unlock() CL_RELEASE() { mu_.unlock(); }
  // Tells the analysis that the calling thread holds this mutex; checks
  // nothing at run time. For code the analysis cannot follow: a lambda that
  // runs under the lock (a CondVar predicate) starts with it.
  void AssertHeld() const CL_ASSERT_CAPABILITY(this) {}

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// Holds a Mutex from construction to destruction, or to Unlock().
class CL_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) CL_ACQUIRE(mu) : lock_(mu.mu_) {}
  ~MutexLock() CL_RELEASE() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  // Lets go early (before notifying, or before slow work); the destructor
  // then releases nothing unless Lock() took it again.
  void Unlock() CL_RELEASE() { lock_.unlock(); }
  void Lock() CL_ACQUIRE() { lock_.lock(); }

 private:
  friend class CondVar;
  std::unique_lock<std::mutex> lock_;
};

// A condition variable waited on with a MutexLock. Every wait releases the
// mutex while it waits and holds it again when it returns; a wait may also
// return spuriously, so wait in a loop on the condition, or pass it as a
// predicate that begins with `mu_.AssertHeld();` (the analysis cannot see
// that the predicate runs under the lock).
class CondVar {
 public:
  void Wait(MutexLock& lock) { cv_.wait(lock.lock_); }
  template <typename Predicate>
  void Wait(MutexLock& lock, Predicate done) {
    cv_.wait(lock.lock_, std::move(done));
  }
  // Waits until `done()` or `timeout` has passed; returns done().
  template <typename Rep, typename Period, typename Predicate>
  bool WaitFor(MutexLock& lock, std::chrono::duration<Rep, Period> timeout, Predicate done) {
    return cv_.wait_for(lock.lock_, timeout, std::move(done));
  }

  void NotifyOne() noexcept { cv_.notify_one(); }
  void NotifyAll() noexcept { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace cloister
