#include "appliance/core/encoding.h"

#include <gtest/gtest.h>

namespace cloister {
namespace {

std::string Str(const Bytes& b) { return std::string(b.begin(), b.end()); }

TEST(EncodingTest, HexRoundTripsAndRejectsBadInput) {
  EXPECT_EQ(HexEncode(std::string_view("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(Str(*HexDecode("00FF10")), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
}

TEST(EncodingTest, Base64MatchesRfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    EXPECT_EQ(Str(*Base64Decode(encoded)), plain);
  }
}

TEST(EncodingTest, Base64DecodeIsStrict) {
  EXPECT_FALSE(Base64Decode("Zm9").ok());       // length
  EXPECT_FALSE(Base64Decode("Zm9v!A==").ok());  // alphabet
  EXPECT_FALSE(Base64Decode("Zh==").ok());      // non-zero padding bits
  EXPECT_FALSE(Base64Decode("Z===").ok());
}

TEST(EncodingTest, Base64UrlHasNoPaddingOrUnsafeCharacters) {
  EXPECT_EQ(Base64UrlEncode(std::string("\xfb\xff", 2)), "-_8");
}

TEST(EncodingTest, Sha256MatchesKnownDigest) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(EncodingTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

}  // namespace
}  // namespace cloister
