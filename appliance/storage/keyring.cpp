#include "appliance/storage/keyring.h"

#include <algorithm>
#include <cstdio>

#include "appliance/core/files.h"
#include "appliance/core/json.h"

namespace cloister {
namespace {

constexpr char kFormat[] = "cloister-keyring/v1";
constexpr uint8_t kShareVersion = 1;
constexpr size_t kShareSize = 1 + 4 + 1 + 1 + 32 + 4;

Status Damaged(const std::string& path, const std::string& what) {
  return Status::Corruption("keyring " + path + " is damaged: " + what).WithReason("keyring_damaged");
}

Result<Bytes> DecodeField(const Json& obj, const char* field, const std::string& path) {
  if (!obj.contains(field) || !obj[field].is_string()) return Damaged(path, std::string("missing ") + field);
  auto bytes = Base64Decode(obj[field].get<std::string>());
  if (!bytes.ok()) return Damaged(path, std::string(field) + ": " + bytes.status().message());
  return bytes;
}

}  // namespace

std::string_view SealTypeName(SealType type) { return type == SealType::kShamir ? "shamir" : "key_file"; }

Result<Keyring> LoadKeyring(const std::string& path) {
  CL_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 1 << 20));
  auto parsed = ParseJsonObject(text);
  if (!parsed.ok()) return Damaged(path, parsed.status().message());
  const Json& j = *parsed;
  Keyring k;
  try {
    if (j.value("format", "") != kFormat) return Damaged(path, "format is not " + std::string(kFormat));
    k.appliance_id = j.at("appliance_id").get<std::string>();
    k.created_at = j.at("created_at").get<std::string>();
    const Json& seal = j.at("seal");
    const std::string type = seal.at("type").get<std::string>();
    if (type == "shamir") {
      k.seal_type = SealType::kShamir;
      k.shares = seal.at("shares").get<int>();
      k.threshold = seal.at("threshold").get<int>();
      k.share_digests = seal.at("share_digests").get<std::vector<std::string>>();
      if (k.threshold < 1 || k.threshold > k.shares || static_cast<int>(k.share_digests.size()) != k.shares) {
        return Damaged(path, "seal shares, threshold and share_digests disagree");
      }
    } else if (type == "key_file") {
      k.seal_type = SealType::kKeyFile;
      k.key_file = seal.at("key_file").get<std::string>();
    } else {
      return Damaged(path, "unknown seal type \"" + type + "\"");
    }
    const Json& dk = j.at("data_key");
    if (dk.value("algorithm", "") != "AES-256-GCM") return Damaged(path, "data_key.algorithm is not AES-256-GCM");
    CL_ASSIGN_OR_RETURN(k.data_key.nonce, DecodeField(dk, "nonce", path));
    CL_ASSIGN_OR_RETURN(k.data_key.ciphertext, DecodeField(dk, "ciphertext", path));
    CL_ASSIGN_OR_RETURN(k.data_key.tag, DecodeField(dk, "tag", path));
  } catch (const Json::exception& e) {
    return Damaged(path, e.what());
  }
  if (k.appliance_id.size() != 32 || !HexDecode(k.appliance_id).ok()) {
    return Damaged(path, "appliance_id is not 32 hex digits");
  }
  return k;
}

Status SaveKeyring(const std::string& path, const Keyring& k) {
  Json seal = {{"type", SealTypeName(k.seal_type)}};
  if (k.seal_type == SealType::kShamir) {
    seal["shares"] = k.shares;
    seal["threshold"] = k.threshold;
    seal["share_digests"] = k.share_digests;
  } else {
    seal["key_file"] = k.key_file;
  }
  auto b64 = [](const Bytes& b) { return Base64Encode(AsChars(b.data(), b.size())); };
  const Json j = {{"format", kFormat},
                  {"appliance_id", k.appliance_id},
                  {"created_at", k.created_at},
                  {"seal", seal},
                  {"data_key",
                   {{"algorithm", "AES-256-GCM"},
                    {"nonce", b64(k.data_key.nonce)},
                    {"ciphertext", b64(k.data_key.ciphertext)},
                    {"tag", b64(k.data_key.tag)}}}};
  return WriteFileAtomic(path, j.dump(2) + "\n", 0600);
}

