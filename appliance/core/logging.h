// Logging through Boost.Log. InitLogging installs the process's sinks once
// (console and a size-rotated file); Logger is the handle that modules receive
// by reference and write through. Lines look like
//   2026-11-21T22:54:01.123456Z info  http: GET /v1/sys/health 200 ... rid=...
// Never log key material, tokens or request bodies.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "appliance/core/status.h"

namespace cloister {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

Result<LogLevel> ParseLogLevel(std::string_view name);

struct LogOptions {
  LogLevel level = LogLevel::kInfo;
  bool console = true;
  std::string file;                    // empty: no file sink
  int64_t rotate_bytes = 10 << 20;     // start a new file past this size
  int64_t max_files = 10;              // rotated files kept
};

// Installs the sinks. Call once, from main, before any thread logs.
// The log file and every file rotated from it are mode 0600 and a log
// directory it creates is 0700, whatever the umask; wider modes found on
// them (or on the directory, when it is this user's) are narrowed, with a
// warning naming the file.
Status InitLogging(const LogOptions& options);

// Thread-safe. Cheap to copy; one per module or component.
class Logger {
 public:
  explicit Logger(std::string channel);
  ~Logger();
  Logger(const Logger& other);
  Logger& operator=(const Logger&) = delete;

  void Debug(std::string_view message) const { Write(LogLevel::kDebug, message); }
  void Info(std::string_view message) const { Write(LogLevel::kInfo, message); }
  void Warning(std::string_view message) const { Write(LogLevel::kWarning, message); }
  void Error(std::string_view message) const { Write(LogLevel::kError, message); }
  void Write(LogLevel level, std::string_view message) const;

 private:
  struct State;
  std::string channel_;
  std::unique_ptr<State> state_;
};

}  // namespace cloister
