// Webhook signatures (webhook.h): a known HMAC vector, the 5-minute window on
// both sides, and every kind of forgery refused as a bad signature, never
// as "expired" (which would tell a forger the signature was right).
#include "appliance/runtime/webhook.h"

#include <gtest/gtest.h>

namespace cloister::runtime {
namespace {

constexpr int64_t kSent = 1700000000;
constexpr char kTimestamp[] = "1700000000";
constexpr char kBody[] = R"({"a":1})";
// printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key
constexpr char kSignature[] =
    "sha256=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03";

void ExpectRefused(const Status& st, const std::string& reason) {
  EXPECT_EQ(st.code(), StatusCode::kUnauthenticated) << st.ToString();
  EXPECT_EQ(st.reason(), reason) << st.ToString();
}

TEST(WebhookTest, SignatureMatchesAKnownVector) {
  EXPECT_EQ(WebhookSignature("key", kTimestamp, kBody), kSignature);
  // printf '%s' '1700000000.' | openssl dgst -sha256 -hmac key
  EXPECT_EQ(WebhookSignature("key", kTimestamp, ""),
            "sha256=0f1cc1f811f42fd12af9618acf321769899fa521fe07a642f70a61785e130770");
}

TEST(WebhookTest, AcceptsAGoodSignatureWithinFiveMinutesEitherSide) {
  EXPECT_TRUE(VerifyWebhook("key", kTimestamp, kSignature, kBody, kSent).ok());
  const Status old = VerifyWebhook("key", kTimestamp, kSignature, kBody, kSent + 300);
  EXPECT_TRUE(old.ok()) << old.ToString();
  const Status early = VerifyWebhook("key", kTimestamp, kSignature, kBody, kSent - 300);
  EXPECT_TRUE(early.ok()) << early.ToString();
}

TEST(WebhookTest, RefusesAGoodSignatureMoreThanFiveMinutesOldOrNewAsExpired) {
  ExpectRefused(VerifyWebhook("key", kTimestamp, kSignature, kBody, kSent + 301),
                "webhook_expired");
  ExpectRefused(VerifyWebhook("key", kTimestamp, kSignature, kBody, kSent - 301),
                "webhook_expired");
  ExpectRefused(VerifyWebhook("key", kTimestamp, kSignature, kBody, kSent + 86400 * 365),
                "webhook_expired");
}

TEST(WebhookTest, RefusesASignatureMadeWithAnotherKey) {
  const std::string other = WebhookSignature("other-key", kTimestamp, kBody);
  ExpectRefused(VerifyWebhook("key", kTimestamp, other, kBody, kSent), "webhook_signature");
}

TEST(WebhookTest, RefusesATamperedBody) {
  ExpectRefused(VerifyWebhook("key", kTimestamp, kSignature, R"({"a":2})", kSent),
                "webhook_signature");
  ExpectRefused(VerifyWebhook("key", kTimestamp, kSignature, R"({"a":1} )", kSent),
                "webhook_signature");
  ExpectRefused(VerifyWebhook("key", kTimestamp, kSignature, "", kSent), "webhook_signature");
}

// Moving the timestamp forward would make an old delivery look fresh.
TEST(WebhookTest, RefusesATamperedTimestamp) {
  ExpectRefused(VerifyWebhook("key", "1700000001", kSignature, kBody, kSent), "webhook_signature");
  // The separator is part of what is signed: the digits cannot move into the body.
  ExpectRefused(VerifyWebhook("key", "170000000", kSignature, std::string("0.") + kBody, kSent),
                "webhook_signature");
}

TEST(WebhookTest, RefusesATamperedOrMalformedSignature) {
  std::string flipped = kSignature;
  flipped.back() = flipped.back() == '3' ? '4' : '3';
  ExpectRefused(VerifyWebhook("key", kTimestamp, flipped, kBody, kSent), "webhook_signature");
  const std::string bare = std::string(kSignature).substr(7);  // no "sha256=" prefix
  ExpectRefused(VerifyWebhook("key", kTimestamp, bare, kBody, kSent), "webhook_signature");
  ExpectRefused(
      VerifyWebhook("key", kTimestamp, std::string(kSignature).substr(0, 40), kBody, kSent),
      "webhook_signature");
  ExpectRefused(VerifyWebhook("key", kTimestamp, std::string(kSignature) + "00", kBody, kSent),
                "webhook_signature");
}

TEST(WebhookTest, RefusesMissingHeaders) {
  ExpectRefused(VerifyWebhook("key", "", kSignature, kBody, kSent), "webhook_signature");
  ExpectRefused(VerifyWebhook("key", kTimestamp, "", kBody, kSent), "webhook_signature");
  ExpectRefused(VerifyWebhook("key", "", "", kBody, kSent), "webhook_signature");
}

TEST(WebhookTest, RefusesATimestampThatIsNotUnixSeconds) {
  for (const std::string ts :
       {"abc", "1700000000 ", " 1700000000", "1700000000.5", "1.7e9", "0x6553f100", "1700000000abc",
        "2023-11-14T22:13:20Z", "0000000001700000000"}) {
    // Signed correctly over the odd timestamp: only its form is wrong.
    const std::string sig = WebhookSignature("key", ts, kBody);
    ExpectRefused(VerifyWebhook("key", ts, sig, kBody, kSent), "webhook_signature");
  }
}

// An empty key would make the signature something anyone can compute.
TEST(WebhookTest, RefusesEverythingWhenTheKeyIsEmpty) {
  const std::string sig = WebhookSignature("", kTimestamp, kBody);
  ExpectRefused(VerifyWebhook("", kTimestamp, sig, kBody, kSent), "webhook_signature");
}

// The signature is checked before the age: a forger learns nothing about
// whether the signature would have passed.
TEST(WebhookTest, AForgedSignatureWithAnOldTimestampIsABadSignatureNotExpired) {
  const std::string forged = WebhookSignature("guess", kTimestamp, kBody);
  ExpectRefused(VerifyWebhook("key", kTimestamp, forged, kBody, kSent + 3600), "webhook_signature");
  ExpectRefused(VerifyWebhook("key", kTimestamp, forged, kBody, kSent - 3600), "webhook_signature");
}

TEST(WebhookTest, MessagesNeverCarryTheExpectedSignature) {
  const Status st = VerifyWebhook("key", kTimestamp, "sha256=00", kBody, kSent);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message().find(std::string(kSignature).substr(7)), std::string::npos)
      << st.message();
  EXPECT_EQ(st.ToString().find(std::string(kSignature).substr(7)), std::string::npos)
      << st.ToString();
}

}  // namespace
}  // namespace cloister::runtime
