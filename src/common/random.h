// Injected randomness. Managers draw ids and jitter only from a RandomSource so a simulator seed
// reproduces a run exactly.
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace halo {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual uint64_t Next64() = 0;
  // A lowercase hex string of num_bytes random bytes.
  std::string HexId(int num_bytes);
};

// Seeded from the operating system's entropy; for production.
class SystemRandom : public RandomSource {
 public:
  SystemRandom();
  uint64_t Next64() override;

 private:
  std::mt19937_64 engine_;
};

// Deterministic from one seed; for tests and the simulator.
class SeededRandom : public RandomSource {
 public:
  explicit SeededRandom(uint64_t seed) : engine_(seed) {}
  uint64_t Next64() override { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

}  // namespace halo
