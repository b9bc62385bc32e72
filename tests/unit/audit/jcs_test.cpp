// RFC 8785 vectors and V8's number serializations, read from shared/testdata.
#include "audit/verify/jcs.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace cloister::verify {
namespace {

const std::string kData = std::string(CLOISTER_SOURCE_DIR) + "/../shared/testdata/jcs/";

class JcsVectorTest : public ::testing::TestWithParam<std::string> {};

TEST_P(JcsVectorTest, ReproducesTheReferenceOutputByteForByte) {
  const std::string input = testing::Slurp(kData + "input/" + GetParam() + ".json");
  const std::string expected = testing::Slurp(kData + "output/" + GetParam() + ".json");
  ASSERT_FALSE(input.empty());
  std::string out, error;
  ASSERT_TRUE(CanonicalizeText(input, &out, &error)) << error;
  EXPECT_EQ(out, expected);
  // The hex form of the same bytes.
  std::string hex;
  for (char c : testing::Slurp(kData + "outhex/" + GetParam() + ".txt")) {
    if (std::isxdigit(static_cast<unsigned char>(c))) hex += c;
  }
  std::string expected_bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) expected_bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  EXPECT_EQ(out, expected_bytes);
}

INSTANTIATE_TEST_SUITE_P(Rfc8785, JcsVectorTest,
                         ::testing::Values("arrays", "french", "structures", "unicode", "values", "weird"));

TEST(JcsTest, EveryNumberInEs6NumbersCsvFormatsAsV8Does) {
  std::ifstream in(kData + "es6-numbers.csv");
  ASSERT_TRUE(in.good());
  std::string line;
  size_t count = 0, mismatches = 0;
  while (std::getline(in, line)) {
    const size_t comma = line.find(',');
    ASSERT_NE(comma, std::string::npos) << line;
    const uint64_t bits = std::stoull(line.substr(0, comma), nullptr, 16);
    double value;
    std::memcpy(&value, &bits, sizeof value);
    const std::string expected = line.substr(comma + 1);
    if (FormatNumber(value) != expected && ++mismatches <= 10) {
      ADD_FAILURE() << line << " -> " << FormatNumber(value);
    }
    ++count;
  }
  EXPECT_EQ(count, 100000u);
  EXPECT_EQ(mismatches, 0u);
}

TEST(JcsTest, RejectsDuplicateNamesAndMalformedInput) {
  std::string out, error;
  EXPECT_FALSE(CanonicalizeText(R"({"a":1,"a":2})", &out, &error));
  EXPECT_NE(error.find("duplicate"), std::string::npos);
  EXPECT_FALSE(CanonicalizeText("{\"a\":\"\xff\"}", &out, &error));  // invalid UTF-8
  EXPECT_FALSE(CanonicalizeText("[1,]", &out, &error));
  EXPECT_FALSE(CanonicalizeText(R"("\ud800")", &out, &error));  // lone surrogate
}

TEST(JcsTest, SortsByUtf16CodeUnitsNotBytes) {
  // U+E000 sorts after U+1F600 in UTF-8 bytes' order? No: UTF-16 puts the
  // surrogate pair (0xD83D) before 0xE000, UTF-8 puts U+E000 (0xEE) first.
  std::string out, error;
  ASSERT_TRUE(CanonicalizeText("{\"\xee\x80\x80\":1,\"\xf0\x9f\x98\x80\":2}", &out, &error));
  EXPECT_EQ(out, "{\"\xf0\x9f\x98\x80\":2,\"\xee\x80\x80\":1}");
}

}  // namespace
}  // namespace cloister::verify
