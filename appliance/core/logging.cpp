#include "appliance/core/logging.h"

#include <filesystem>
#include <iostream>

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
  if (!options.file.empty()) {
    const std::filesystem::path file(options.file);
    const std::filesystem::path dir = file.parent_path().empty() ? "." : file.parent_path();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::InvalidArgument("log directory " + dir.string() + ": " + ec.message());
    try {
      auto backend = boost::make_shared<sinks::text_file_backend>(
          keywords::file_name = options.file,
          keywords::target_file_name = file.stem().string() + "-%Y%m%dT%H%M%S-%N" + file.extension().string(),
          keywords::rotation_size = static_cast<uintmax_t>(options.rotate_bytes),
          keywords::open_mode = std::ios_base::out | std::ios_base::app,
          keywords::enable_final_rotation = false);
      backend->auto_flush(true);
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
