// Logging through spdlog. Daemons log to a file in their session directory; tools log to stderr.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace halo {

// Sets the default logger: to `path` when non-empty, else stderr; at `level` (trace..error).
void InitLogging(const std::string& program, const std::string& path, const std::string& level);

}  // namespace halo

#define HALO_LOG_DEBUG(...) SPDLOG_DEBUG(__VA_ARGS__)
#define HALO_LOG_INFO(...) SPDLOG_INFO(__VA_ARGS__)
#define HALO_LOG_WARN(...) SPDLOG_WARN(__VA_ARGS__)
#define HALO_LOG_ERROR(...) SPDLOG_ERROR(__VA_ARGS__)
