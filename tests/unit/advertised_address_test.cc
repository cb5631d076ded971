// Which address a process binds and advertises, and the refusal of loopback toward a remote GCS.
#include "common/advertised_address.h"

#include <gtest/gtest.h>

namespace halo {
namespace {

TEST(AdvertisedAddress, LoopbackHostsAreRecognised) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.1.2.3"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("128.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
}

TEST(AdvertisedAddress, HostOfAddressSplitsThePort) {
  EXPECT_EQ(HostOfAddress("10.0.0.1:6480"), "10.0.0.1");
  EXPECT_EQ(HostOfAddress("[::1]:6480"), "::1");
  EXPECT_EQ(HostOfAddress("gcs.example"), "gcs.example");
}

TEST(AdvertisedAddress, LocalAddressTowardLoopbackIsLoopback) {
  auto local = LocalAddressToward("127.0.0.1:6480");
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_EQ(*local, "127.0.0.1");
  EXPECT_EQ(LocalAddressToward("no-port").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(AdvertisedAddress, UnsetHostFollowsTheRouteToTheGcs) {
  Settings settings;
  auto chosen = ChooseHosts(settings, /*host_given=*/false, "127.0.0.1:6480", "the node agent");
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(chosen->bind_host, "127.0.0.1");
  EXPECT_EQ(chosen->advertise_host, "127.0.0.1");
}

TEST(AdvertisedAddress, GivenHostIsKeptAndAdvertiseHostCanDiffer) {
  Settings settings;
  settings.host = "0.0.0.0";
  settings.advertise_host = "203.0.113.7";
  auto chosen = ChooseHosts(settings, /*host_given=*/true, "203.0.113.1:6480", "the node agent");
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(chosen->bind_host, "0.0.0.0");
  EXPECT_EQ(chosen->advertise_host, "203.0.113.7");
}

TEST(AdvertisedAddress, WildcardWithoutAdvertiseHostIsRefused) {
  Settings settings;
  settings.host = "0.0.0.0";
  auto chosen = ChooseHosts(settings, /*host_given=*/true, "127.0.0.1:6480", "the node agent");
  ASSERT_FALSE(chosen.ok());
  EXPECT_NE(chosen.status().message().find("--advertise-host"), std::string::npos) << chosen.status();
}

TEST(AdvertisedAddress, LoopbackTowardARemoteGcsIsRefusedWithOneClearLine) {
  Settings settings;
  settings.host = "127.0.0.1";
  auto chosen = ChooseHosts(settings, /*host_given=*/true, "127.0.0.1:7001,10.9.8.7:6480", "the driver");
  ASSERT_FALSE(chosen.ok());
  EXPECT_EQ(chosen.status().code(), absl::StatusCode::kFailedPrecondition);
  const std::string message(chosen.status().message());
  EXPECT_NE(message.find("the driver would advertise the loopback address 127.0.0.1"), std::string::npos)
      << message;
  EXPECT_NE(message.find("10.9.8.7:6480"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos);
  // Every candidate on loopback: a loopback cluster, which is fine.
  EXPECT_TRUE(ChooseHosts(settings, true, "127.0.0.1:7001,127.0.0.1:7002", "the driver").ok());
}

}  // namespace
}  // namespace halo
