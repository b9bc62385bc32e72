#include "appliance/runtime/ca_bundle.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

namespace cloister::runtime {

Result<std::vector<std::string>> CaBundleSubjects(std::string_view pem) {
  std::vector<std::string> out;
  if (pem.empty()) return out;
  if (pem.size() > (1 << 20)) return Status::InvalidArgument("ca_bundle is larger than 1 MiB");
  // The PEM reader skips blocks of other kinds; a key pasted by mistake must
  // not be stored (settings are readable by every role of the environment).
  if (pem.find("PRIVATE KEY") != std::string_view::npos) {
    return Status::InvalidArgument("ca_bundle holds a private key; give CA certificates only");
  }
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  if (!bio) return Status::Internal("ca_bundle: out of memory");
  for (;;) {
    ERR_clear_error();
    std::unique_ptr<X509, decltype(&X509_free)> cert(
        PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
    if (!cert) {
      const unsigned long err = ERR_peek_last_error();
      ERR_clear_error();
      // The end of the text is "no start line"; anything else is damage.
      if (ERR_GET_REASON(err) == PEM_R_NO_START_LINE && !out.empty()) break;
      return Status::InvalidArgument(out.empty()
                                         ? "ca_bundle holds no PEM certificate"
                                         : "ca_bundle: certificate " +
                                               std::to_string(out.size() + 1) + " does not parse");
    }
    if (out.size() == 200)
      return Status::InvalidArgument("ca_bundle holds more than 200 certificates");
    std::unique_ptr<BIO, decltype(&BIO_free)> name(BIO_new(BIO_s_mem()), BIO_free);
    X509_NAME_print_ex(name.get(), X509_get_subject_name(cert.get()), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long len = BIO_get_mem_data(name.get(), &data);
    out.emplace_back(data, static_cast<size_t>(len));
  }
  return out;
}

}  // namespace cloister::runtime
