#include "audit/verify/signed_note.h"

#include <charconv>
#include <cstdio>
#include <memory>

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace cloister::verify {
namespace {

constexpr std::string_view kDash = "\xe2\x80\x94";  // U+2014 EM DASH
constexpr uint8_t kEd25519 = 0x01;
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool Fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

std::string Hex8(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

// Splits "a+b+c" at its first `fields - 1` plus signs: the last field is
// base64 and may itself contain '+'.
std::vector<std::string_view> SplitPlus(std::string_view s, size_t fields) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < fields) {
    const size_t plus = s.find('+');
    if (plus == std::string_view::npos) break;
    out.push_back(s.substr(0, plus));
    s.remove_prefix(plus + 1);
  }
  out.push_back(s);
  return out;
}

bool ValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (c <= 0x20 || c == '+' || c == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::string Base64(std::string_view in) {
  std::string out;
  size_t i = 0;
  auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<uint8_t>(in[k])); };
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t n = b(i) << 16 | b(i + 1) << 8 | b(i + 2);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[n >> shift & 63];
  }
  if (const size_t rest = in.size() - i; rest > 0) {
    const uint32_t n = b(i) << 16 | (rest == 2 ? b(i + 1) << 8 : 0);
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += rest == 2 ? kAlphabet[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

bool FromBase64(std::string_view text, std::string* out) {
  if (text.size() % 4 != 0) return false;
  size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size() - pad; ++i) {
    const int v = Base64Value(text[i]);
    if (v < 0) return false;
    acc = acc << 6 | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>(acc >> bits & 0xff));
    }
  }
  return bits == 0 || (acc & ((1u << bits) - 1)) == 0;
}

uint32_t KeyId(std::string_view name, const PublicKey& key) {
  std::string material(name);
  material += '\n';
  material += static_cast<char>(kEd25519);
  material.append(reinterpret_cast<const char*>(key.data()), key.size());
  const Hash h = Sha256(material);
  return static_cast<uint32_t>(h[0]) << 24 | static_cast<uint32_t>(h[1]) << 16 | static_cast<uint32_t>(h[2]) << 8 | h[3];
}

std::string FormatVerifierKey(std::string_view name, const PublicKey& key) {
  std::string raw(1, static_cast<char>(kEd25519));
  raw.append(reinterpret_cast<const char*>(key.data()), key.size());
  return std::string(name) + "+" + Hex8(KeyId(name, key)) + "+" + Base64(raw);
}

bool ParseVerifierKey(std::string_view text, VerifierKey* out, std::string* error) {
  const auto parts = SplitPlus(text, 3);
  if (parts.size() != 3) return Fail(error, "verifier key must be <name>+<key id>+<base64 key>");
  if (!ValidKeyName(parts[0])) return Fail(error, "verifier key name is empty or has spaces or '+'");
  std::string raw;
  if (!FromBase64(parts[2], &raw) || raw.size() != 33 || static_cast<uint8_t>(raw[0]) != kEd25519) {
    return Fail(error, "verifier key is not an Ed25519 key (expected base64 of 0x01 and 32 bytes)");
  }
  out->name = std::string(parts[0]);
  std::copy(raw.begin() + 1, raw.end(), out->key.begin());
  out->id = KeyId(out->name, out->key);
  if (parts[1].size() != 8 || Hex8(out->id) != parts[1]) {
    return Fail(error, "verifier key id " + std::string(parts[1]) + " does not match its key (" + Hex8(out->id) + ")");
  }
  return true;
}

bool NoteSigner::Init(std::string_view name, const std::array<uint8_t, 32>& seed, std::string* error) {
  if (!ValidKeyName(name)) return Fail(error, "key name is empty or has spaces or '+'");
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()), &EVP_PKEY_free);
  size_t len = public_key_.size();
  if (!pkey || EVP_PKEY_get_raw_public_key(pkey.get(), public_key_.data(), &len) != 1 || len != 32) {
    return Fail(error, "not a usable Ed25519 private key");
  }
  name_ = std::string(name);
  seed_ = seed;
  return true;
}

bool NoteSigner::InitFromSignerKey(std::string_view signer_key, std::string* error) {
  const auto parts = SplitPlus(signer_key, 5);
  if (parts.size() != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY") {
    return Fail(error, "signer key must be PRIVATE+KEY+<name>+<key id>+<base64 key>");
  }
  std::string raw;
  if (!FromBase64(parts[4], &raw) || raw.size() != 33 || static_cast<uint8_t>(raw[0]) != kEd25519) {
    return Fail(error, "signer key is not an Ed25519 key");
  }
  std::array<uint8_t, 32> seed;
  std::copy(raw.begin() + 1, raw.end(), seed.begin());
  OPENSSL_cleanse(raw.data(), raw.size());
  if (!Init(parts[2], seed, error)) return false;
  if (Hex8(KeyId(name_, public_key_)) != parts[3]) return Fail(error, "signer key id does not match its key");
  return true;
}

