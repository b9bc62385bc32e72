// Randomness as an injected dependency. SystemRandom draws from OpenSSL's
// CSPRNG; tests may substitute a deterministic source.
#pragma once

#include <cstddef>
#include <cstdint>

#include "appliance/core/status.h"

namespace cloister {

// Thread-safe.
class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` with `len` unpredictable bytes, or returns unavailable when
  // the entropy source fails (callers must not continue with a weak key).
  virtual Status Fill(uint8_t* out, size_t len) = 0;
};

class SystemRandom final : public Random {
 public:
  Status Fill(uint8_t* out, size_t len) override;
};

}  // namespace cloister
