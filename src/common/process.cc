#include "common/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

extern char** environ;

namespace halo {

StatusOr<pid_t> Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return InvalidArgumentError("Spawn: empty argv");
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos && options.env.count(entry.substr(0, eq))) continue;
    env_strings.push_back(entry);
  }
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int error_pipe[2];
  if (pipe2(error_pipe, O_CLOEXEC) != 0) return InternalError(absl::StrCat("pipe: ", strerror(errno)));
  pid_t pid = fork();
  if (pid < 0) return InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    close(error_pipe[0]);
    if (options.new_session) setsid();
    if (options.die_with_parent) prctl(PR_SET_PDEATHSIG, SIGKILL);
    int in = open("/dev/null", O_RDONLY);
    int out = options.output_path.empty() ? open("/dev/null", O_WRONLY)
                                          : open(options.output_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in >= 0) dup2(in, 0);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    execve(argv[0], argv.data(), envp.data());
    int err = errno;
    ssize_t ignored = write(error_pipe[1], &err, sizeof(err));
    (void)ignored;
    _exit(127);
  }
  close(error_pipe[1]);
  int child_errno = 0;
  ssize_t n = read(error_pipe[0], &child_errno, sizeof(child_errno));
  close(error_pipe[0]);
  if (n == sizeof(child_errno)) {
    waitpid(pid, nullptr, 0);
    return InvalidArgumentError(absl::StrCat("cannot run ", options.argv[0], ": ", strerror(child_errno)));
  }
  return pid;
}

bool ProcessAlive(pid_t pid) {
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  // Read through the stream, never straight from its buffer: a process that exits between the open and the
  // read makes the read fail (ESRCH), which the buffer reports by throwing.
  std::string content;
  if (!std::getline(stat, content)) return false;
  auto close_paren = content.rfind(')');
  if (close_paren == std::string::npos || close_paren + 2 >= content.size()) return false;
  char state = content[close_paren + 2];
  return state != 'Z' && state != 'X';
}

std::string ProcessCommandLine(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  if (!in) return "";
  std::ostringstream read;  // through a stream: a failed read (the process just exited) is not thrown
  read << in.rdbuf();
  std::string content = read.str();
  for (char& c : content) {
    if (c == '\0') c = ' ';
  }
  while (!content.empty() && content.back() == ' ') content.pop_back();
  return content;
}

std::optional<int> ReapIfExited(pid_t pid) {
  int status = 0;
  pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == pid) return status;
  return std::nullopt;
}

bool WaitForProcessExit(pid_t pid, int64_t timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    ReapIfExited(pid);
    if (!ProcessAlive(pid)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string ExecutableDir() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return ".";
  return path.parent_path().string();
}

StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string ReadTrimmedFile(const std::string& path) {
  auto text = ReadFileToString(path);
  return text.ok() ? std::string(absl::StripAsciiWhitespace(*text)) : "";
}

Status WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return InternalError(absl::StrCat("cannot write ", tmp, ": ", strerror(errno)));
    out << content;
    if (!out.good()) return InternalError(absl::StrCat("cannot write ", tmp));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return InternalError(absl::StrCat("cannot rename ", tmp, " to ", path, ": ", strerror(errno)));
  }
  return OkStatus();
}

Status WriteFileAtomically(const std::string& path, const std::string& content, mode_t mode) {
  // A name of its own (two writers never share one) and synced before the rename: after a crash the file holds
  // the old content or the new, never nothing.
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid(), ".", std::hash<std::thread::id>{}(std::this_thread::get_id()));
  unlink(tmp.c_str());
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return InternalError(absl::StrCat("cannot write ", tmp, ": ", strerror(errno)));
  // The umask may have taken bits away; never more than mode.
  bool ok = fchmod(fd, mode) == 0;
  size_t written = 0;
  while (ok && written < content.size()) {
    const ssize_t n = write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) written += static_cast<size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  const int saved_errno = errno;
  close(fd);
  if (!ok) {
    unlink(tmp.c_str());
    return InternalError(absl::StrCat("cannot write ", tmp, ": ", strerror(saved_errno)));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return InternalError(absl::StrCat("cannot rename ", tmp, " to ", path, ": ", strerror(errno)));
  }
  return OkStatus();
}

std::string DescribeExit(int wait_status) {
  if (WIFEXITED(wait_status)) return absl::StrCat("exit code ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(wait_status), " (", strsignal(WTERMSIG(wait_status)), ")");
  }
  return absl::StrCat("wait status ", wait_status);
}

}  // namespace halo
