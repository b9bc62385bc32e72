// Random mutations of a valid export, with the manifest rehashed as an
// attacker would: none may verify, and no parser may crash on the bytes.
// Seeded, so every run is the same.
#include <filesystem>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "audit/verify/bundle_verifier.h"
#include "audit/verify/event_fields.h"
#include "audit/verify/jcs.h"
#include "tests/support/test_support.h"

namespace cloister::verify {
namespace {


class VerifierMutationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(signer_.Init("lab/audit", std::array<uint8_t, 32>{3}, &error));
    ASSERT_TRUE(ParseVerifierKey(signer_.verifier_key(), &key_, &error));
    std::vector<Hash> leaves;
    for (int i = 0; i < 24; ++i) {
      const std::string e = Canonicalize({{"v", 1}, {"seq", i}, {"time", "2026-11-21T10:00:00.000000Z"},
                                          {"actor", {{"kind", "system"}, {"id", "c"}, {"name", "c"}}},
                                          {"action", "test.event"}, {"outcome", "success"}});
      leaves.push_back(LeafHash(e));
      if (i >= 4 && i <= 17) files_["events.jsonl"] += e + "\n";
    }
    auto mth = [&](uint64_t b, uint64_t e) { return RootFromLeaves(std::vector<Hash>(leaves.begin() + b, leaves.begin() + e)); };
    files_["checkpoint"] = signer_.Sign(FormatCheckpoint({"lab/audit", 24, RootFromLeaves(leaves)}));
    for (const Hash& h : RangeProof(4, 17, 24, mth)) {
      files_["range-proof"] += Base64(std::string_view(reinterpret_cast<const char*>(h.data()), 32)) + "\n";
    }
  }

  bool Verifies(const std::map<std::string, std::string>& files) {
    const std::string dir = dir_.File("b");
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    nlohmann::json hashes = nlohmann::json::object();
    for (const auto& [name, content] : files) {
      testing::WriteText(dir + "/" + name, content);
      hashes[name] = Hex(Sha256(content));
    }
    const nlohmann::json manifest = {{"format", "cloister-audit-export/v1"}, {"first_seq", 4}, {"last_seq", 17},
                                     {"tree_size", 24}, {"files", hashes}};
    testing::WriteText(dir + "/manifest.json", manifest.dump());
    return VerifyBundle(dir, key_, std::nullopt).ok();
  }

  testing::TempDir dir_;
  NoteSigner signer_;
  VerifierKey key_;
  std::map<std::string, std::string> files_;
};

TEST_F(VerifierMutationTest, NoMutationOfAnyFileVerifies) {
  ASSERT_TRUE(Verifies(files_));
  std::mt19937 rng(20261121);
  const char* names[] = {"events.jsonl", "checkpoint", "range-proof"};
  int tried = 0;
  for (int i = 0; i < 1500; ++i) {
    auto files = files_;
    std::string& f = files[names[rng() % 3]];
    if (f.empty()) continue;
    const size_t at = rng() % f.size();
    switch (rng() % 4) {
      case 0: f[at] = static_cast<char>(f[at] ^ (1 << (rng() % 8))); break;  // flip a bit
      case 1: f.erase(at, 1 + rng() % 8); break;                               // drop bytes
      case 2: f.insert(at, f.substr(at, 1 + rng() % 40)); break;               // duplicate bytes
      case 3: f.resize(at); break;                                             // truncate
    }
    if (files == files_) continue;
    ++tried;
    EXPECT_FALSE(Verifies(files)) << "mutation " << i << " verified:\n" << [&] {
      std::string d;
      for (const char* n : names) {
        if (files[n] != files_[n]) d += std::string(n) + ":\n" + files[n] + "\n--- was:\n" + files_[n];
      }
      return d;
    }();
  }
  EXPECT_GT(tried, 1000);
}

TEST_F(VerifierMutationTest, ParsersSurviveRandomBytes) {
  std::mt19937 rng(7);
  std::string out, error, text;
  for (int i = 0; i < 20000; ++i) {
    std::string input(rng() % 200, '\0');
    for (char& c : input) c = static_cast<char>(rng() % 4 ? "{}[]\":,0123456789seqtimeabc\\\n \xe2\x80\x94+="[rng() % 43] : rng());
    uint64_t seq;
    std::string_view time;
    ReadEventSeqAndTime(input, &seq, &time, &error);
    CanonicalizeText(input, &out, &error);
    Checkpoint c;
    ParseCheckpoint(input, &c, &error);
    VerifierKey k;
    ParseVerifierKey(input, &k, &error);
    VerifyNote(input, key_, &text, &error);
    VerifyProofFile("c2sp.org/tlog-proof@v1\n" + input, input, key_, &error);
  }
  SUCCEED();
}

}  // namespace
}  // namespace cloister::verify
