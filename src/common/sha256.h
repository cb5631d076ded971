// SHA-256 of a file, as lowercase hex: how executables are named when they travel to other nodes.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace halo {

StatusOr<std::string> Sha256OfFile(const std::string& path);

// SHA-256 of bytes given piece by piece.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  void Update(std::string_view bytes);
  // Lowercase hex; the hasher is spent afterwards.
  std::string HexDigest();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

// True when text is a SHA-256 as Halo writes it: 64 lowercase hex digits.
bool IsSha256Hex(std::string_view text);

}  // namespace halo
