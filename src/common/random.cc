#include "common/random.h"

namespace halo {

std::string RandomSource::HexId(int num_bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(num_bytes * 2);
  uint64_t bits = 0;
  for (int i = 0; i < num_bytes; ++i) {
    if (i % 8 == 0) bits = Next64();
    uint8_t byte = static_cast<uint8_t>(bits & 0xff);
    bits >>= 8;
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
  }
  return out;
}

SystemRandom::SystemRandom() {
  std::random_device device;
  std::seed_seq seq{device(), device(), device(), device()};
  engine_.seed(seq);
}

uint64_t SystemRandom::Next64() { return engine_(); }

}  // namespace halo
