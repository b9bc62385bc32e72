// An environment's CA bundle (ca_bundle.h): real certificates give their
// subjects; keys, damaged or truncated certificates, junk and oversized text
// are refused.
#include "appliance/runtime/ca_bundle.h"

#include <gtest/gtest.h>

#include "appliance/http/tls_certificate.h"
#include "tests/support/test_support.h"

namespace cloister::runtime {
namespace {

class CaBundleTest : public ::testing::Test {
 protected:
  // A fresh self-signed certificate for `host` and its private key, as PEM.
  std::pair<std::string, std::string> Generate(const std::string& host) {
    const std::string cert = dir_.File(host + ".crt"), key = dir_.File(host + ".key");
    auto made = EnsureSelfSignedCertificate(cert, key, {host}, clock_, random_);
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return {testing::Slurp(cert), testing::Slurp(key)};
  }

  static void ExpectInvalid(const Result<std::vector<std::string>>& r,
                            const std::string& says = "") {
    ASSERT_FALSE(r.ok()) << "accepted, subjects: " << r->size();
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
    if (!says.empty()) {
      EXPECT_NE(r.status().message().find(says), std::string::npos) << r.status().message();
    }
  }

  testing::TempDir dir_;
  testing::ManualClock clock_;
  SystemRandom random_;
};

TEST_F(CaBundleTest, ACertificateGivesItsSubject) {
  const std::string pem = Generate("ca-one.example").first;
  auto r = CaBundleSubjects(pem);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, std::vector<std::string>{"CN=ca-one.example,O=Cloister"});
}

TEST_F(CaBundleTest, TwoCertificatesGiveTwoSubjectsInOrder) {
  const std::string one = Generate("ca-one.example").first, two = Generate("ca-two.example").first;
  auto r = CaBundleSubjects(one + two);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, (std::vector<std::string>{"CN=ca-one.example,O=Cloister",
                                          "CN=ca-two.example,O=Cloister"}));
}

TEST_F(CaBundleTest, TextBetweenCertificatesIsIgnored) {
  const std::string one = Generate("ca-one.example").first, two = Generate("ca-two.example").first;
  auto r = CaBundleSubjects("# corporate root\n" + one + "\nissued 2026, renew 2028\n" + two +
                            "\n# end\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 2u);
}

TEST_F(CaBundleTest, EmptyTextIsAnEmptyBundle) {
  auto r = CaBundleSubjects("");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->empty());
}

TEST_F(CaBundleTest, RefusesTextWithoutACertificate) {
  ExpectInvalid(CaBundleSubjects("this is not a certificate"), "no PEM certificate");
  ExpectInvalid(CaBundleSubjects("\n"), "no PEM certificate");
  ExpectInvalid(CaBundleSubjects(std::string("\0\x01\x02garbage", 10)));
  ExpectInvalid(CaBundleSubjects(
      "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n"));
  ExpectInvalid(CaBundleSubjects("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
}

TEST_F(CaBundleTest, RefusesATruncatedCertificate) {
  const std::string pem = Generate("ca-one.example").first;
  // Cut in the middle of the base64, END line kept: the DER does not parse.
  const size_t end = pem.find("-----END");
  ASSERT_NE(end, std::string::npos);
  const std::string body_cut = pem.substr(0, end / 2) + "\n" + pem.substr(end);
  ExpectInvalid(CaBundleSubjects(body_cut));
  // Cut before its END line.
  ExpectInvalid(CaBundleSubjects(pem.substr(0, pem.size() / 2)));
  ExpectInvalid(CaBundleSubjects(pem.substr(0, end)));
  // A good certificate followed by a cut one names the second.
  ExpectInvalid(CaBundleSubjects(pem + pem.substr(0, pem.size() / 2)),
                "certificate 2 does not parse");
  ExpectInvalid(CaBundleSubjects(pem + body_cut), "certificate 2");
}

TEST_F(CaBundleTest, RefusesACertificateWithAFlippedByte) {
  const std::string pem = Generate("ca-one.example").first;
  const size_t body = pem.find('\n') + 1;
  std::string damaged = pem;
  // The first base64 character encodes the DER SEQUENCE tag (0x30 -> 'M').
  ASSERT_EQ(damaged[body], 'M');
  damaged[body] = 'A';
  ExpectInvalid(CaBundleSubjects(damaged));
}

TEST_F(CaBundleTest, RefusesAPrivateKey) {
  const auto [cert, key] = Generate("ca-one.example");
  ASSERT_NE(key.find("PRIVATE KEY"), std::string::npos);
  ExpectInvalid(CaBundleSubjects(key), "private key");
  ExpectInvalid(CaBundleSubjects(cert + key), "private key");
  ExpectInvalid(CaBundleSubjects(key + cert), "private key");
  // A key in the older forms too.
  ExpectInvalid(
      CaBundleSubjects(cert +
                       "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"),
      "private key");
  ExpectInvalid(
      CaBundleSubjects(
          cert +
          "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"),
      "private key");
}

TEST_F(CaBundleTest, RefusesMoreThanOneMebibyte) {
  const std::string pem = Generate("ca-one.example").first;
  std::string big = pem;
  big.append((1 << 20) + 1 - pem.size(), '#');  // comment text after a good certificate
  ExpectInvalid(CaBundleSubjects(big), "1 MiB");
  // Exactly 1 MiB is accepted.
  big.pop_back();
  auto r = CaBundleSubjects(big);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 1u);
}

TEST_F(CaBundleTest, AcceptsTwoHundredCertificatesAndRefusesMore) {
  const std::string pem = Generate("ca-one.example").first;
  std::string bundle;
  for (int i = 0; i < 200; ++i) bundle += pem;
  auto r = CaBundleSubjects(bundle);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 200u);
  ExpectInvalid(CaBundleSubjects(bundle + pem), "more than 200");
}

}  // namespace
}  // namespace cloister::runtime
