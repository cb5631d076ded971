#include "rpc/cluster_security.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/advertised_address.h"
#include "common/check.h"
#include "common/logging.h"
#include "common/process.h"

namespace halo::rpc {
namespace {

constexpr char kBearer[] = "Bearer ";

// A token goes into an HTTP/2 header: printable ASCII only; and it must be long enough not to be guessed.
Status ValidateToken(const std::string& token, const std::string& origin) {
  constexpr size_t kMinLength = 16;
  if (token.size() < kMinLength) {
    return InvalidArgumentError(absl::StrCat("the cluster token from ", origin, " is ", token.size(),
                                             " characters; it needs at least ", kMinLength,
                                             " (make one with `openssl rand -hex 32`)"));
  }
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) {
      return InvalidArgumentError(absl::StrCat("the cluster token from ", origin,
                                               " holds a character other than printable ASCII"));
    }
  }
  return OkStatus();
}

StatusOr<std::string> ReadTokenFile(const std::string& path) {
  // Opened once, not followed through a link, checked on the descriptor it is read from.
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return NotFoundError(absl::StrCat("cannot read token file ", path, ": ", strerror(errno)));
  struct stat info {};
  std::string text;
  Status problem;
  if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    problem = InvalidArgumentError(absl::StrCat("token file ", path, " is not a regular file"));
  } else if (info.st_uid != geteuid()) {
    problem = PermissionDeniedError(absl::StrCat("token file ", path, " belongs to another user (uid ",
                                                 info.st_uid, ")"));
  } else if ((info.st_mode & 077) != 0) {
    problem = PermissionDeniedError(absl::StrCat("token file ", path, " is open to others (mode ",
                                                 absl::StrFormat("%03o", info.st_mode & 0777),
                                                 "); make it readable by its owner only: chmod 600 ", path));
  } else {
    char buffer[4096];
    ssize_t n = 0;
    while ((n = read(fd, buffer, sizeof(buffer))) > 0 && text.size() < 65536) text.append(buffer, n);
    if (n < 0) problem = InternalError(absl::StrCat("cannot read token file ", path, ": ", strerror(errno)));
  }
  close(fd);
  if (!problem.ok()) return problem;
  std::string token(absl::StripAsciiWhitespace(text));
  if (token.empty()) return InvalidArgumentError(absl::StrCat("token file ", path, " is empty"));
  HALO_RETURN_IF_ERROR(ValidateToken(token, path));
  return token;
}

StatusOr<std::string> ReadPem(const std::string& setting, const std::string& path) {
  auto text = ReadFileToString(path);
  if (!text.ok()) {
    return InvalidArgumentError(absl::StrCat("setting '", setting, "': cannot read ", path));
  }
  if (text->find("-----BEGIN") == std::string::npos) {
    return InvalidArgumentError(absl::StrCat("setting '", setting, "': ", path, " holds no PEM block"));
  }
  return *std::move(text);
}

Status LoadTls(const Settings& settings, const std::string& session_dir, ClusterSecurity& security) {
  std::string cert = settings.tls_cert, key = settings.tls_key, ca = settings.tls_ca;
  if (ca.empty() && !session_dir.empty()) {
    // The head records the files it was given, so commands on its machine find them as they find its address.
    std::vector<std::string> lines = absl::StrSplit(ReadTrimmedFile(session_dir + "/" + kSessionTlsFile), '\n');
    if (lines.size() == 3) {
      cert = lines[0];
      key = lines[1];
      ca = lines[2];
    }
  }
  if (ca.empty()) return OkStatus();
  auto cert_pem = ReadPem("tls_cert", cert);
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = ReadPem("tls_key", key);
  if (!key_pem.ok()) return key_pem.status();
  auto ca_pem = ReadPem("tls_ca", ca);
  if (!ca_pem.ok()) return ca_pem.status();
  security.tls_cert_pem = *std::move(cert_pem);
  security.tls_key_pem = *std::move(key_pem);
  security.tls_ca_pem = *std::move(ca_pem);
  security.tls_server_name = settings.tls_server_name;
  security.tls_cert_path = cert;
  security.tls_key_path = key;
  security.tls_ca_path = ca;
  return OkStatus();
}

StatusOr<ClusterSecurity> Load(const Settings& settings, const std::string& session_dir, bool token_required) {
  ClusterSecurity security;
  security.check_token = settings.auth_mode != "off";
  if (const char* env = std::getenv(kTokenEnvironment); env != nullptr && *env != '\0') {
    security.token = std::string(absl::StripAsciiWhitespace(env));
    security.token_origin = kTokenEnvironment;
    HALO_RETURN_IF_ERROR(ValidateToken(security.token, kTokenEnvironment));
  } else if (!settings.auth_token_file.empty()) {
    auto token = ReadTokenFile(settings.auth_token_file);
    if (!token.ok()) return Status(token.status().code(), absl::StrCat("setting 'auth_token_file': ", token.status().message()));
    security.token = *std::move(token);
    security.token_origin = settings.auth_token_file;
  } else if (!session_dir.empty() && std::filesystem::exists(session_dir + "/" + kSessionTokenFile)) {
    const std::string path = session_dir + "/" + kSessionTokenFile;
    auto token = ReadTokenFile(path);
    if (!token.ok()) return token.status();
    security.token = *std::move(token);
    security.token_origin = path;
  } else if (security.check_token && token_required) {
    return NotFoundError(absl::StrCat(
        "no cluster token: set HALO_AUTH_TOKEN or --auth-token-file to the token the head keeps in "
        "<its session>/auth_token",
        session_dir.empty() ? "" : absl::StrCat(" (", session_dir, " has none)")));
  }
  HALO_RETURN_IF_ERROR(LoadTls(settings, session_dir, security));
  return security;
}

