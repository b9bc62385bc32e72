#include "appliance/runtime/webhook.h"

#include <charconv>

#include "appliance/core/encoding.h"

namespace cloister::runtime {

std::string WebhookSignature(std::string_view key, std::string_view timestamp,
                             std::string_view body) {
  std::string message;
  message.reserve(timestamp.size() + 1 + body.size());
  message.append(timestamp).append(".").append(body);
  return "sha256=" + HmacSha256Hex(key, message);
}

Status VerifyWebhook(std::string_view key, std::string_view timestamp, std::string_view signature,
                     std::string_view body, int64_t now) {
  const auto refuse = [](const std::string& why) {
    return Status::Unauthenticated("webhook refused: " + why).WithReason("webhook_signature");
  };
  if (timestamp.empty() || signature.empty()) {
    return refuse("X-Cloister-Timestamp and X-Cloister-Signature are required");
  }
  int64_t sent = 0;
  const auto [end, ec] =
      std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), sent);
  if (ec != std::errc() || end != timestamp.data() + timestamp.size() || timestamp.size() > 12) {
    return refuse("X-Cloister-Timestamp must be Unix seconds");
  }
  if (key.empty()) return refuse("the automation's webhook key is empty");
  if (!ConstantTimeEquals(signature, WebhookSignature(key, timestamp, body))) {
    return refuse("the signature does not match the body and timestamp");
  }
  if (sent < now - kWebhookMaxSkewSeconds || sent > now + kWebhookMaxSkewSeconds) {
    return Status::Unauthenticated(
               "webhook refused: its timestamp is more than 5 minutes from the appliance's time")
        .WithReason("webhook_expired");
  }
  return Status::Ok();
}

}  // namespace cloister::runtime
