// The runtime's settings (cloister.yaml "runtime", docs/runtime.md).
#pragma once

#include <cstddef>
#include <cstdint>

#include "appliance/runtime/run_store.h"

namespace cloister::runtime {

struct RuntimeOptions {
  int workers = 4;                           // runs executing at once, at most
  int64_t lease_seconds = 60;                // a worker's hold on a run, renewed at every step
  ClaimLimits limits;                        // running runs per automation and per environment
  int64_t max_queued_per_automation = 1000;  // more is refused with 429 queue_full
  int64_t retry_base_ms = 500;               // backoff before attempt n+1: base * 2^(n-1), jittered
  int64_t retry_max_ms = 30000;
  size_t output_max_bytes = 64 * 1024;  // a step output kept in history is cut here
  int64_t payload_retention_days = 30;  // step outputs are dropped this long after a run ends
  uint16_t own_port = 0;                // the appliance's listener, which steps may not call
};

}  // namespace cloister::runtime
