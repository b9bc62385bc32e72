#include "audit/verify/merkle.h"

#include <cstdlib>

#include <openssl/evp.h>

namespace cloister::verify {
namespace {

// SHA-256 fetched once: OpenSSL 3 looks the algorithm up on every implicit use.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (!md) std::abort();  // OpenSSL without SHA-256 cannot verify anything
  return md;
}

// SHA-256(prefix || a || b) with a context reused per thread.
Hash Digest(uint8_t prefix, std::string_view a, std::string_view b = {}) {
  struct Ctx {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(ctx); }
  };
  thread_local Ctx holder;
  EVP_MD_CTX* ctx = holder.ctx;
  Hash out;
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx, Sha256Md(), nullptr) != 1 || EVP_DigestUpdate(ctx, &prefix, 1) != 1 ||
      EVP_DigestUpdate(ctx, a.data(), a.size()) != 1 || EVP_DigestUpdate(ctx, b.data(), b.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out.data(), &len) != 1) {
    std::abort();  // a failing hash function leaves nothing to trust
  }
  return out;
}

std::string_view View(const Hash& h) { return {reinterpret_cast<const char*>(h.data()), h.size()}; }

void Path(uint64_t m, uint64_t begin, uint64_t end, const SubtreeHashFn& mth, std::vector<Hash>& out) {
  const uint64_t n = end - begin;
  if (n <= 1) return;
  const uint64_t k = SplitPoint(n);
  if (m < k) {
    Path(m, begin, begin + k, mth, out);
    out.push_back(mth(begin + k, end));
  } else {
    Path(m - k, begin + k, end, mth, out);
    out.push_back(mth(begin, begin + k));
  }
}

void Subproof(uint64_t m, uint64_t begin, uint64_t end, bool whole, const SubtreeHashFn& mth,
              std::vector<Hash>& out) {
  const uint64_t n = end - begin;
  if (m == n) {
    if (!whole) out.push_back(mth(begin, end));
    return;
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    Subproof(m, begin, begin + k, whole, mth, out);
    out.push_back(mth(begin + k, end));
  } else {
    Subproof(m - k, begin + k, end, false, mth, out);
    out.push_back(mth(begin, begin + k));
  }
}

void RangeWalk(uint64_t first, uint64_t last, uint64_t begin, uint64_t end, const SubtreeHashFn& mth,
               std::vector<Hash>& out) {
  if (end <= first || begin > last) {
    out.push_back(mth(begin, end));
    return;
  }
  if (end - begin == 1) return;  // a leaf in the range: the verifier has it
  const uint64_t k = SplitPoint(end - begin);
  RangeWalk(first, last, begin, begin + k, mth, out);
  RangeWalk(first, last, begin + k, end, mth, out);
}

// The verifier's side of RangeWalk: consumes proof hashes for disjoint
// subtrees and leaf hashes for leaves in range. False when either runs out.
bool RangeRoot(uint64_t first, uint64_t last, uint64_t begin, uint64_t end, const std::vector<Hash>& leaves,
               const std::vector<Hash>& proof, size_t& next_proof, Hash& out) {
  if (end <= first || begin > last) {
    if (next_proof >= proof.size()) return false;
    out = proof[next_proof++];
    return true;
  }
  if (end - begin == 1) {
    out = leaves[begin - first];
    return true;
  }
  const uint64_t k = SplitPoint(end - begin);
  Hash left, right;
  if (!RangeRoot(first, last, begin, begin + k, leaves, proof, next_proof, left)) return false;
  if (!RangeRoot(first, last, begin + k, end, leaves, proof, next_proof, right)) return false;
  out = NodeHash(left, right);
  return true;
}

}  // namespace

Hash Sha256(std::string_view bytes) {
  Hash out;
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, Sha256Md(), nullptr) != 1) std::abort();
  return out;
}

std::string Hex(const Hash& hash) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (uint8_t b : hash) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

Hash LeafHash(std::string_view data) { return Digest(0x00, data); }

