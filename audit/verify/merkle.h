// RFC 6962 section 2.1 Merkle trees (restated in RFC 9162 section 2.1) and
// the ledger's chain hash (audit-format.md, section 2): hashing, proof
// generation over any source of subtree hashes, and proof verification.
//
// Part of the standalone verifier library: depends on OpenSSL only.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cloister::verify {

using Hash = std::array<uint8_t, 32>;

Hash Sha256(std::string_view bytes);
// Lowercase hex, as manifests write file hashes.
std::string Hex(const Hash& hash);
// SHA-256(0x00 || data)
Hash LeafHash(std::string_view data);
// SHA-256(0x01 || left || right)
Hash NodeHash(const Hash& left, const Hash& right);
// A leaf hash computed in two steps, so that the bulk of an event's bytes can
// be hashed on one thread and the rest appended on another.
class LeafHasher {
 public:
  LeafHasher();  // absorbs the 0x00 prefix
  ~LeafHasher();
  LeafHasher(const LeafHasher& other);
  LeafHasher(LeafHasher&& other) noexcept : ctx_(other.ctx_) { other.ctx_ = nullptr; }
  LeafHasher& operator=(const LeafHasher&) = delete;
  void Update(std::string_view bytes);
  // The leaf hash of everything given so far; the hasher is unchanged.
  Hash Finish(std::string_view last_bytes) const;

 private:
  struct Ctx;
  Ctx* ctx_;
};

// SHA-256(0x02 || previous chain hash || leaf hash); the first previous is 32 zero bytes.
Hash ChainHash(const Hash& previous, const Hash& leaf);
// SHA-256("") — the root of the empty tree.
Hash EmptyRoot();

// The largest power of two smaller than n (n >= 2).
uint64_t SplitPoint(uint64_t n);

// The Merkle tree hash of leaves [begin, end), 0 <= begin < end. Proof
// generation asks only for the subtrees RFC 6962's recursion visits.
using SubtreeHashFn = std::function<Hash(uint64_t begin, uint64_t end)>;

// Root of a tree given all its leaf hashes (for tests and small trees).
Hash RootFromLeaves(const std::vector<Hash>& leaves);

// RFC 6962 PATH(index, D[0:size]), leaf's sibling first. index < size.
std::vector<Hash> InclusionProof(uint64_t index, uint64_t size, const SubtreeHashFn& mth);
// RFC 6962 PROOF(old_size, D[0:new_size]). 0 < old_size <= new_size.
std::vector<Hash> ConsistencyProof(uint64_t old_size, uint64_t new_size, const SubtreeHashFn& mth);
// audit-format.md section 4: hashes of the maximal subtrees disjoint from
// [first, last], in walk order (left before right). first <= last < size.
std::vector<Hash> RangeProof(uint64_t first, uint64_t last, uint64_t size, const SubtreeHashFn& mth);

// RFC 9162 2.1.3.2. True when `proof` proves `leaf` at `index` in the tree
// of `size` leaves with `root`.
bool VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf, const std::vector<Hash>& proof,
                     const Hash& root);
// RFC 9162 2.1.4.2. True when the tree of new_size extends the tree of old_size.
bool VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root, const Hash& new_root,
                       const std::vector<Hash>& proof);
// Recomputes the root from the leaf hashes of [first, last] and the range
// proof; true only when every proof hash is used and the root matches.
bool VerifyRange(uint64_t first, uint64_t last, uint64_t size, const std::vector<Hash>& leaves,
                 const std::vector<Hash>& proof, const Hash& root);

}  // namespace cloister::verify
