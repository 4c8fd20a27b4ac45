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

std::string BasicAuthHeader(const std::string& user, const std::string& password) {
  std::string in = user + ":" + password;
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return "Basic " + out;
}

HttpsResult HttpsRequest(int port, const std::string& method, const std::string& target,
                         const HttpsOptions& o) {
  HttpsResult r;
  const auto deadline = std::chrono::steady_clock::now() + o.timeout;
  auto wait = [&](int fd, short events) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline -
                                                             std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, static_cast<int>(left.count())) > 0;
  };

  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr) != 1) {
      r.error = "bad CA file";
      return r;
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  }
  if (!o.cert_file.empty() &&
      (SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert_file.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(ctx.get(), o.key_file.c_str(), SSL_FILETYPE_PEM) != 1)) {
    r.error = "bad client certificate";
    return r;
  }

  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 &&
      errno != EINPROGRESS) {
    r.error = "connect failed";
    return r;
  }
  if (!wait(fd, POLLOUT)) {
    r.error = "connect timed out";
    return r;
  }
  tls::SslPtr ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd);
  SSL_set_connect_state(ssl.get());
  if (!o.ca_file.empty()) {
    X509_VERIFY_PARAM* p = SSL_get0_param(ssl.get());
    in_addr probe{};
    if (inet_pton(AF_INET, o.server_name.c_str(), &probe) == 1) {
      X509_VERIFY_PARAM_set1_ip_asc(p, o.server_name.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(p, o.server_name.c_str(), 0);
      SSL_set_tlsext_host_name(ssl.get(), o.server_name.c_str());
    }
  }
  // Drives one OpenSSL call to completion; false with r.error set on failure.
  auto drive = [&](auto&& call, const char* what) -> int {
    for (;;) {
      ERR_clear_error();
      int rc = call();
      if (rc > 0) return rc;
      int e = SSL_get_error(ssl.get(), rc);
      if (e == SSL_ERROR_ZERO_RETURN) return 0;
      if ((e == SSL_ERROR_WANT_READ && wait(fd, POLLIN)) ||
          (e == SSL_ERROR_WANT_WRITE && wait(fd, POLLOUT))) {
        continue;
      }
      r.error = std::string(what) + ": " + tls::DrainErrors(e == SSL_ERROR_WANT_READ ||
                                                                    e == SSL_ERROR_WANT_WRITE
                                                                ? "timed out"
                                                                : "connection closed");
      return -1;
    }
  };
  if (drive([&] { return SSL_connect(ssl.get()); }, "handshake") <= 0) {
    if (r.error.empty()) r.error = "handshake: connection closed";
    return r;
  }

  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                    "Connection: close\r\nContent-Length: " + std::to_string(o.body.size()) +
                    "\r\n";
  for (const auto& [k, v] : o.headers) req += k + ": " + v + "\r\n";
  req += "\r\n" + o.body;
  size_t off = 0;
  while (off < req.size()) {
    int n = drive([&] { return SSL_write(ssl.get(), req.data() + off,
                                         static_cast<int>(req.size() - off)); },
                  "write");
    if (n <= 0) return r;
    off += static_cast<size_t>(n);
  }
  std::string in;
  char buf[16384];
  for (;;) {
    int n = drive([&] { return SSL_read(ssl.get(), buf, sizeof(buf)); }, "read");
    if (n < 0) {
      if (in.empty()) return r;
      break;
    }
    if (n == 0) break;
    in.append(buf, static_cast<size_t>(n));
  }
  r.error.clear();
  auto head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos || !in.starts_with("HTTP/1.")) {
    r.error = "no HTTP response";
    return r;
  }
  r.status = std::atoi(in.substr(9, 3).c_str());
  size_t pos = in.find("\r\n") + 2;
  while (pos < head_end) {
    size_t eol = in.find("\r\n", pos);
    std::string line = in.substr(pos, eol - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string k = line.substr(0, colon);
      for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      r.headers[k] = v;
    }
    pos = eol + 2;
  }
  r.body = in.substr(head_end + 4);
  return r;
}

}  // namespace redis_ha::testing
