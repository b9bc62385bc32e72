// The C2SP signed note made by Go's golang.org/x/mod/sumdb/note, read from
// shared/testdata: verify Go's signature, and reproduce its bytes exactly.
#include "audit/verify/signed_note.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/test_support.h"

namespace cloister::verify {
namespace {

class SignedNoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto j = nlohmann::json::parse(
        testing::Slurp(std::string(CLOISTER_SOURCE_DIR) + "/../shared/testdata/tlog/rfc6962-vectors.json"));
    note_ = j["signed_note"];
    roots_ = j["roots_by_size"];
    std::string error;
    ASSERT_TRUE(ParseVerifierKey(note_["verifier_key"].get<std::string>(), &key_, &error)) << error;
  }
  nlohmann::json note_, roots_;
  VerifierKey key_;
};

TEST_F(SignedNoteTest, VerifiesTheGoMadeNote) {
  std::string text, error;
  ASSERT_TRUE(VerifyNote(note_["signed"].get<std::string>(), key_, &text, &error)) << error;
  EXPECT_EQ(text, note_["text"].get<std::string>());
  Checkpoint c;
  ASSERT_TRUE(ParseCheckpoint(text, &c, &error)) << error;
  EXPECT_EQ(c.origin, "appliance.example/audit");
  EXPECT_EQ(c.size, 300u);
  EXPECT_EQ(Base64(std::string_view(reinterpret_cast<const char*>(c.root.data()), 32)), roots_[300]);
  EXPECT_EQ(FormatCheckpoint(c), text);
}

TEST_F(SignedNoteTest, SameKeyProducesIdenticalBytes) {
  NoteSigner signer;
  std::string error;
  ASSERT_TRUE(signer.InitFromSignerKey(note_["signer_key"].get<std::string>(), &error)) << error;
  EXPECT_EQ(signer.verifier_key(), note_["verifier_key"].get<std::string>());
  EXPECT_EQ(signer.Sign(note_["text"].get<std::string>()), note_["signed"].get<std::string>());
}

TEST_F(SignedNoteTest, OneChangedByteAnywhereFailsVerification) {
  const std::string signed_note = note_["signed"];
  std::string text, error;
  for (size_t i = 0; i < signed_note.size(); ++i) {
    std::string tampered = signed_note;
    tampered[i] ^= 0x01;
    EXPECT_FALSE(VerifyNote(tampered, key_, &text, &error)) << "byte " << i;
  }
}

TEST_F(SignedNoteTest, AnotherKeyOrNameIsRefused) {
  NoteSigner other;
  std::string error, text;
  ASSERT_TRUE(other.Init("appliance.example/audit", std::array<uint8_t, 32>{7}, &error));
  const std::string forged = other.Sign(note_["text"].get<std::string>());
  EXPECT_FALSE(VerifyNote(forged, key_, &text, &error));
  EXPECT_NE(error.find("different key id"), std::string::npos) << error;
  NoteSigner renamed;
  ASSERT_TRUE(renamed.Init("other.example/audit", std::array<uint8_t, 32>{7}, &error));
  EXPECT_FALSE(VerifyNote(renamed.Sign(note_["text"].get<std::string>()), key_, &text, &error));
  EXPECT_NE(error.find("no signature by key appliance.example/audit"), std::string::npos) << error;
}

TEST_F(SignedNoteTest, ExtraMalformedSignatureLinesAreRefused) {
  // Found by the mutation test: junk after a valid signature was ignored.
  const std::string signed_note = note_["signed"];
  std::string text, error;
  EXPECT_FALSE(VerifyNote(signed_note + "QSOyUaegDgAM7azokbV9xwHTfg0=\n", key_, &text, &error));
  EXPECT_FALSE(VerifyNote(signed_note + "\xe2\x80\x94 other name AAAA\n", key_, &text, &error));
  // A well-formed signature by another key is ignored, as C2SP allows.
  NoteSigner other;
  ASSERT_TRUE(other.Init("witness.example", std::array<uint8_t, 32>{8}, &error));
  const std::string cosigned = other.Sign(note_["text"].get<std::string>());
  EXPECT_TRUE(VerifyNote(signed_note + cosigned.substr(cosigned.find("\xe2\x80\x94")), key_, &text, &error)) << error;
}

TEST_F(SignedNoteTest, MalformedInputIsRefused) {
  std::string text, error;
  VerifierKey k;
  EXPECT_FALSE(ParseVerifierKey("name+00000000+AV+F", &k, &error));
  EXPECT_FALSE(ParseVerifierKey("appliance.example/audit+ef9019a4+AV+FNdmqtO5SgWdrDyaGWTSqVAmjWizHqXhbsiMJx43E", &k, &error));
  EXPECT_FALSE(VerifyNote("no blank line\n", key_, &text, &error));
  EXPECT_FALSE(VerifyNote(note_["text"].get<std::string>() + "\n", key_, &text, &error));
  Checkpoint c;
  EXPECT_FALSE(ParseCheckpoint("o\n0300\nYIKAzr3eSMKJmenLg58DmAo+Yui5VQqih1jpEnnr1lc=\n", &c, &error));
  EXPECT_FALSE(ParseCheckpoint("o\n300\nYIKAzr3eSMKJmenLg58DmAo+Yui5VQqih1jpEnnr1lc=\next\n", &c, &error));
  EXPECT_FALSE(ParseCheckpoint("o\n300\nshort=\n", &c, &error));
  EXPECT_FALSE(ParseCheckpoint("o\n-1\nYIKAzr3eSMKJmenLg58DmAo+Yui5VQqih1jpEnnr1lc=\n", &c, &error));
}

}  // namespace
}  // namespace cloister::verify
