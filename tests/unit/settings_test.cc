#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "common/settings_loader.h"
#include "support/test_env.h"

namespace halo {
namespace {

class SettingsTest : public ::testing::Test {
 protected:
  std::string WriteYaml(const std::string& text) {
    std::string path = dir_.path() + "/cluster.yaml";
    std::ofstream(path) << text;
    return path;
  }
  void TearDown() override {
    unsetenv("HALO_STORAGE_NAMESPACE");
    unsetenv("HALO_PORT");
  }
  testing::TempDir dir_;
};

TEST_F(SettingsTest, DefaultsComeFromTheDefinitionList) {
  SettingsInputs inputs;
  inputs.read_environment = false;
  auto loaded = LoadSettings(inputs);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->values.storage, "embedded");
  EXPECT_EQ(loaded->values.storage_namespace, "default");
  EXPECT_EQ(loaded->source["storage"], "default");
  EXPECT_NE(FindSetting("storage_unavailable_timeout_ms"), nullptr);
}

TEST_F(SettingsTest, PrecedenceIsDefaultThenFileThenEnvironmentThenFlag) {
  auto path = WriteYaml("storage_namespace: from_file\nport: 7000\nstorage_retry_max_ms: 900\n");
  setenv("HALO_STORAGE_NAMESPACE", "from_env", 1);
  setenv("HALO_PORT", "7100", 1);
  SettingsInputs inputs;
  inputs.config_path = path;
  inputs.flags["port"] = "7200";
  auto loaded = LoadSettings(inputs);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->values.storage_retry_max_ms, 900);
  EXPECT_EQ(loaded->source["storage_retry_max_ms"], "file " + path);
  EXPECT_EQ(loaded->values.storage_namespace, "from_env");
  EXPECT_EQ(loaded->source["storage_namespace"], "env HALO_STORAGE_NAMESPACE");
  EXPECT_EQ(loaded->values.port, 7200);
  EXPECT_EQ(loaded->source["port"], "flag --port");
}

TEST_F(SettingsTest, UnknownKeyInFileIsAnErrorNamingIt) {
  SettingsInputs inputs;
  inputs.config_path = WriteYaml("storage_namespcae: typo\n");
  auto loaded = LoadSettings(inputs);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("unknown setting 'storage_namespcae'"), std::string::npos);
}

TEST_F(SettingsTest, WrongTypeIsAnErrorNamingTheKey) {
  SettingsInputs inputs;
  inputs.config_path = WriteYaml("storage_unavailable_timeout_ms: soon\n");
  auto loaded = LoadSettings(inputs);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("'storage_unavailable_timeout_ms' expects an integer"), std::string::npos)
      << loaded.status();
  SettingsInputs flag_inputs;
  flag_inputs.flags["port"] = "12ab";
  EXPECT_FALSE(LoadSettings(flag_inputs).ok());
}

TEST_F(SettingsTest, BadEnvironmentValueNamesTheVariable) {
  setenv("HALO_PORT", "not-a-port", 1);
  auto loaded = LoadSettings(SettingsInputs{});
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("HALO_PORT"), std::string::npos) << loaded.status();
}

TEST_F(SettingsTest, ManagedRayExternalStorageSectionMapsOntoStorageSettings) {
  SettingsInputs inputs;
  inputs.read_environment = false;
  inputs.config_path = WriteYaml(
      "gcs_external_storage:\n  enabled: true\n  address: redis.example:6379\n"
      "  certificate_path: /etc/ssl/ca.pem\n  namespace: prod\n");
  auto loaded = LoadSettings(inputs);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->values.storage, "redis://redis.example:6379");
  EXPECT_EQ(loaded->values.redis_ca_cert, "/etc/ssl/ca.pem");
  EXPECT_EQ(loaded->values.storage_namespace, "prod");

  inputs.config_path = WriteYaml("gcs_external_storage:\n  enabled: false\n  address: rediss://r:6380\n");
  loaded = LoadSettings(inputs);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->values.storage, "embedded");

  inputs.config_path = WriteYaml("gcs_external_storage:\n  enabled: true\n  adress: r:1\n");
  loaded = LoadSettings(inputs);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("gcs_external_storage.adress"), std::string::npos);
}

TEST_F(SettingsTest, NamespaceWithAtSignIsRefused) {
  SettingsInputs inputs;
  inputs.read_environment = false;
  inputs.flags["storage_namespace"] = "a@b";
  auto loaded = LoadSettings(inputs);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("must not contain '@'"), std::string::npos);
}

TEST_F(SettingsTest, OutOfRangeValuesAreRefused) {
  SettingsInputs inputs;
  inputs.read_environment = false;
  inputs.flags["port"] = "70000";
  auto loaded = LoadSettings(inputs);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("'port' must be 0..65535, got 70000 (flag --port)"), std::string::npos)
      << loaded.status();
  inputs.flags = {{"storage_unavailable_timeout_ms", "0"}};
  EXPECT_FALSE(LoadSettings(inputs).ok());
}

TEST_F(SettingsTest, MalformedYamlIsAnError) {
  SettingsInputs inputs;
  inputs.config_path = WriteYaml("port: [1, 2\n");
  auto loaded = LoadSettings(inputs);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("not valid YAML"), std::string::npos);
}

TEST(SettingNamesTest, EveryDefaultIsWithinItsOwnRange) {
  for (const auto& info : AllSettings()) {
    Settings settings;
    EXPECT_TRUE(info.parse(settings, info.default_text).ok()) << info.name << " = " << info.default_text;
  }
  EXPECT_TRUE(ValidateSettings(Settings{}).ok());
}

TEST(SettingNamesTest, LeaderTimingsMustLeaveRoomForALostRenewal) {
  Settings settings;
  settings.leader_lease_ms = 1000;
  // The leader's own deadline is 900 ms after a renewal was sent: the next but one renewal must come before.
  settings.leader_renew_interval_ms = 450;
  Status status = ValidateSettings(settings);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("'leader_renew_interval_ms' (450) must be under 45% of 'leader_lease_ms' (1000)"),
            std::string::npos)
      << status;
  settings.leader_renew_interval_ms = 449;
  EXPECT_TRUE(ValidateSettings(settings).ok());
  settings.leader_retry_interval_ms = 1001;
  status = ValidateSettings(settings);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("leader_retry_interval_ms"), std::string::npos) << status;
}

TEST(SettingNamesTest, EveryDurationAndSizeCarriesItsUnitLast) {
  for (const auto& info : AllSettings()) {
    if (info.type != SettingType::kInt || info.name.ends_with("port")) continue;
    // Durations and sizes name their unit; counts say what they bound.
    bool has_unit = info.name.ends_with("_ms") || info.name.ends_with("_bytes") || info.name.ends_with("_max") ||
                    info.name.ends_with("_keys") || info.name.ends_with("_threshold") || info.name.starts_with("num_") ||
                    info.name == "storage_replicas_ack";  // a count of replicas, named as the issue and Redis's WAIT do
    EXPECT_TRUE(has_unit) << info.name;
  }
}

}  // namespace
}  // namespace halo
