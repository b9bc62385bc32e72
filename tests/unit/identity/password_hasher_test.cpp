#include "appliance/identity/password_hasher.h"

#include <gtest/gtest.h>

#include "appliance/core/encoding.h"

namespace cloister {
namespace {

TEST(PasswordHasherTest, MatchesTheRfc7914TestVectors) {
  auto empty = Scrypt("", "", {16, 1, 1}, 64);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(HexEncode(*empty),
            "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
            "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906");
  auto nacl = Scrypt("password", "NaCl", {1024, 8, 16}, 64);
  ASSERT_TRUE(nacl.ok());
  EXPECT_EQ(HexEncode(*nacl),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

TEST(PasswordHasherTest, HashesVerifyAndCarryTheirParameters) {
  SystemRandom random;
  const ScryptParams fast{1024, 8, 1};
  auto stored = HashPassword("correct horse battery", random, fast);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->rfind("scrypt$1024$8$1$", 0), 0u) << *stored;
  EXPECT_TRUE(*VerifyPassword("correct horse battery", *stored));
  EXPECT_FALSE(*VerifyPassword("correct horse batterY", *stored));
  EXPECT_FALSE(*VerifyPassword("", *stored));
  // Salted: the same password hashes differently each time.
  EXPECT_NE(*HashPassword("correct horse battery", random, fast), *stored);
  EXPECT_TRUE(NeedsRehash(*stored, ScryptParams{}));
  EXPECT_FALSE(NeedsRehash(*stored, fast));
}

TEST(PasswordHasherTest, RefusesMalformedStoredHashes) {
  for (const char* bad : {"", "plain", "scrypt$1024$8$1$salt", "bcrypt$1$2$3$AAAA$AAAA", "scrypt$x$8$1$AAAA$AAAA",
                          "scrypt$1024$8$1$!!!!$AAAA", "scrypt$1000$8$1$AAAAAAAA$AAAA"}) {
    EXPECT_FALSE(VerifyPassword("whatever password", bad).ok()) << bad;
  }
}

TEST(PasswordHasherTest, PolicyRequiresTwelveCharacters) {
  EXPECT_EQ(CheckPasswordPolicy("elevenchars").reason(), "weak_password");
  EXPECT_TRUE(CheckPasswordPolicy("twelve chars").ok());
}

}  // namespace
}  // namespace cloister
