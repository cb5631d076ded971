// Asks one Redis Sentinel, over a short connection of its own, which server is the primary of a master name
// (SENTINEL get-master-addr-by-name). Never blocks the io_context's thread; answers once.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "storage/storage_uri.h"

namespace halo {

// done gets the primary's address, nullopt if the sentinel knows no master of that name, or an error if it
// could not be asked (unreachable, no answer within timeout_ms, TLS failure). tls: nullptr for plain TCP.
void AskSentinelForPrimary(boost::asio::io_context& io, std::shared_ptr<boost::asio::ssl::context> tls,
                           const StorageUri::HostPort& sentinel, const std::string& master_name, int64_t timeout_ms,
                           std::function<void(StatusOr<std::optional<StorageUri::HostPort>>)> done);

}  // namespace halo
