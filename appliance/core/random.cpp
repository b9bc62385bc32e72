#include "appliance/core/random.h"

#include <climits>

#include <openssl/rand.h>

namespace cloister {

Status SystemRandom::Fill(uint8_t* out, size_t len) {
  while (len > 0) {
    const int chunk = len > INT_MAX ? INT_MAX : static_cast<int>(len);
    if (RAND_bytes(out, chunk) != 1) {
      return Status::Unavailable("the system random number generator failed (RAND_bytes)");
    }
    out += chunk;
    len -= static_cast<size_t>(chunk);
  }
  return Status::Ok();
}

}  // namespace cloister
