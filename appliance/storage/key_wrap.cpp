#include "appliance/storage/key_wrap.h"

#include <memory>

#include <openssl/evp.h>

namespace cloister {
namespace {

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;

Status OpenSslError(const char* step) { return Status::Internal(std::string("AES-256-GCM: ") + step + " failed"); }

// A cipher context keyed for AES-256-GCM with `nonce`, with `aad` absorbed;
// `encrypt` picks the direction.
Result<CipherCtx> GcmContext(const SecureBytes& kek, const Bytes& nonce, std::string_view aad, bool encrypt) {
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0;
  const int enc = encrypt ? 1 : 0;
  if (!ctx) return OpenSslError("EVP_CIPHER_CTX_new");
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr, enc) != 1) return OpenSslError("init");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceSize, nullptr) != 1) return OpenSslError("ivlen");
  if (EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, kek.data(), nonce.data(), enc) != 1) return OpenSslError("key");
  if (EVP_CipherUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                       static_cast<int>(aad.size())) != 1) {
    return OpenSslError("aad");
  }
  return ctx;
}

}  // namespace

Result<WrappedKey> WrapKey(const SecureBytes& kek, const SecureBytes& key, std::string_view aad, Random& random) {
  if (kek.size() != 32) return Status::InvalidArgument("key-encryption key must be 32 bytes");
  WrappedKey out;
  out.nonce.resize(kNonceSize);
  CL_RETURN_IF_ERROR(random.Fill(out.nonce.data(), out.nonce.size()));
  out.ciphertext.resize(key.size());
  out.tag.resize(kTagSize);
  CL_ASSIGN_OR_RETURN(CipherCtx ctx, GcmContext(kek, out.nonce, aad, true));
  int len = 0;
  if (EVP_CipherUpdate(ctx.get(), out.ciphertext.data(), &len, key.data(), static_cast<int>(key.size())) != 1) {
    return OpenSslError("encrypt");
  }
  if (EVP_CipherFinal_ex(ctx.get(), out.ciphertext.data() + len, &len) != 1) return OpenSslError("final");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, out.tag.data()) != 1) return OpenSslError("tag");
  return out;
}

Result<SecureBytes> UnwrapKey(const SecureBytes& kek, const WrappedKey& wrapped, std::string_view aad) {
  if (kek.size() != 32) return Status::InvalidArgument("key-encryption key must be 32 bytes");
  if (wrapped.nonce.size() != kNonceSize || wrapped.tag.size() != kTagSize || wrapped.ciphertext.empty()) {
    return Status::Corruption("wrapped key has the wrong layout (nonce 12 bytes, tag 16 bytes expected)");
  }
  SecureBytes out(wrapped.ciphertext.size());
  CL_ASSIGN_OR_RETURN(CipherCtx ctx, GcmContext(kek, wrapped.nonce, aad, false));
  int len = 0;
  if (EVP_CipherUpdate(ctx.get(), out.data(), &len, wrapped.ciphertext.data(),
                       static_cast<int>(wrapped.ciphertext.size())) != 1) {
    return OpenSslError("decrypt");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, const_cast<uint8_t*>(wrapped.tag.data())) != 1) {
    return OpenSslError("set tag");
  }
  if (EVP_CipherFinal_ex(ctx.get(), out.data() + len, &len) != 1) {
    return Status::PermissionDenied("the key does not unwrap the data key (wrong key, or the keyring was altered)")
        .WithReason("key_mismatch");
  }
  return out;
}

}  // namespace cloister
