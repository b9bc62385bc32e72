// cloister-verify's bundle check against tampered, truncated, reordered and
// forged exports. Bundles are built here from the format alone (not by the
// appliance), so these tests pin the format as an independent verifier
// reads it.
#include "audit/verify/bundle_verifier.h"

#include <filesystem>
#include <map>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "audit/verify/jcs.h"
#include "tests/support/test_support.h"

namespace cloister::verify {
namespace {

std::string B64(const Hash& h) { return Base64(std::string_view(reinterpret_cast<const char*>(h.data()), 32)); }

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(signer_.Init("lab/audit", std::array<uint8_t, 32>{5}, &error));
    ASSERT_TRUE(ParseVerifierKey(signer_.verifier_key(), &key_, &error));
    for (int i = 0; i < 40; ++i) {
      const nlohmann::json e = {{"v", 1}, {"seq", i}, {"time", "2026-11-21T10:00:" + std::string(i < 10 ? "0" : "") +
                                                                  std::to_string(i) + ".000000Z"},
                                {"actor", {{"kind", "user"}, {"id", "u1"}, {"name", "Ana"}}},
                                {"action", "test.event"}, {"outcome", "success"}, {"details", {{"i", i}}}};
      events_.push_back(Canonicalize(e));
      leaves_.push_back(LeafHash(events_.back()));
    }
  }

  SubtreeHashFn Mth() {
    return [this](uint64_t b, uint64_t e) { return RootFromLeaves(std::vector<Hash>(leaves_.begin() + b, leaves_.begin() + e)); };
  }
  std::string SignedCheckpoint(uint64_t size, const NoteSigner& signer) {
    return signer.Sign(FormatCheckpoint({signer.name(), size, RootFromLeaves(std::vector<Hash>(leaves_.begin(), leaves_.begin() + size))}));
  }

  // Files of a bundle of [first, last] in a tree of `size`.
  std::map<std::string, std::string> Files(uint64_t first, uint64_t last, uint64_t size, std::optional<uint64_t> since = {}) {
    std::map<std::string, std::string> f;
    for (uint64_t i = first; i <= last; ++i) f["events.jsonl"] += events_[i] + "\n";
    f["checkpoint"] = SignedCheckpoint(size, signer_);
    f["range-proof"] = "";  // empty when the range is the whole tree
    for (const Hash& h : RangeProof(first, last, size, Mth())) f["range-proof"] += B64(h) + "\n";
    if (since) {
      f["consistency-proof"];
      for (const Hash& h : ConsistencyProof(*since, size, Mth())) f["consistency-proof"] += B64(h) + "\n";
    }
    f["events.csv"] = "seq,action\r\n";
    manifest_ = {{"format", "cloister-audit-export/v1"}, {"origin", "lab/audit"}, {"verifier_key", signer_.verifier_key()},
                 {"first_seq", first}, {"last_seq", last}, {"tree_size", size}, {"filter", nlohmann::json::object()},
                 {"created_at", "2026-11-21T11:00:00.000000Z"}, {"created_by", "tok_1"}};
    if (since) manifest_["since_size"] = *since;
    return f;
  }
  // Writes the bundle; `rehash` recomputes the manifest (an attacker who
  // edits files would do that too; only signatures and proofs stop them).
  std::string Write(const std::map<std::string, std::string>& files, bool rehash = true) {
    const std::string dir = dir_.File("bundle" + std::to_string(n_++));
    std::filesystem::create_directories(dir);
    nlohmann::json hashes = nlohmann::json::object();
    for (const auto& [name, content] : files) {
      testing::WriteText(dir + "/" + name, content);
      hashes[name] = Hex(Sha256(content));
    }
    if (rehash || !manifest_.contains("files")) manifest_["files"] = hashes;
    testing::WriteText(dir + "/manifest.json", manifest_.dump(2));
    return dir;
  }
  BundleReport Check(const std::map<std::string, std::string>& files, const std::optional<AcceptedState>& state = {}) {
    return VerifyBundle(Write(files), key_, state);
  }
  static void ExpectFailure(const BundleReport& r, const std::string& file, std::optional<uint64_t> seq,
                            const std::string& fragment) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.failures[0].file, file) << r.failures[0].message;
    EXPECT_EQ(r.failures[0].seq, seq) << r.failures[0].message;
    EXPECT_NE(r.failures[0].message.find(fragment), std::string::npos) << r.failures[0].message;
  }
  static std::vector<std::string> Lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  static std::string Join(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  }

  testing::TempDir dir_;
  int n_ = 0;
  NoteSigner signer_;
  VerifierKey key_;
  std::vector<std::string> events_;
  std::vector<Hash> leaves_;
  nlohmann::json manifest_;
};