struct LeafHasher::Ctx {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  ~Ctx() { EVP_MD_CTX_free(md); }
};

LeafHasher::LeafHasher() : ctx_(new Ctx) {
  const uint8_t prefix = 0x00;
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, Sha256Md(), nullptr) != 1 || EVP_DigestUpdate(ctx_->md, &prefix, 1) != 1) {
    std::abort();
  }
}

LeafHasher::LeafHasher(const LeafHasher& other) : ctx_(new Ctx) {
  if (!ctx_->md || EVP_MD_CTX_copy_ex(ctx_->md, other.ctx_->md) != 1) std::abort();
}

LeafHasher::~LeafHasher() { delete ctx_; }

void LeafHasher::Update(std::string_view bytes) {
  if (EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size()) != 1) std::abort();
}

Hash LeafHasher::Finish(std::string_view last_bytes) const {
  thread_local EVP_MD_CTX* scratch = EVP_MD_CTX_new();
  Hash out;
  unsigned int len = 0;
  if (!scratch || EVP_MD_CTX_copy_ex(scratch, ctx_->md) != 1 ||
      EVP_DigestUpdate(scratch, last_bytes.data(), last_bytes.size()) != 1 ||
      EVP_DigestFinal_ex(scratch, out.data(), &len) != 1) {
    std::abort();
  }
  return out;
}
Hash NodeHash(const Hash& left, const Hash& right) { return Digest(0x01, View(left), View(right)); }
Hash ChainHash(const Hash& previous, const Hash& leaf) { return Digest(0x02, View(previous), View(leaf)); }
Hash EmptyRoot() { return Sha256(""); }

uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

Hash RootFromLeaves(const std::vector<Hash>& leaves) {
  if (leaves.empty()) return EmptyRoot();
  std::function<Hash(uint64_t, uint64_t)> mth = [&](uint64_t begin, uint64_t end) -> Hash {
    if (end - begin == 1) return leaves[begin];
    const uint64_t k = SplitPoint(end - begin);
    return NodeHash(mth(begin, begin + k), mth(begin + k, end));
  };
  return mth(0, leaves.size());
}

std::vector<Hash> InclusionProof(uint64_t index, uint64_t size, const SubtreeHashFn& mth) {
  std::vector<Hash> out;
  Path(index, 0, size, mth, out);
  return out;
}

std::vector<Hash> ConsistencyProof(uint64_t old_size, uint64_t new_size, const SubtreeHashFn& mth) {
  std::vector<Hash> out;
  Subproof(old_size, 0, new_size, true, mth, out);
  return out;
}

std::vector<Hash> RangeProof(uint64_t first, uint64_t last, uint64_t size, const SubtreeHashFn& mth) {
  std::vector<Hash> out;
  RangeWalk(first, last, 0, size, mth, out);
  return out;
}

bool VerifyInclusion(uint64_t index, uint64_t size, const Hash& leaf, const std::vector<Hash>& proof,
                     const Hash& root) {
  if (index >= size) return false;
  uint64_t fn = index, sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      if (!(fn & 1)) {
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root, const Hash& new_root,
                       const std::vector<Hash>& proof) {
  if (old_size == 0 || old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  std::vector<Hash> path = proof;
  // When old_size is a power of two, the old root is itself the first node.
  if ((old_size & (old_size - 1)) == 0) path.insert(path.begin(), old_root);
  if (path.empty()) return false;
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if (!(fn & 1)) {
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == old_root && sr == new_root;
}

bool VerifyRange(uint64_t first, uint64_t last, uint64_t size, const std::vector<Hash>& leaves,
                 const std::vector<Hash>& proof, const Hash& root) {
  if (first > last || last >= size || leaves.size() != last - first + 1) return false;
  size_t next = 0;
  Hash computed;
  if (!RangeRoot(first, last, 0, size, leaves, proof, next, computed)) return false;
  return next == proof.size() && computed == root;
}

}  // namespace cloister::verify
