// Listens to Redis Sentinel's +switch-master notices for one master name, so a connection follows a failover the
// moment the sentinels decide it (even when the old primary is still reachable, cut off only from the
// sentinels). Subscribes on one sentinel at a time; when that connection fails, moves to the next after a
// bounded backoff. Runs on the io_context's thread; Stop() before the io_context goes away.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>

#include <functional>
#include <memory>
#include <string>

#include "storage/storage_uri.h"

namespace halo {

class SentinelWatcher {
 public:
  using OnSwitch = std::function<void(const StorageUri::HostPort& new_primary)>;
  // tls: nullptr for plain TCP.
  static std::shared_ptr<SentinelWatcher> Start(boost::asio::io_context& io, std::shared_ptr<boost::asio::ssl::context> tls,
                                                StorageUri uri, int64_t connect_timeout_ms, int64_t retry_max_ms,
                                                OnSwitch on_switch);
  virtual ~SentinelWatcher() = default;
  // No notice after this; closes its connection.
  virtual void Stop() = 0;
};

}  // namespace halo