std::string EncodeShare(const std::string& appliance_id, int threshold, const ShamirShare& share) {
  SecureBytes raw(kShareSize);
  const Bytes id = HexDecode(appliance_id).value();
  raw[0] = kShareVersion;
  std::copy(id.begin(), id.begin() + 4, raw.data() + 1);
  raw[5] = static_cast<uint8_t>(threshold);
  raw[6] = share.x;
  std::copy(share.y.data(), share.y.data() + 32, raw.data() + 7);
  const Sha256Digest check = Sha256(AsChars(raw.data(), kShareSize - 4));
  std::copy(check.begin(), check.begin() + 4, raw.data() + kShareSize - 4);
  return HexEncode(raw.data(), raw.size());
}

Result<DecodedShare> DecodeShare(std::string_view text) {
  std::string compact;
  for (char c : text) {
    if (c != ' ' && c != '-' && c != '\n' && c != '\r' && c != '\t') compact += c;
  }
  auto invalid = [](const std::string& why) {
    return Status::InvalidArgument("unseal share " + why).WithReason("invalid_share");
  };
  if (compact.size() != kShareSize * 2) {
    return invalid("is malformed: expected " + std::to_string(kShareSize * 2) + " hex digits, got " +
                   std::to_string(compact.size()));
  }
  auto bytes = HexDecode(compact);
  if (!bytes.ok()) return invalid("is malformed: " + bytes.status().message());
  SecureBytes raw(bytes->data(), bytes->size());
  std::fill(bytes->begin(), bytes->end(), 0);
  const Sha256Digest check = Sha256(AsChars(raw.data(), kShareSize - 4));
  if (!std::equal(check.begin(), check.begin() + 4, raw.data() + kShareSize - 4)) {
    return invalid("fails its checksum: it was mistyped or damaged");
  }
  if (raw[0] != kShareVersion) return invalid("has unknown version " + std::to_string(raw[0]));
  DecodedShare out;
  out.appliance_tag = HexEncode(raw.data() + 1, 4);
  out.threshold = raw[5];
  out.share.x = raw[6];
  out.share.y = SecureBytes(raw.data() + 7, 32);
  if (out.share.x == 0 || out.threshold < 1) return invalid("has an invalid index or threshold");
  return out;
}

std::string ShareDigest(const std::string& appliance_id, const ShamirShare& share) {
  std::string material = "cloister-share-digest/v1\n" + appliance_id + "\n";
  material += static_cast<char>(share.x);
  material.append(share.y.view());
  const std::string digest = Sha256Hex(material);
  std::fill(material.begin(), material.end(), '\0');
  return digest;
}

std::string EncodeKeyFile(const SecureBytes& kek) { return HexEncode(kek.data(), kek.size()) + "\n"; }

Result<SecureBytes> ReadKeyFile(const std::string& path) {
  CL_ASSIGN_OR_RETURN(const mode_t mode, FileMode(path));
  if (mode & 077) {
    char octal[16];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    return Status::PermissionDenied("key file " + path + " has mode " + octal +
                                    ": group and others must have no access (chmod 600 " + path + ")")
        .WithReason("key_file_exposed");
  }
  CL_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 4096));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  auto bytes = HexDecode(text);
  std::fill(text.begin(), text.end(), '\0');
  if (!bytes.ok() || bytes->size() != 32) {
    return Status::InvalidArgument("key file " + path + " does not hold a key (expected 64 hex digits)")
        .WithReason("invalid_key_file");
  }
  SecureBytes key(bytes->data(), bytes->size());
  std::fill(bytes->begin(), bytes->end(), 0);
  return key;
}

}  // namespace cloister
