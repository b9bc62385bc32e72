#include "appliance/storage/keyring.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "appliance/core/files.h"
#include "tests/support/test_support.h"

namespace cloister {
namespace {

const std::string kApplianceId = "0123456789abcdef0123456789abcdef";

ShamirShare SomeShare(Random& random, uint8_t x) { return {x, *SecureBytes::Generate(random, 32)}; }

TEST(KeyringTest, ShareRoundTripsWithItsMetadata) {
  SystemRandom random;
  const ShamirShare share = SomeShare(random, 4);
  const std::string text = EncodeShare(kApplianceId, 3, share);
  EXPECT_EQ(text.size(), 86u);
  auto decoded = DecodeShare(text);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->appliance_tag, "01234567");
  EXPECT_EQ(decoded->threshold, 3);
  EXPECT_EQ(decoded->share.x, 4);
  EXPECT_TRUE(decoded->share.y.Equals(share.y));
  // Spaces, dashes and upper case are tolerated.
  std::string spaced = text.substr(0, 40) + " - " + text.substr(40);
  for (auto& c : spaced) c = static_cast<char>(std::toupper(c));
  EXPECT_TRUE(DecodeShare(spaced).ok());
}

TEST(KeyringTest, EveryMistypedDigitIsCaughtByTheChecksum) {
  SystemRandom random;
  const std::string text = EncodeShare(kApplianceId, 3, SomeShare(random, 1));
  for (size_t i = 0; i < text.size(); ++i) {
    std::string typo = text;
    typo[i] = typo[i] == 'a' ? 'b' : 'a';
    auto r = DecodeShare(typo);
    ASSERT_FALSE(r.ok()) << "digit " << i;
    EXPECT_EQ(r.status().reason(), "invalid_share");
  }
}

TEST(KeyringTest, MalformedSharesAreNamed) {
  SystemRandom random;
  const std::string text = EncodeShare(kApplianceId, 3, SomeShare(random, 1));
  auto truncated = DecodeShare(text.substr(0, 84));
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find("expected 86 hex digits, got 84"), std::string::npos);
  EXPECT_FALSE(DecodeShare(text + "00").ok());
  EXPECT_FALSE(DecodeShare(std::string(86, 'g')).ok());
  EXPECT_FALSE(DecodeShare("").ok());
}

TEST(KeyringTest, SavesAndLoadsWithMode0600) {
  testing::TempDir dir;
  SystemRandom random;
  Keyring k;
  k.appliance_id = kApplianceId;
  k.created_at = "2026-11-21T00:00:00.000000Z";
  k.seal_type = SealType::kShamir;
  k.shares = 2;
  k.threshold = 2;
  k.share_digests = {"aa", "bb"};
  const SecureBytes kek = *SecureBytes::Generate(random, 32);
  const SecureBytes key = *SecureBytes::Generate(random, 32);
  k.data_key = *WrapKey(kek, key, k.WrapAad(), random);
  ASSERT_TRUE(SaveKeyring(dir.File("keyring.json"), k).ok());
  EXPECT_EQ(*FileMode(dir.File("keyring.json")), 0600u);
  auto loaded = LoadKeyring(dir.File("keyring.json"));
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->share_digests, k.share_digests);
  EXPECT_TRUE(UnwrapKey(kek, loaded->data_key, loaded->WrapAad())->Equals(key));
  // The file never holds the data key in the clear.
  EXPECT_EQ(testing::Slurp(dir.File("keyring.json")).find(HexEncode(key.view())), std::string::npos);
}

TEST(KeyringTest, DamagedKeyringIsCorruptionNotACrash) {
  testing::TempDir dir;
  for (const char* text : {"", "{", "[]", R"({"format":"cloister-keyring/v1"})",
                           R"({"format":"other","appliance_id":"x"})"}) {
    testing::WriteText(dir.File("k.json"), text);
    auto r = LoadKeyring(dir.File("k.json"));
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << text;
  }
}

TEST(KeyringTest, KeyFileMustBePrivateAndWellFormed) {
  testing::TempDir dir;
  SystemRandom random;
  const SecureBytes kek = *SecureBytes::Generate(random, 32);
  ASSERT_TRUE(CreateFileExclusive(dir.File("unseal.key"), EncodeKeyFile(kek), 0600).ok());
  EXPECT_TRUE(ReadKeyFile(dir.File("unseal.key"))->Equals(kek));
  EXPECT_EQ(CreateFileExclusive(dir.File("unseal.key"), "x", 0600).code(), StatusCode::kAlreadyExists);

  chmod(dir.File("unseal.key").c_str(), 0644);
  auto exposed = ReadKeyFile(dir.File("unseal.key"));
  ASSERT_FALSE(exposed.ok());
  EXPECT_EQ(exposed.status().reason(), "key_file_exposed");
  EXPECT_NE(exposed.status().message().find("0644"), std::string::npos);

  ASSERT_TRUE(CreateFileExclusive(dir.File("bad.key"), "not a key\n", 0600).ok());
  EXPECT_EQ(ReadKeyFile(dir.File("bad.key")).status().reason(), "invalid_key_file");
  EXPECT_EQ(ReadKeyFile(dir.File("missing.key")).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace cloister
