#include "appliance/http/tls_certificate.h"

#include <cstdio>
#include <functional>
#include <memory>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "appliance/core/encoding.h"
#include "appliance/core/files.h"

namespace cloister {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

Status Fail(const std::string& step) { return Status::Internal("generating the TLS certificate: " + step + " failed"); }

Status AddExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return Fail("extension " + value);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1 ? Status::Ok() : Fail("adding extension " + value);
}

Result<std::string> ToPem(const std::function<int(BIO*)>& write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) return Fail("PEM encoding");
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

Result<bool> EnsureSelfSignedCertificate(const std::string& cert_path, const std::string& key_path,
                                         const std::vector<std::string>& dns_names, const Clock& clock,
                                         Random& random) {
  if (PathExists(cert_path) && PathExists(key_path)) return false;
  for (const std::string& path : {cert_path, key_path}) {
    const std::string dir = path.substr(0, path.find_last_of('/'));
    if (path.find('/') != std::string::npos && !dir.empty()) CL_RETURN_IF_ERROR(MakeDirectories(dir, 0700));
  }

  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return Fail("P-256 key generation");
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) return Fail("X509_new");

  uint8_t serial[16];
  CL_RETURN_IF_ERROR(random.Fill(serial, sizeof serial));
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool serial_ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  if (!serial_ok) return Fail("serial number");

  time_t now = std::chrono::system_clock::to_time_t(clock.Now());
  if (!X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -300, &now) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), 825, 0, &now)) {
    return Fail("validity");
  }
  const std::string cn = dns_names.empty() ? "localhost" : dns_names.front();
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Cloister"), -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key.get()) != 1) {
    return Fail("subject");
  }
  std::string san = "IP:127.0.0.1,IP:::1,DNS:localhost";
  for (const auto& dns : dns_names) {
    if (dns != "localhost" && !dns.empty()) san += ",DNS:" + dns;
  }
  CL_RETURN_IF_ERROR(AddExtension(cert.get(), NID_subject_alt_name, san));
  CL_RETURN_IF_ERROR(AddExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  CL_RETURN_IF_ERROR(AddExtension(cert.get(), NID_key_usage, "critical,digitalSignature"));
  CL_RETURN_IF_ERROR(AddExtension(cert.get(), NID_ext_key_usage, "serverAuth"));
  CL_RETURN_IF_ERROR(AddExtension(cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return Fail("signing");

  CL_ASSIGN_OR_RETURN(std::string key_pem, ToPem([&](BIO* b) {
                        return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
                      }));
  CL_ASSIGN_OR_RETURN(std::string cert_pem, ToPem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); }));
  Status st = WriteFileAtomic(key_path, key_pem, 0600);
  std::fill(key_pem.begin(), key_pem.end(), '\0');
  CL_RETURN_IF_ERROR(st);
  CL_RETURN_IF_ERROR(WriteFileAtomic(cert_path, cert_pem, 0644));
  return true;
}

Result<std::string> CertificateFingerprint(const std::string& cert_path) {
  CL_ASSIGN_OR_RETURN(std::string pem, ReadFile(cert_path, 1 << 20));
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return Status::InvalidArgument(cert_path + " is not a PEM certificate");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert.get(), EVP_sha256(), md, &len) != 1) return Fail("fingerprint");
  std::string out;
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned i = 0; i < len; ++i) {
    if (i) out += ':';
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

}  // namespace cloister
