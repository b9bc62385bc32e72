// Masking secret values in what a run keeps (secret_mask.h): in text, in
// every JSON string and object key, with overlapping secrets, and never for
// values so short they would mask ordinary text.
#include "appliance/runtime/secret_mask.h"

#include <gtest/gtest.h>

namespace cloister::runtime {
namespace {

using Secrets = std::map<std::string, std::string>;

// The text overload (a string literal would also convert to Json).
std::string Mask(const std::string& text, const Secrets& secrets) {
  return MaskSecrets(text, secrets);
}

const Secrets kSecrets = {{"api_key", "sk-live-123"}, {"password", "hunter2"}};

TEST(SecretMaskTest, MasksEveryOccurrenceInText) {
  EXPECT_EQ(Mask("Authorization: Bearer sk-live-123", kSecrets), "Authorization: Bearer [secret]");
  EXPECT_EQ(Mask("sk-live-123sk-live-123 and hunter2, hunter2", kSecrets),
            "[secret][secret] and [secret], [secret]");
  EXPECT_EQ(Mask("hunter2", kSecrets), "[secret]");
}

TEST(SecretMaskTest, LeavesTextWithoutSecretsAlone) {
  EXPECT_EQ(Mask("nothing to see here: sk-live-12 hunter", kSecrets),
            "nothing to see here: sk-live-12 hunter");
  EXPECT_EQ(Mask("", kSecrets), "");
  EXPECT_EQ(Mask("hunter2", {}), "hunter2");
}

// A secret whose value contains the mask must not loop or mask twice.
TEST(SecretMaskTest, ASecretThatLooksLikeTheMaskIsReplacedOnce) {
  EXPECT_EQ(Mask("a [secret] b", {{"s", "[secret]"}}), "a [secret] b");
  EXPECT_EQ(Mask("xsecretx", {{"s", "secret"}}), "x[secret]x");
}

// One secret inside another: the longer one comes first (by name here), so
// it is masked whole and the shorter one everywhere else.
TEST(SecretMaskTest, MasksASecretInsideALongerOneMaskedFirst) {
  const std::map<std::string, std::string> nested = {{"a_long", "token-abcdef"},
                                                     {"b_short", "abcdef"}};
  EXPECT_EQ(Mask("x token-abcdef y abcdef z", nested), "x [secret] y [secret] z");
}

// BUG (reported): secrets are masked one after another in name order, so
// when the shorter of two nested secrets is masked first, the rest of the
// longer one stays readable ("[secret]defghijkl" leaks 9 of its 12 bytes),
// and of two secrets sharing bytes the second keeps its tail. Enable once
// MaskSecrets masks the union of every match found in the original text.
TEST(SecretMaskTest, MasksASecretInsideALongerOneMaskedLater) {
  const std::map<std::string, std::string> nested = {{"a_short", "abc"},
                                                     {"b_long", "abcdefghijkl"}};
  const std::string out = Mask("x abcdefghijkl y abc z", nested);
  EXPECT_EQ(out.find("defghijkl"), std::string::npos) << out;
  EXPECT_EQ(out, "x [secret] y [secret] z");
}

TEST(SecretMaskTest, MasksSecretsThatShareBytes) {
  const std::map<std::string, std::string> sharing = {{"a", "abcxyz"}, {"b", "xyz123"}};
  const std::string out = Mask("<abcxyz123>", sharing);
  EXPECT_EQ(out.find("123"), std::string::npos) << out;
  EXPECT_EQ(out.find("abc"), std::string::npos) << out;
  EXPECT_EQ(out, "<[secret]>");
}

TEST(SecretMaskTest, LeavesValuesShorterThanThreeBytesAlone) {
  const std::map<std::string, std::string> tiny = {{"one", "a"}, {"two", "ab"}, {"empty", ""}};
  EXPECT_EQ(Mask("a cab abacus", tiny), "a cab abacus");
  EXPECT_EQ(MaskSecrets(Json({{"ab", "ab"}}), tiny), Json({{"ab", "ab"}}));
  // Three bytes are masked.
  EXPECT_EQ(Mask("a cab abacus", {{"three", "aba"}}), "a cab [secret]cus");
}

TEST(SecretMaskTest, MasksStringsAndKeysThroughoutJson) {
  const Json in = {{"headers", {{"Authorization", "Bearer sk-live-123"}, {"X-Echo", "hunter2"}}},
                   {"list", Json::array({"hunter2", Json::array({"pre-sk-live-123-post"}), 5})},
                   {"sk-live-123", "the key as a key"},
                   {"nested", {{"deeper", {{"hunter2-id", {{"v", "ok"}}}}}}}};
  const Json out = MaskSecrets(in, kSecrets);
  const Json expected = {
      {"headers", {{"Authorization", "Bearer [secret]"}, {"X-Echo", "[secret]"}}},
      {"list", Json::array({"[secret]", Json::array({"pre-[secret]-post"}), 5})},
      {"[secret]", "the key as a key"},
      {"nested", {{"deeper", {{"[secret]-id", {{"v", "ok"}}}}}}}};
  EXPECT_EQ(out, expected) << out.dump();
  const std::string dumped = out.dump();
  EXPECT_EQ(dumped.find("sk-live-123"), std::string::npos) << dumped;
  EXPECT_EQ(dumped.find("hunter2"), std::string::npos) << dumped;
}

// Numbers, booleans and null are not text: "1234" as a secret leaves the
// number 1234 as it is (its printed form is not what a run keeps as text).
TEST(SecretMaskTest, LeavesNonStringJsonUntouched) {
  const std::map<std::string, std::string> digits = {
      {"pin", "1234"}, {"flag", "true"}, {"nul", "null"}};
  const Json in = {{"n", 1234}, {"f", 12.34}, {"b", true}, {"z", nullptr}, {"s", "pin 1234"}};
  Json out = MaskSecrets(in, digits);
  EXPECT_EQ(out["n"], 1234);
  EXPECT_TRUE(out["n"].is_number_integer());
  EXPECT_EQ(out["f"], 12.34);
  EXPECT_EQ(out["b"], true);
  EXPECT_TRUE(out["z"].is_null());
  EXPECT_EQ(out["s"], "pin [secret]");
  EXPECT_EQ(MaskSecrets(Json(1234), digits), Json(1234));
  EXPECT_EQ(MaskSecrets(Json(true), digits), Json(true));
  EXPECT_TRUE(MaskSecrets(Json(), digits).is_null());
}

TEST(SecretMaskTest, KeepsTheShapeOfJson) {
  const Json in = Json::parse(R"({"a": [], "b": {}, "c": [1, "x", {"d": null}]})");
  EXPECT_EQ(MaskSecrets(in, kSecrets), in);
  EXPECT_EQ(MaskSecrets(in, {}), in);
}

}  // namespace
}  // namespace cloister::runtime
