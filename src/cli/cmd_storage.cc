// `halo storage cleanup`: removes one namespace's keys from Redis.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "storage/redis_admin.h"
#include "storage/store_factory.h"

namespace halo::cli {

int RunStorageCleanup(const SettingsInputs& inputs) {
  auto loaded = LoadSettings(inputs);
  if (!loaded.ok()) return Fail(std::string(loaded.status().message()));
  const Settings& settings = loaded->values;
  auto uri = ParseStorageUri(settings.storage);
  if (!uri.ok()) return Fail(std::string(uri.status().message()));
  if (uri->kind != StorageUri::Kind::kRedis) {
    return Fail("storage cleanup works on redis:// and rediss:// storage (pass --storage); embedded storage is a "
                "directory: stop its GCS and delete the storage path");
  }
  auto removed = CleanupRedisNamespace(RedisOptionsFromSettings(settings, *uri), settings.storage_namespace);
  if (!removed.ok()) return Fail(std::string(removed.status().message()));
  std::cout << "Removed " << *removed << " keys of namespace '" << settings.storage_namespace << "' from "
            << settings.storage.substr(0, settings.storage.find("://") + 3) << uri->Endpoint() << ".\n";
  return 0;
}

}  // namespace halo::cli
