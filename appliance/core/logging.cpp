#include "appliance/core/logging.h"
#include "appliance/core/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <vector>

#include <boost/core/null_deleter.hpp>
#include <boost/log/attributes/clock.hpp>
#include <boost/log/core.hpp>
#include <boost/log/expressions.hpp>
#include <boost/log/sinks/sync_frontend.hpp>
#include <boost/log/sinks/text_file_backend.hpp>
#include <boost/log/sinks/text_ostream_backend.hpp>
#include <boost/log/sources/record_ostream.hpp>
#include <boost/log/sources/severity_channel_logger.hpp>
#include <boost/log/support/date_time.hpp>

namespace cloister {
namespace logging = boost::log;
namespace expr = boost::log::expressions;
namespace keywords = boost::log::keywords;
namespace sinks = boost::log::sinks;

BOOST_LOG_ATTRIBUTE_KEYWORD(severity_attr, "Severity", LogLevel)
BOOST_LOG_ATTRIBUTE_KEYWORD(channel_attr, "Channel", std::string)

namespace {

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info ";
    case LogLevel::kWarning: return "warn ";
    case LogLevel::kError: return "error";
  }
  return "info ";
}

auto LineFormat() {
  return expr::stream << expr::format_date_time<boost::posix_time::ptime>("TimeStamp", "%Y-%m-%dT%H:%M:%S.%fZ")
                      << ' ' << severity_attr << ' ' << channel_attr << ": " << expr::smessage;
}

// The log directory is created 0700; the log file and the rotated files
// beside it (same stem and extension) are narrowed to 0600. An existing
// directory of someone else's is left alone (with a warning), since the log
// file may be configured into a shared one. Returns the warnings to log.
Result<std::vector<std::string>> MakeLogFilesPrivate(const std::string& log_file, const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> warnings;
  auto note = [&warnings](const Result<std::optional<mode_t>>& was, const std::string& path, mode_t allowed) {
    if (!was.ok()) {
      warnings.push_back(was.status().message() + "; other users may read it");
    } else if (*was) {
      warnings.push_back("made " + path + " private: it was mode " + OctalMode(**was) + ", now " +
                         OctalMode(**was & allowed));
    }
  };
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    if (Status st = MakeDirectories(dir.string(), 0700); !st.ok()) {
      return Status::InvalidArgument("log directory " + dir.string() + ": " + st.message());
    }
  } else {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && st.st_uid == ::geteuid()) {
      note(RestrictMode(dir.string(), 0700), dir.string(), 0700);
    } else if ((st.st_mode & 077) != 0) {
      warnings.push_back("the log directory " + dir.string() + " (mode " + OctalMode(st.st_mode) +
                         ") is not Cloister's own; other users may list its files");
    }
  }
  const fs::path file(log_file);
  const std::string stem = file.stem().string(), extension = file.extension().string();
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const bool ours = name.rfind(stem, 0) == 0 && name.size() >= extension.size() &&
                      name.compare(name.size() - extension.size(), extension.size(), extension) == 0;
    if (ours && it->is_regular_file(ec)) note(RestrictMode(it->path().string(), 0600), it->path().string(), 0600);
  }
  // Created here, before Boost.Log opens it with the umask's mode.
  const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Status::InvalidArgument("log file " + log_file + ": " + std::strerror(errno));
  ::close(fd);
  note(RestrictMode(log_file, 0600), log_file, 0600);
  return warnings;
}

}  // namespace

// Found by argument-dependent lookup from Boost.Log's formatter.
std::ostream& operator<<(std::ostream& out, LogLevel level) { return out << LevelName(level); }

Result<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warning" || name == "warn") return LogLevel::kWarning;
  if (name == "error") return LogLevel::kError;
  return Status::InvalidArgument("unknown log level \"" + std::string(name) +
                                 "\" (debug, info, warning, error)");
}

Status InitLogging(const LogOptions& options) {
  auto core = logging::core::get();
  core->remove_all_sinks();
  core->add_global_attribute("TimeStamp", logging::attributes::utc_clock());
  core->set_filter(severity_attr >= options.level);

  if (options.console) {
    auto backend = boost::make_shared<sinks::text_ostream_backend>();
    backend->add_stream(boost::shared_ptr<std::ostream>(&std::clog, boost::null_deleter()));
    backend->auto_flush(true);
    auto sink = boost::make_shared<sinks::synchronous_sink<sinks::text_ostream_backend>>(backend);
    sink->set_formatter(LineFormat());
    core->add_sink(sink);
  }
  std::vector<std::string> warnings;
  if (!options.file.empty()) {
    const std::filesystem::path file(options.file);
    const std::filesystem::path dir = file.parent_path().empty() ? "." : file.parent_path();
    CL_ASSIGN_OR_RETURN(warnings, MakeLogFilesPrivate(options.file, dir));
    try {
      auto backend = boost::make_shared<sinks::text_file_backend>(
          keywords::file_name = options.file,
          keywords::target_file_name = file.stem().string() + "-%Y%m%dT%H%M%S-%N" + file.extension().string(),
          keywords::rotation_size = static_cast<uintmax_t>(options.rotate_bytes),
          keywords::open_mode = std::ios_base::out | std::ios_base::app,
          keywords::enable_final_rotation = false);
      backend->auto_flush(true);
      // Each new file (the first, and each after a rotation) is made 0600
      // before the first line reaches it, whatever the process's umask.
      backend->set_open_handler([path = options.file](std::ostream&) { ::chmod(path.c_str(), 0600); });
      backend->set_file_collector(sinks::file::make_collector(
          keywords::target = dir.string(), keywords::max_files = static_cast<uintmax_t>(options.max_files)));
      backend->scan_for_files();
      auto sink = boost::make_shared<sinks::synchronous_sink<sinks::text_file_backend>>(backend);
      sink->set_formatter(LineFormat());
      core->add_sink(sink);
    } catch (const std::exception& e) {
      return Status::InvalidArgument("log file " + options.file + ": " + e.what());
    }
  }
  const Logger log("logging");
  for (const auto& w : warnings) log.Warning(w);
  return Status::Ok();
}

struct Logger::State {
  logging::sources::severity_channel_logger_mt<LogLevel, std::string> source;
  explicit State(const std::string& channel) : source(keywords::channel = channel) {}
};

Logger::Logger(std::string channel) : channel_(std::move(channel)), state_(std::make_unique<State>(channel_)) {}
Logger::~Logger() = default;
Logger::Logger(const Logger& other) : Logger(other.channel_) {}

void Logger::Write(LogLevel level, std::string_view message) const {
  BOOST_LOG_SEV(state_->source, level) << message;
}

}  // namespace cloister
