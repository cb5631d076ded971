// SHA-256 of a file, as lowercase hex: how executables are named when they travel to other nodes.
#pragma once

#include <string>

#include "common/status.h"

namespace halo {

StatusOr<std::string> Sha256OfFile(const std::string& path);

}  // namespace halo
