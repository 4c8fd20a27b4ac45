#include "support/tls_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <stdexcept>

#include "redis/tls.h"

namespace redis_ha::testing {

namespace {

std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)> NewKey() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (k == nullptr) throw std::runtime_error("EVP_EC_gen failed");
  return {k, EVP_PKEY_free};
}

void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  if (value.empty()) return;
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) throw std::runtime_error("bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509* NewCert(const std::string& cn, EVP_PKEY* key) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

void WritePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  bool ok = cert != nullptr ? PEM_write_X509(f, cert) == 1
                            : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr,
                                                   nullptr) == 1;
  std::fclose(f);
  if (!ok) throw std::runtime_error("cannot write " + path);
}

}  // namespace

TestPki::TestPki(std::filesystem::path dir, std::string ca_name) : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_);
  auto key = NewKey();
  X509* ca = NewCert(ca_name, key.get());
  X509_set_issuer_name(ca, X509_get_subject_name(ca));
  AddExtension(ca, ca, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(ca, ca, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(ca, ca, NID_subject_key_identifier, "hash");
  if (X509_sign(ca, key.get(), EVP_sha256()) == 0) throw std::runtime_error("sign CA");
  ca_cert_.reset(ca);
  ca_key_.reset(key.release());
  ca_file_ = (dir_ / "ca.crt").string();
  WritePem(ca_file_, ca_cert_.get(), nullptr);
  WritePem((dir_ / "ca.key").string(), nullptr, ca_key_.get());
}

TestPki::~TestPki() = default;

CertFiles TestPki::Issue(const std::string& name, const std::string& sans) {
  auto key = NewKey();
  X509* cert = NewCert(name, key.get());
  std::unique_ptr<X509, CertDeleter> owner(cert);
  X509_set_issuer_name(cert, X509_get_subject_name(ca_cert_.get()));
  AddExtension(cert, ca_cert_.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(cert, ca_cert_.get(), NID_key_usage, "critical,digitalSignature");
  AddExtension(cert, ca_cert_.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  AddExtension(cert, ca_cert_.get(), NID_authority_key_identifier, "keyid");
  AddExtension(cert, ca_cert_.get(), NID_subject_alt_name, sans);
  if (X509_sign(cert, ca_key_.get(), EVP_sha256()) == 0) throw std::runtime_error("sign");
  CertFiles out{(dir_ / (name + ".crt")).string(), (dir_ / (name + ".key")).string()};
  WritePem(out.cert, cert, nullptr);
  WritePem(out.key, nullptr, key.get());
  return out;
}

HttpsResult HttpsRequest(int port, const std::string& method, const std::string& target,
                         const HttpsOptions& o) {
  http::ClientOptions c;
  c.timeout = o.timeout;
  c.headers = o.headers;
  c.body = o.body;
  c.tls = true;
  c.ca_file = o.ca_file;
  c.cert_file = o.cert_file;
  c.key_file = o.key_file;
  c.server_name = o.server_name;
  c.insecure_skip_verify = o.ca_file.empty();
  return http::Fetch("127.0.0.1", port, method, target, c);
}

}  // namespace redis_ha::testing
