// File helpers with the durability the appliance needs: atomic replacement
// (write temporary, fsync, rename, fsync directory) and exclusive creation
// with a given mode, so that key material is never world-readable, not even
// briefly.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "appliance/core/status.h"

namespace cloister {

// Whole file, or not_found / invalid_argument (larger than max_bytes).
Result<std::string> ReadFile(const std::string& path, size_t max_bytes = 16 << 20);

// Replaces `path` atomically with `data`, created with `mode`.
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode);

// Creates `path` with `mode`; already_exists if it is there. Durable on return.
Status CreateFileExclusive(const std::string& path, std::string_view data, mode_t mode);

// Creates `path` and its parents with `mode` (existing directories keep theirs).
Status MakeDirectories(const std::string& path, mode_t mode);

bool PathExists(const std::string& path);

// Permission bits of an existing file.
Result<mode_t> FileMode(const std::string& path);

// Clears the permission bits of `path` outside `allowed` (e.g. 0600 for a
// private file, 0700 for a private directory). Returns the mode it had when
// bits were cleared, nullopt when there was nothing to clear or `path` does
// not exist; a symbolic link is never followed (nullopt). permission_denied
// naming the file when it is too open and cannot be changed.
Result<std::optional<mode_t>> RestrictMode(const std::string& path, mode_t allowed);

// "0644": permission bits as written in messages.
std::string OctalMode(mode_t mode);

// An exclusive advisory lock (flock) on `path`, created 0600 when missing,
// held until the object is destroyed or the process exits.
class FileLock {
 public:
  // unavailable (reason "locked") when another process holds it.
  static Result<std::unique_ptr<FileLock>> TryAcquire(const std::string& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace cloister
