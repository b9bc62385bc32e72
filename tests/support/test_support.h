// Test support: a private temporary directory per test, a manual clock, and
// a deterministic random source for tests that need repeatable bytes.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "appliance/core/clock.h"
#include "appliance/core/random.h"

namespace cloister::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Time that moves only when told to.
class ManualClock final : public Clock {
 public:
  ManualClock() : now_(std::chrono::system_clock::from_time_t(1795219200)) {}  // 2026-11-21T00:00:00Z
  std::chrono::system_clock::time_point Now() const override { return now_.load(); }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::time_point(now_.load().time_since_epoch());
  }
  void Advance(std::chrono::microseconds d) { now_ = now_.load() + d; }
  void Set(std::chrono::system_clock::time_point t) { now_ = t; }

 private:
  std::atomic<std::chrono::system_clock::time_point> now_;
};

// Reads a file into a string, failing the test when it cannot.
std::string Slurp(const std::string& path);
void WriteText(const std::string& path, const std::string& text);

}  // namespace cloister::testing
