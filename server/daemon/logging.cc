#include "server/daemon/logging.h"

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "spdlog/sinks/stdout_sinks.h"
#include "spdlog/spdlog.h"

namespace corosched::server {

void SetUpLogging(absl::string_view level) {
  auto logger = spdlog::stderr_logger_mt("corosched");
  logger->set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l %v",
                      spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(std::string(level)));
  // Lines are rare and read live (by a supervisor, or a test): flush each one
  // at info and above.
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

std::string LogValue(absl::string_view value) {
  bool plain = !value.empty();
  for (char c : value) {
    if (c == ' ' || c == '"' || c == '=' || c == '\\' ||
        static_cast<unsigned char>(c) < 0x20) {
      plain = false;
      break;
    }
  }
  if (plain) return std::string(value);
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      quoted.push_back('\\');
      quoted.push_back(c);
    } else if (c == '\n') {
      quoted.append("\\n");
    } else if (static_cast<unsigned char>(c) < 0x20) {
      quoted.push_back(' ');
    } else {
      quoted.push_back(c);
    }
  }
  quoted.push_back('"');
  return quoted;
}

std::string LogStatus(const absl::Status& status) {
  return absl::StrCat("code=", absl::StatusCodeToString(status.code()),
                      " msg=", LogValue(status.message()));
}

}  // namespace corosched::server