std::shared_ptr<const ClusterSecurity> FromEnvironment() {
  auto security = std::make_shared<ClusterSecurity>();
  if (const char* env = std::getenv(kTokenEnvironment); env != nullptr) {
    security->token = std::string(absl::StripAsciiWhitespace(env));
    security->token_origin = kTokenEnvironment;
  }
  return security;
}

std::mutex g_security_mutex;
// Never destroyed: gRPC threads of a driver that returned from main without Shutdown may still check calls.
std::shared_ptr<const ClusterSecurity>& Current() {
  static auto* current = new std::shared_ptr<const ClusterSecurity>(FromEnvironment());
  return *current;
}

// Refused calls are logged at most once per 10 s per process: junk traffic must not flood the log.
void LogRefusal(const grpc::ServerContextBase& context, const char* why) {
  static std::atomic<int64_t> last_ms{0};
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now().time_since_epoch())
                             .count();
  int64_t last = last_ms.load();
  if (now_ms - last < 10000 || !last_ms.compare_exchange_strong(last, now_ms)) return;
  HALO_LOG_WARN("refused a call from {}: {} (further refusals in the next 10 s are not logged)", context.peer(), why);
}

}  // namespace

StatusOr<ClusterSecurity> LoadClusterSecurity(const Settings& settings, const std::string& session_dir) {
  return Load(settings, session_dir, /*token_required=*/true);
}

StatusOr<ClusterSecurity> LoadClusterSecurityMaybeWithoutToken(const Settings& settings,
                                                               const std::string& session_dir) {
  return Load(settings, session_dir, /*token_required=*/false);
}

Status CheckServingSecurity(const Settings& settings) {
  if (settings.auth_mode == "off" && !IsLoopbackHost(settings.host)) {
    return InvalidArgumentError(absl::StrCat(
        "setting 'auth_mode' off is allowed only for a cluster on loopback addresses; host is ", settings.host,
        ": anyone who reaches it could control the cluster"));
  }
  return OkStatus();
}

std::string NewClusterToken() {
  unsigned char bytes[32];
  HALO_CHECK(RAND_bytes(bytes, sizeof(bytes)) == 1) << "OpenSSL could not make random bytes";
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

Status RecordSecurityInSession(const std::string& session_dir, const std::string& token, const Settings& settings) {
  if (!token.empty()) {
    const std::string path = session_dir + "/" + kSessionTokenFile;
    HALO_RETURN_IF_ERROR(WriteFileAtomically(path, token + "\n", /*mode=*/0600));
  }
  if (!settings.tls_ca.empty()) {
    std::error_code ec;
    auto absolute = [&ec](const std::string& p) { return std::filesystem::absolute(p, ec).string(); };
    HALO_RETURN_IF_ERROR(WriteFileAtomically(
        session_dir + "/" + kSessionTlsFile,
        absl::StrCat(absolute(settings.tls_cert), "\n", absolute(settings.tls_key), "\n", absolute(settings.tls_ca),
                     "\n")));
  }
  return OkStatus();
}

void SetProcessSecurity(ClusterSecurity security) {
  auto shared = std::make_shared<const ClusterSecurity>(std::move(security));
  std::lock_guard<std::mutex> lock(g_security_mutex);
  Current() = std::move(shared);
}

std::shared_ptr<const ClusterSecurity> ProcessSecurity() {
  std::lock_guard<std::mutex> lock(g_security_mutex);
  return Current();
}

grpc::Status CheckCallToken(const grpc::ServerContextBase& context) {
  const std::shared_ptr<const ClusterSecurity> security = ProcessSecurity();
  if (!security->check_token) return grpc::Status::OK;
  const auto& metadata = context.client_metadata();
  auto found = metadata.find(kAuthMetadataKey);
  if (found == metadata.end()) {
    LogRefusal(context, "no cluster token");
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "the call carries no cluster token; this cluster requires one (HALO_AUTH_TOKEN, "
                        "--auth-token-file, or the head's <session>/auth_token)");
  }
  const std::string expected = kBearer + security->token;
  const grpc::string_ref given = found->second;
  // Lengths are public (every token is 64 hex digits); the bytes are compared in constant time.
  const bool match = !security->token.empty() && given.size() == expected.size() &&
                     CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
  if (!match) {
    LogRefusal(context, "wrong cluster token");
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "the call's cluster token is wrong: give the token of this cluster's head (HALO_AUTH_TOKEN, "
                        "--auth-token-file, or the head's <session>/auth_token)");
  }
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* RefuseUnauthenticated(grpc::CallbackServerContext* context) {
  grpc::Status status = CheckCallToken(*context);
  if (status.ok()) return nullptr;
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

}  // namespace halo::rpc