TEST_F(BundleTest, IntactBundleVerifies) {
  const auto r = Check(Files(5, 30, 40));
  EXPECT_TRUE(r.ok()) << r.failures[0].message;
  EXPECT_EQ(r.events, 26u);
  EXPECT_EQ(r.accepted->size, 40u);
}

TEST_F(BundleTest, DetectsOneByteChangedInAnEvent) {
  auto f = Files(0, 39, 40);
  f["events.jsonl"].replace(f["events.jsonl"].find("\"i\":12"), 6, "\"i\":13");
  ExpectFailure(Check(f), "range-proof", std::nullopt, "do not hash to the checkpoint root");
}

TEST_F(BundleTest, DetectsOneByteChangedInAProofHash) {
  auto f = Files(3, 9, 40);
  f["range-proof"][2] = f["range-proof"][2] == 'A' ? 'B' : 'A';
  ExpectFailure(Check(f), "range-proof", std::nullopt, "do not hash");
}

TEST_F(BundleTest, DetectsOneByteChangedInTheSignature) {
  auto f = Files(0, 39, 40);
  std::string& note = f["checkpoint"];
  note[note.size() - 6] = note[note.size() - 6] == 'A' ? 'B' : 'A';
  ExpectFailure(Check(f), "checkpoint", std::nullopt, "does not verify");
}

TEST_F(BundleTest, DetectsADeletedEvent) {
  auto f = Files(0, 39, 40);
  auto lines = Lines(f["events.jsonl"]);
  lines.erase(lines.begin() + 17);
  f["events.jsonl"] = Join(lines);
  ExpectFailure(Check(f), "events.jsonl", 17, "carries seq 18");
}

TEST_F(BundleTest, DetectsADuplicatedEvent) {
  auto f = Files(0, 39, 40);
  auto lines = Lines(f["events.jsonl"]);
  lines.insert(lines.begin() + 9, lines[8]);
  f["events.jsonl"] = Join(lines);
  ExpectFailure(Check(f), "events.jsonl", 9, "carries seq 8");
}

TEST_F(BundleTest, DetectsReorderedEvents) {
  auto f = Files(0, 39, 40);
  auto lines = Lines(f["events.jsonl"]);
  std::swap(lines[20], lines[21]);
  f["events.jsonl"] = Join(lines);
  ExpectFailure(Check(f), "events.jsonl", 20, "carries seq 21");
}

TEST_F(BundleTest, DetectsAnInsertedEvent) {
  auto f = Files(0, 38, 40);
  f["events.jsonl"] += events_[39] + "\n";
  ExpectFailure(Check(f), "events.jsonl", 39, "more lines than last_seq");
}

TEST_F(BundleTest, DetectsATruncatedEventsFile) {
  auto f = Files(0, 39, 40);
  f["events.jsonl"].resize(f["events.jsonl"].size() - 30);
  ExpectFailure(Check(f), "events.jsonl", 39, "no newline");
  auto g = Files(0, 39, 40);
  auto lines = Lines(g["events.jsonl"]);
  lines.pop_back();
  g["events.jsonl"] = Join(lines);
  ExpectFailure(Check(g), "events.jsonl", 39, "missing");
}

TEST_F(BundleTest, DetectsALedgerTruncatedSinceTheLastReviewByState) {
  const auto first = Check(Files(0, 39, 40));
  ASSERT_TRUE(first.ok());
  // The appliance now shows a shorter ledger than the auditor accepted.
  ExpectFailure(Check(Files(0, 29, 30), first.accepted), "checkpoint", std::nullopt, "the ledger was truncated");
}

TEST_F(BundleTest, DetectsHistoryRewrittenBeforeTheLastReviewByConsistencyProof) {
  const auto first = Check(Files(0, 24, 25));
  ASSERT_TRUE(first.ok());
  // Event 10 is rewritten and the whole tree re-signed: the new checkpoint
  // is valid alone but not an extension of the one accepted before.
  events_[10].replace(events_[10].find("\"i\":10"), 6, "\"i\":11");
  leaves_[10] = LeafHash(events_[10]);
  ExpectFailure(Check(Files(25, 39, 40, 25), first.accepted), "consistency-proof", std::nullopt, "not an extension");
}

TEST_F(BundleTest, AcceptsAnExtensionWithItsConsistencyProof) {
  const auto first = Check(Files(0, 24, 25));
  ASSERT_TRUE(first.ok());
  const auto second = Check(Files(25, 39, 40, 25), first.accepted);
  EXPECT_TRUE(second.ok()) << second.failures[0].message;
  ExpectFailure(Check(Files(25, 39, 40), first.accepted), "consistency-proof", std::nullopt, "missing");
}

