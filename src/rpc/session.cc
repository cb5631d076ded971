#include "rpc/session.h"

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/process.h"
#include "rpc/cluster_security.h"

namespace halo {

std::string NewSessionDir(const Settings& settings) {
  if (!settings.session_dir.empty()) return settings.session_dir;
  std::time_t now = std::time(nullptr);
  char stamp[64];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%d_%H-%M-%S", std::localtime(&now));
  return absl::StrCat(settings.session_root, "/session_", stamp, "_", getpid());
}

namespace {
std::string LatestLink(const Settings& settings) { return settings.session_root + "/session_latest"; }
}  // namespace

void MarkLatestSession(const Settings& settings, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(settings.session_root, ec);
  const std::string tmp = absl::StrCat(LatestLink(settings), ".", getpid());
  std::filesystem::remove(tmp, ec);
  std::filesystem::create_directory_symlink(std::filesystem::absolute(dir, ec), tmp, ec);
  if (!ec) std::filesystem::rename(tmp, LatestLink(settings), ec);
}

std::string ExistingSessionDir(const Settings& settings) {
  if (!settings.session_dir.empty()) return settings.session_dir;
  std::error_code ec;
  auto target = std::filesystem::read_symlink(LatestLink(settings), ec);
  if (ec) return "";
  return target.string();
}

StatusOr<std::string> FindGcsAddress(const std::string& address_flag, const Settings& settings) {
  if (!address_flag.empty()) return address_flag;
  if (const char* env = std::getenv("HALO_ADDRESS"); env != nullptr && *env != '\0') return std::string(env);
  const std::string session = ExistingSessionDir(settings);
  if (!session.empty()) {
    std::string address = ReadTrimmedFile(session + "/gcs.address");
    if (!address.empty()) return address;
  }
  return NotFoundError(
      "no running cluster found: pass --address, set HALO_ADDRESS, or start one with `halo start --head`");
}

namespace {

bool SessionServes(const std::string& session, const std::string& addresses) {
  for (const char* file : {"gcs.address", kJoinedAddressFile}) {
    const std::string known = ReadTrimmedFile(session + "/" + file);
    for (const auto& a : absl::StrSplit(addresses, ',', absl::SkipEmpty())) {
      for (const auto& k : absl::StrSplit(known, ',', absl::SkipEmpty())) {
        if (a == k) return true;
      }
    }
  }
  return false;
}

}  // namespace

Status UseClusterSecurity(const Settings& settings, const std::string& address_flag) {
  std::string session = ExistingSessionDir(settings);
  std::string given = address_flag;
  if (const char* env = std::getenv("HALO_ADDRESS"); given.empty() && env != nullptr) given = env;
  if (!session.empty() && !given.empty() && !SessionServes(session, given)) session.clear();
  auto security = rpc::LoadClusterSecurityMaybeWithoutToken(settings, session);
  if (!security.ok()) return security.status();
  rpc::SetProcessSecurity(*std::move(security));
  return OkStatus();
}

StatusOr<std::unique_ptr<GcsClient>> ConnectToGcs(const std::string& address_flag, const SettingsInputs& inputs) {
  auto loaded = LoadSettings(inputs);
  if (!loaded.ok()) return loaded.status();
  HALO_RETURN_IF_ERROR(UseClusterSecurity(loaded->values, address_flag));
  auto address = FindGcsAddress(address_flag, loaded->values);
  if (!address.ok()) return address.status();
  return std::make_unique<GcsClient>(*address, loaded->values.rpc_timeout_ms);
}

}  // namespace halo