std::string NoteSigner::Sign(std::string_view text) const {
  PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed_.data(), seed_.size()), &EVP_PKEY_free);
  MdCtxPtr ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  uint8_t sig[64];
  size_t sig_len = sizeof sig;
  if (!pkey || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &sig_len, reinterpret_cast<const uint8_t*>(text.data()), text.size()) != 1 ||
      sig_len != 64) {
    std::abort();  // Init() checked the key; a failing signature is an OpenSSL fault
  }
  const uint32_t id = KeyId(name_, public_key_);
  std::string blob = {static_cast<char>(id >> 24), static_cast<char>(id >> 16), static_cast<char>(id >> 8),
                      static_cast<char>(id)};
  blob.append(reinterpret_cast<const char*>(sig), sizeof sig);
  return std::string(text) + "\n" + std::string(kDash) + " " + name_ + " " + Base64(blob) + "\n";
}

bool VerifyNote(std::string_view note, const VerifierKey& key, std::string* text, std::string* error) {
  const size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos || note.empty() || note.back() != '\n') {
    return Fail(error, "malformed signed note: no blank line between text and signatures");
  }
  const std::string_view body = note.substr(0, split + 1);
  std::string_view rest = note.substr(split + 2);
  if (rest.empty()) return Fail(error, "signed note has no signature lines");
  // Every signature line must be well-formed, even those by other keys
  // (which are otherwise ignored), as in Go's note.Open.
  struct Line {
    std::string_view name;
    uint32_t id;
    std::string signature;
  };
  std::vector<Line> lines;
  while (!rest.empty()) {
    const size_t eol = rest.find('\n');
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 1);
    if (line.substr(0, kDash.size() + 1) != std::string(kDash) + " ") {
      return Fail(error, "malformed signature line (must start with an em dash and a space)");
    }
    const std::string_view fields = line.substr(kDash.size() + 1);
    const size_t space = fields.find(' ');
    std::string blob;
    if (space == std::string_view::npos || !ValidKeyName(fields.substr(0, space)) ||
        !FromBase64(fields.substr(space + 1), &blob) || blob.size() < 5) {
      return Fail(error, "malformed signature line: expected \"— <name> <base64>\"");
    }
    const uint32_t id = static_cast<uint32_t>(static_cast<uint8_t>(blob[0])) << 24 |
                        static_cast<uint32_t>(static_cast<uint8_t>(blob[1])) << 16 |
                        static_cast<uint32_t>(static_cast<uint8_t>(blob[2])) << 8 | static_cast<uint8_t>(blob[3]);
    lines.push_back({fields.substr(0, space), id, blob.substr(4)});
  }
  bool found_name = false;
  for (const Line& l : lines) {
    if (l.name != key.name) continue;
    found_name = true;
    if (l.id != key.id) continue;
    if (l.signature.size() != 64) return Fail(error, "Ed25519 signature must be 64 bytes");
    PkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.key.data(), key.key.size()),
                 &EVP_PKEY_free);
    MdCtxPtr ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    const bool ok = pkey && ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) == 1 &&
                    EVP_DigestVerify(ctx.get(), reinterpret_cast<const uint8_t*>(l.signature.data()), 64,
                                     reinterpret_cast<const uint8_t*>(body.data()), body.size()) == 1;
    if (!ok) return Fail(error, "signature by " + key.name + " does not verify: the note was altered or forged");
    *text = std::string(body);
    return true;
  }
  return Fail(error, found_name ? "no signature by key " + key.name + "+" + Hex8(key.id) + " (different key id)"
                                : "no signature by key " + key.name);
}

std::string FormatCheckpoint(const Checkpoint& c) {
  return c.origin + "\n" + std::to_string(c.size) + "\n" +
         Base64(std::string_view(reinterpret_cast<const char*>(c.root.data()), c.root.size())) + "\n";
}

bool ParseCheckpoint(std::string_view text, Checkpoint* out, std::string* error) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    if (eol == std::string_view::npos) return Fail(error, "checkpoint text must end with a newline");
    lines.push_back(text.substr(0, eol));
    text.remove_prefix(eol + 1);
  }
  if (lines.size() != 3) return Fail(error, "checkpoint must have exactly 3 lines, has " + std::to_string(lines.size()));
  if (lines[0].empty()) return Fail(error, "checkpoint origin is empty");
  const std::string_view size = lines[1];
  uint64_t n = 0;
  const auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), n);
  if (size.empty() || ec != std::errc() || end != size.data() + size.size() || (size.size() > 1 && size[0] == '0')) {
    return Fail(error, "checkpoint tree size \"" + std::string(size) + "\" is not a decimal number");
  }
  std::string root;
  if (!FromBase64(lines[2], &root) || root.size() != 32) return Fail(error, "checkpoint root hash is not 32 bytes of base64");
  out->origin = std::string(lines[0]);
  out->size = n;
  std::copy(root.begin(), root.end(), out->root.begin());
  return true;
}

}  // namespace cloister::verify
