#include "appliance/storage/key_wrap.h"

#include <gtest/gtest.h>

namespace cloister {
namespace {

class KeyWrapTest : public ::testing::Test {
 protected:
  SystemRandom random_;
  SecureBytes kek_ = *SecureBytes::Generate(random_, 32);
  SecureBytes key_ = *SecureBytes::Generate(random_, 32);
};

TEST_F(KeyWrapTest, RoundTrips) {
  auto wrapped = WrapKey(kek_, key_, "aad", random_);
  ASSERT_TRUE(wrapped.ok());
  EXPECT_NE(std::string(wrapped->ciphertext.begin(), wrapped->ciphertext.end()), std::string(key_.view()));
  auto key = UnwrapKey(kek_, *wrapped, "aad");
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(key->Equals(key_));
}

TEST_F(KeyWrapTest, NoncesDifferBetweenWraps) {
  auto a = *WrapKey(kek_, key_, "aad", random_);
  auto b = *WrapKey(kek_, key_, "aad", random_);
  EXPECT_NE(a.nonce, b.nonce);
  EXPECT_NE(a.ciphertext, b.ciphertext);
}

TEST_F(KeyWrapTest, WrongKekFails) {
  auto wrapped = *WrapKey(kek_, key_, "aad", random_);
  const SecureBytes other = *SecureBytes::Generate(random_, 32);
  auto r = UnwrapKey(other, wrapped, "aad");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "key_mismatch");
}

TEST_F(KeyWrapTest, DifferentAssociatedDataFails) {
  auto wrapped = *WrapKey(kek_, key_, "appliance-a", random_);
  EXPECT_FALSE(UnwrapKey(kek_, wrapped, "appliance-b").ok());
}

TEST_F(KeyWrapTest, EveryFlippedBitIsDetected) {
  const WrappedKey wrapped = *WrapKey(kek_, key_, "aad", random_);
  for (Bytes WrappedKey::*field : {&WrappedKey::nonce, &WrappedKey::ciphertext, &WrappedKey::tag}) {
    for (size_t i = 0; i < (wrapped.*field).size(); ++i) {
      WrappedKey tampered = wrapped;
      (tampered.*field)[i] ^= 0x80;
      EXPECT_FALSE(UnwrapKey(kek_, tampered, "aad").ok()) << "byte " << i;
    }
  }
}

TEST_F(KeyWrapTest, TruncatedPartsAreRejected) {
  WrappedKey wrapped = *WrapKey(kek_, key_, "aad", random_);
  WrappedKey short_tag = wrapped;
  short_tag.tag.pop_back();
  EXPECT_EQ(UnwrapKey(kek_, short_tag, "aad").status().code(), StatusCode::kCorruption);
  WrappedKey short_text = wrapped;
  short_text.ciphertext.pop_back();
  EXPECT_FALSE(UnwrapKey(kek_, short_text, "aad").ok());
}

}  // namespace
}  // namespace cloister