TEST_F(BundleTest, RefusesACheckpointFromAnotherKey) {
  NoteSigner other;
  std::string error;
  ASSERT_TRUE(other.Init("lab/audit", std::array<uint8_t, 32>{6}, &error));
  auto f = Files(0, 39, 40);
  f["checkpoint"] = SignedCheckpoint(40, other);
  ExpectFailure(Check(f), "checkpoint", std::nullopt, "different key id");
}

TEST_F(BundleTest, RefusesACheckpointFromAnotherOrigin) {
  NoteSigner other;
  std::string error;
  ASSERT_TRUE(other.Init("elsewhere/audit", std::array<uint8_t, 32>{5}, &error));
  auto f = Files(0, 39, 40);
  f["checkpoint"] = SignedCheckpoint(40, other);
  ExpectFailure(Check(f), "checkpoint", std::nullopt, "no signature by key lab/audit");
}

TEST_F(BundleTest, DetectsAProofWithAHashMissingExtraOrSwapped) {
  auto missing = Files(7, 12, 40);
  auto lines = Lines(missing["range-proof"]);
  ASSERT_GE(lines.size(), 2u);
  lines.pop_back();
  missing["range-proof"] = Join(lines);
  ExpectFailure(Check(missing), "range-proof", std::nullopt, "do not hash");

  auto extra = Files(7, 12, 40);
  extra["range-proof"] += B64(leaves_[0]) + "\n";
  ExpectFailure(Check(extra), "range-proof", std::nullopt, "do not hash");

  auto swapped = Files(7, 12, 40);
  auto sl = Lines(swapped["range-proof"]);
  std::swap(sl[0], sl[1]);
  swapped["range-proof"] = Join(sl);
  ExpectFailure(Check(swapped), "range-proof", std::nullopt, "do not hash");
}

TEST_F(BundleTest, DetectsTimesThatGoBackwards) {
  const nlohmann::json early = {{"v", 1}, {"seq", 6}, {"time", "2026-11-21T09:00:00.000000Z"},
                                {"actor", {{"kind", "user"}, {"id", "u1"}, {"name", "Ana"}}},
                                {"action", "test.event"}, {"outcome", "success"}};
  events_[6] = Canonicalize(early);
  leaves_[6] = LeafHash(events_[6]);
  ExpectFailure(Check(Files(0, 39, 40)), "events.jsonl", 6, "earlier than the previous");
}

TEST_F(BundleTest, DetectsAManifestWhoseFileHashDoesNotMatch) {
  auto f = Files(0, 39, 40);
  const std::string dir = Write(f);
  testing::WriteText(dir + "/events.csv", "seq,action\r\n0,=HYPERLINK(\"x\")\r\n");
  ExpectFailure(VerifyBundle(dir, key_, std::nullopt), "events.csv", std::nullopt, "does not match the manifest");
}

TEST_F(BundleTest, RedactedEventsStillProveTheirPlace) {
  auto f = Files(0, 39, 40);
  auto lines = Lines(f["events.jsonl"]);
  lines[4] = "{\"redacted\":true,\"seq\":4,\"leaf_hash\":\"" + B64(leaves_[4]) + "\"}";
  f["events.jsonl"] = Join(lines);
  const auto ok = Check(f);
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.redacted, 1u);
  lines[4] = "{\"redacted\":true,\"seq\":4,\"leaf_hash\":\"" + B64(leaves_[5]) + "\"}";
  f["events.jsonl"] = Join(lines);
  ExpectFailure(Check(f), "range-proof", std::nullopt, "do not hash");
}

TEST_F(BundleTest, MalformedManifestAndMissingFilesAreNamed) {
  auto f = Files(0, 39, 40);
  const std::string dir = Write(f);
  std::filesystem::remove(dir + "/range-proof");
  ExpectFailure(VerifyBundle(dir, key_, std::nullopt), "range-proof", std::nullopt, "missing");
  testing::WriteText(dir + "/manifest.json", "{not json");
  ExpectFailure(VerifyBundle(dir, key_, std::nullopt), "manifest.json", std::nullopt, "malformed");
  manifest_["files"]["../../etc/passwd"] = "00";
  testing::WriteText(dir + "/manifest.json", manifest_.dump());
  ExpectFailure(VerifyBundle(dir, key_, std::nullopt), "manifest.json", std::nullopt, "unexpected file");
}

}  // namespace
}  // namespace cloister::verify
