// Junk traffic against a real GCS: 1,000 connects, 200 connections that send nothing, connections of random
// bytes, of an HTTP/2 preface with garbage frames, and of a preface and SETTINGS then silence. The GCS keeps
// serving real calls throughout, closes every junk connection within its bounds (rpc_handshake_timeout_ms,
// rpc_connection_idle_max_ms), and its memory afterwards stays near where it was.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "head_fixture.h"

namespace halo::testing {
namespace {

int64_t RssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void SendAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close first: that is what it should do
    sent += static_cast<size_t>(n);
  }
}

// The server has closed the connection: reads reach the end (or a reset). Drains what it sent before.
bool ClosedByServer(int fd) {
  char buffer[4096];
  for (int i = 0; i < 64; ++i) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
  }
  return false;
}

std::string RandomBytes(std::mt19937& random, size_t size) {
  std::string bytes(size, '\0');
  for (auto& c : bytes) c = static_cast<char>(random() & 0xff);
  return bytes;
}

std::string Frame(uint8_t type, uint8_t flags, uint32_t stream, const std::string& payload) {
  std::string frame;
  const uint32_t length = static_cast<uint32_t>(payload.size());
  frame += static_cast<char>((length >> 16) & 0xff);
  frame += static_cast<char>((length >> 8) & 0xff);
  frame += static_cast<char>(length & 0xff);
  frame += static_cast<char>(type);
  frame += static_cast<char>(flags);
  for (int shift = 24; shift >= 0; shift -= 8) frame += static_cast<char>((stream >> shift) & 0x7f);
  return frame + payload;
}

const std::string kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// One wave of junk: 1,000 connects and closes, then connections the server must close by itself (returned).
std::vector<int> JunkWave(int port, std::mt19937& random) {
  for (int i = 0; i < 1000; ++i) {
    const int fd = Connect(port);
    EXPECT_GE(fd, 0) << "connect " << i;
    if (fd >= 0) close(fd);
  }
  std::vector<int> held;
  for (int i = 0; i < 200; ++i) held.push_back(Connect(port));  // half-open: nothing sent
  for (int i = 0; i < 50; ++i) {                                // random bytes
    held.push_back(Connect(port));
    SendAll(held.back(), RandomBytes(random, 16 * 1024));
  }
  for (int i = 0; i < 50; ++i) {  // a preface, then garbage frames
    held.push_back(Connect(port));
    SendAll(held.back(), kPreface + Frame(4, 0, 0, "") +
                             Frame(static_cast<uint8_t>(random() & 0xff), 0xff, static_cast<uint32_t>(random()),
                                   RandomBytes(random, 1000)));
  }
  for (int i = 0; i < 50; ++i) {  // a preface and SETTINGS, then idle
    held.push_back(Connect(port));
    SendAll(held.back(), kPreface + Frame(4, 0, 0, ""));
  }
  for (int fd : held) EXPECT_GE(fd, 0);
  return held;
}

TEST(ConnectionHygieneTest, JunkIsClosedWithinItsBoundsAndMemoryStaysBounded) {
  Head head({"--storage", "memory", "--rpc-handshake-timeout-ms", "2000", "--rpc-connection-idle-max-ms", "3000",
             "--memory-trim-interval-ms", "1000"});
  auto started = head.Start();
  ASSERT_EQ(started.exit_code, 0) << started.output;
  const std::string address = head.address();
  const int port = std::stoi(address.substr(address.rfind(':') + 1));
  const pid_t gcs = head.GcsPid();
  auto client = head.Client();
  // Warm up the paths real traffic takes, so that what they allocate once is not counted.
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(client->KvPut("junk", "warm" + std::to_string(i), "v", true).ok());
  const int64_t before_kib = RssKiB(gcs);
  ASSERT_GT(before_kib, 0);
  // What 350 held junk connections and 1,000 connects may leave behind once they are gone.
  constexpr int64_t kAllowedGrowthKiB = 24 * 1024;  // seen here: 12-16 MiB

  std::mt19937 random(12345);
  for (int wave = 0; wave < 3; ++wave) {
    std::vector<int> held = JunkWave(port, random);
    // Real calls go on meanwhile.
    for (int i = 0; i < 20; ++i) {
      auto put = client->KvPut("junk", absl::StrCat("wave", wave, "-", i), "v", true);
      ASSERT_TRUE(put.ok()) << put.status().message();
    }
    // Every junk connection is closed by the server: the idle bound (3 s) plus slack for a loaded machine.
    std::vector<bool> closed(held.size(), false);
    size_t open_count = held.size();
    const bool all_closed = WaitUntil(
        [&] {
          for (size_t i = 0; i < held.size(); ++i) {
            if (!closed[i] && ClosedByServer(held[i])) {
              closed[i] = true;
              --open_count;
            }
          }
          return open_count == 0;
        },
        std::chrono::seconds(20));
    EXPECT_TRUE(all_closed) << "wave " << wave << ": " << open_count << " of " << held.size()
                            << " junk connections still open";
    for (size_t i = 0; i < 200; ++i) EXPECT_TRUE(closed[i]) << "wave " << wave << ": half-open connection " << i;
    for (int fd : held) close(fd);
    // Memory goes back near where it was (the GCS trims what it freed every second), wave after wave.
    int64_t now_kib = 0;
    const bool bounded = WaitUntil(
        [&] {
          now_kib = RssKiB(gcs);
          return now_kib - before_kib < kAllowedGrowthKiB;
        },
        std::chrono::seconds(10));
    std::cout << "wave " << wave << ": GCS resident memory " << before_kib / 1024 << " MiB before the junk, "
              << now_kib / 1024 << " MiB after" << std::endl;
    EXPECT_TRUE(bounded) << "wave " << wave << ": the GCS grew from " << before_kib << " KiB to " << now_kib
                         << " KiB under junk traffic";
  }
  auto after = client->KvGet("junk", "wave2-19");
  ASSERT_TRUE(after.ok()) << after.status().message();
  EXPECT_TRUE(after->has_value());
}

}  // namespace
}  // namespace halo::testing
