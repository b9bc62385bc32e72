#include "appliance/core/files.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

namespace cloister {
namespace {

std::string ErrnoText() { return std::strerror(errno); }

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Unavailable("writing " + path + ": " + ErrnoText());
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return Status::Unavailable("fsync " + path + ": " + ErrnoText());
  return Status::Ok();
}

Status SyncDirectoryOf(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::Unavailable("opening directory " + dir + ": " + ErrnoText());
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Status::Unavailable("fsync directory " + dir + ": " + ErrnoText());
  return Status::Ok();
}

}  // namespace

Result<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::PermissionDenied(path + ": " + ErrnoText());
  }
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string err = ErrnoText();
      ::close(fd);
      return Status::Unavailable("reading " + path + ": " + err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      ::close(fd);
      return Status::InvalidArgument(path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  ::close(fd);
  return out;
}

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::Unavailable("creating " + tmp + ": " + ErrnoText());
  Status st = WriteAll(fd, data, tmp);
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = Status::Unavailable("renaming " + tmp + " to " + path + ": " + ErrnoText());
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return SyncDirectoryOf(path);
}

Status CreateFileExclusive(const std::string& path, std::string_view data, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return Status::AlreadyExists(path + " already exists; refusing to overwrite it");
    return Status::InvalidArgument("creating " + path + ": " + ErrnoText());
  }
  // The umask may have narrowed the mode; never widened, but make it exact.
  ::fchmod(fd, mode);
  Status st = WriteAll(fd, data, path);
  ::close(fd);
  if (!st.ok()) {
    ::unlink(path.c_str());
    return st;
  }
  return SyncDirectoryOf(path);
}

Status MakeDirectories(const std::string& path, mode_t mode) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Status::Ok();
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::InvalidArgument("creating directory " + path + ": " + ec.message());
  if (::chmod(path.c_str(), mode) != 0) {
    return Status::InvalidArgument("chmod " + path + ": " + ErrnoText());
  }
  return Status::Ok();
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Result<mode_t> FileMode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": no such file");
    return Status::PermissionDenied(path + ": " + ErrnoText());
  }
  return static_cast<mode_t>(st.st_mode & 07777);
}

Result<std::optional<mode_t>> RestrictMode(const std::string& path, mode_t allowed) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::optional<mode_t>();
    return Status::PermissionDenied(path + ": " + ErrnoText());
  }
  if (S_ISLNK(st.st_mode)) return std::optional<mode_t>();
  const auto mode = static_cast<mode_t>(st.st_mode & 07777);
  if ((mode & ~allowed) == 0) return std::optional<mode_t>();
  if (::chmod(path.c_str(), mode & allowed) != 0) {
    const std::string why = ErrnoText();
    return Status::PermissionDenied("cannot make " + path + " private (mode " + OctalMode(mode) + "): " + why);
  }
  return std::optional<mode_t>(mode);
}

std::string OctalMode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

Result<std::unique_ptr<FileLock>> FileLock::TryAcquire(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Internal("cannot open lock file " + path + ": " + std::strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return Status::Unavailable(path + " is locked by another process").WithReason("locked");
  }
  return std::unique_ptr<FileLock>(new FileLock(fd));
}

FileLock::~FileLock() { close(fd_); }

}  // namespace cloister
