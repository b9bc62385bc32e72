// Webhook triggers (docs/runtime.md, "Webhooks"): a caller proves it holds
// the automation's webhook key (an environment secret) by signing the
// timestamp and the body:
//
//   X-Cloister-Timestamp: <Unix seconds>
//   X-Cloister-Signature: sha256=<hex HMAC-SHA256(key, "<timestamp>.<body>")>
//
// A delivery older (or newer) than 5 minutes is refused, and so is one
// replayed: the signature becomes the run's idempotency key, and a second
// delivery of it is refused rather than answered. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "appliance/core/status.h"

namespace cloister::runtime {

inline constexpr int64_t kWebhookMaxSkewSeconds = 300;

// The X-Cloister-Signature value for `body` sent at `timestamp`.
std::string WebhookSignature(std::string_view key, std::string_view timestamp,
                             std::string_view body);

// OK when `signature` is WebhookSignature(key, timestamp, body) (compared in
// constant time) and `timestamp` is decimal Unix seconds within
// kWebhookMaxSkewSeconds of `now`. unauthenticated with reason
// "webhook_signature" (missing, malformed or wrong signature or timestamp)
// or "webhook_expired" (a good signature too old or too new); the signature
// is checked first, so the age of a forged delivery is never revealed.
Status VerifyWebhook(std::string_view key, std::string_view timestamp, std::string_view signature,
                     std::string_view body, int64_t now);

}  // namespace cloister::runtime
