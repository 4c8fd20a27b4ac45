#include "redis/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>

namespace redis_ha::tls {

std::string DrainErrors(std::string_view fallback) {
  std::string out;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(e);
    std::string text;
    if (reason != nullptr) {
      text = reason;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof(buf));
      text = buf;
    }
    if (out.find(text) != std::string::npos) continue;
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? std::string(fallback) : out;
}

namespace {

int FdOf(BIO* b) { return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b))); }

bool Retryable(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

int SocketWrite(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  ssize_t n = ::send(FdOf(b), data, static_cast<size_t>(len), MSG_NOSIGNAL);
  if (n < 0) {
    if (Retryable(errno)) BIO_set_retry_write(b);
    return -1;
  }
  return static_cast<int>(n);
}

int SocketRead(BIO* b, char* data, int len) {
  if (data == nullptr) return 0;
  BIO_clear_retry_flags(b);
  ssize_t n = ::recv(FdOf(b), data, static_cast<size_t>(len), 0);
  if (n < 0) {
    if (Retryable(errno)) BIO_set_retry_read(b);
    return -1;
  }
  if (n == 0) BIO_set_flags(b, BIO_FLAGS_IN_EOF);  // BIO_eof() tells OpenSSL it was a FIN
  return static_cast<int>(n);
}

long SocketCtrl(BIO* b, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_EOF: return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    default: return 0;
  }
}

int SocketCreate(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

int SocketDestroy(BIO*) { return 1; }  // the fd belongs to the caller

const BIO_METHOD* SocketMethod() {
  static const BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK |
                                     BIO_TYPE_DESCRIPTOR,
                                 "redis_ha socket");
    BIO_meth_set_write(m, SocketWrite);
    BIO_meth_set_read(m, SocketRead);
    BIO_meth_set_ctrl(m, SocketCtrl);
    BIO_meth_set_create(m, SocketCreate);
    BIO_meth_set_destroy(m, SocketDestroy);
    return m;
  }();
  return method;
}

}  // namespace

BIO* NewSocketBio(int fd) {
  BIO* b = BIO_new(SocketMethod());
  if (b != nullptr) BIO_set_data(b, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
  return b;
}

bool AddPemCertificates(X509_STORE* store, std::string_view pem, std::string* error) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    *error = "out of memory";
    return false;
  }
  int added = 0;
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    if (X509_STORE_add_cert(store, cert.get()) != 1) {
      *error = DrainErrors("cannot add a certificate");
      return false;
    }
    ++added;
  }
  // The loop ends with a "no start line" error at the end of the text; anything else
  // is a certificate that does not parse.
  unsigned long last = ERR_peek_last_error();
  if (last != 0 && ERR_GET_REASON(last) != PEM_R_NO_START_LINE) {
    *error = DrainErrors("a certificate does not parse");
    return false;
  }
  ERR_clear_error();
  if (added == 0) {
    *error = "no PEM certificate in it";
    return false;
  }
  return true;
}

}  // namespace redis_ha::tls

namespace redis_ha::redis {

namespace {

bool Readable(const std::string& path) { return std::ifstream(path).good(); }

Error TlsConfigError(std::string_view prefix, std::string_view option, const std::string& what) {
  return MakeError(ErrorKind::kConfig,
                   std::string(prefix) + "." + std::string(option) + ": " + what);
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

Result<std::shared_ptr<const TlsContext>> TlsContext::Create(const TlsOptions& options,
                                                             std::string_view prefix) {
  ERR_clear_error();
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return TlsConfigError(prefix, "tls", tls::DrainErrors("cannot create a TLS context"));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  // Writes may complete partially and be retried with the buffer at another address
  // (Connection's output string grows between attempts).
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Redis closes idle or rejected connections without close_notify: a plain EOF. RESP
  // frames every reply, so a truncated one is never taken for a complete one.
  SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);

  if (!options.ca_file.empty()) {
    if (!Readable(options.ca_file)) {
      return TlsConfigError(prefix, "tls-ca-file", "cannot read '" + options.ca_file + "'");
    }
    if (SSL_CTX_load_verify_locations(ctx.get(), options.ca_file.c_str(), nullptr) != 1) {
      return TlsConfigError(prefix, "tls-ca-file", "cannot load '" + options.ca_file +
                                                       "': " + tls::DrainErrors());
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
    ERR_clear_error();  // no system store: verification will fail with a clear reason
  }

  if (options.cert_file.empty() != options.key_file.empty()) {
    return options.cert_file.empty()
               ? TlsConfigError(prefix, "tls-cert-file", "needed with tls-key-file")
               : TlsConfigError(prefix, "tls-key-file", "needed with tls-cert-file");
  }
  if (!options.cert_file.empty()) {
    if (!Readable(options.cert_file)) {
      return TlsConfigError(prefix, "tls-cert-file", "cannot read '" + options.cert_file + "'");
    }
    if (!Readable(options.key_file)) {
      return TlsConfigError(prefix, "tls-key-file", "cannot read '" + options.key_file + "'");
    }
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), options.cert_file.c_str()) != 1) {
      return TlsConfigError(prefix, "tls-cert-file", "cannot load '" + options.cert_file +
                                                         "': " + tls::DrainErrors());
    }
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), options.key_file.c_str(), SSL_FILETYPE_PEM) !=
        1) {
      return TlsConfigError(prefix, "tls-key-file", "cannot load '" + options.key_file +
                                                        "': " + tls::DrainErrors());
    }
    if (SSL_CTX_check_private_key(ctx.get()) != 1) {
      return TlsConfigError(prefix, "tls-key-file",
                            "'" + options.key_file + "' does not match the certificate of " +
                                std::string(prefix) + ".tls-cert-file");
    }
  }
  SSL_CTX_set_verify(ctx.get(), options.insecure_skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                     nullptr);

  std::shared_ptr<TlsContext> out(new TlsContext());
  out->options_ = options;
  out->ctx_ = std::move(ctx);
  return std::shared_ptr<const TlsContext>(std::move(out));
}

Result<std::unique_ptr<TlsSession>> TlsSession::Create(const TlsContext& context, int fd,
                                                       const std::string& host) {
  ERR_clear_error();
  std::unique_ptr<TlsSession> s(new TlsSession());
  s->ssl_.reset(SSL_new(context.native()));
  BIO* bio = s->ssl_ ? tls::NewSocketBio(fd) : nullptr;
  if (bio == nullptr) {
    return MakeError(ErrorKind::kConnect, "TLS: " + tls::DrainErrors("out of memory"));
  }
  SSL_set_bio(s->ssl_.get(), bio, bio);  // the SSL owns the BIO from here
  SSL_set_connect_state(s->ssl_.get());

  const TlsOptions& o = context.options();
  const std::string& name = o.server_name.empty() ? host : o.server_name;
  const bool ip = IsIpLiteral(name);
  if (!ip) SSL_set_tlsext_host_name(s->ssl_.get(), name.c_str());
  if (!o.insecure_skip_verify) {
    X509_VERIFY_PARAM* param = SSL_get0_param(s->ssl_.get());
    int ok = 0;
    if (ip) {
      ok = X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      ok = X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
    }
    if (ok != 1) {
      return MakeError(ErrorKind::kConnect, "TLS: cannot verify the name '" + name + "'");
    }
  }
  return s;
}

TlsSession::~TlsSession() = default;

TlsSession::Io TlsSession::Classify(int rc, int saved_errno) {
  switch (SSL_get_error(ssl_.get(), rc)) {
    case SSL_ERROR_WANT_READ: return Io::kWantRead;
    case SSL_ERROR_WANT_WRITE: return Io::kWantWrite;
    case SSL_ERROR_ZERO_RETURN: return Io::kEof;
    case SSL_ERROR_SYSCALL:
      fatal_ = true;
      if (ERR_peek_error() != 0) {
        error_ = tls::DrainErrors();
      } else if (saved_errno != 0) {
        error_ = std::strerror(saved_errno);
      } else {
        return Io::kEof;
      }
      return Io::kError;
    case SSL_ERROR_SSL:
    default: {
      fatal_ = true;
      error_ = tls::DrainErrors();
      long verify = SSL_get_verify_result(ssl_.get());
      if (verify != X509_V_OK && error_.find("certificate verify failed") != std::string::npos) {
        error_ = std::string("certificate verify failed: ") +
                 X509_verify_cert_error_string(verify);
      }
      if (error_.find("wrong version number") != std::string::npos ||
          error_.find("packet length too long") != std::string::npos ||
          error_.find("record layer failure") != std::string::npos) {
        error_ += " (is it a TLS port?)";
      }
      return Io::kError;
    }
  }
}

TlsSession::Io TlsSession::Handshake() {
  ERR_clear_error();
  errno = 0;
  int rc = SSL_do_handshake(ssl_.get());
  if (rc == 1) return Io::kDone;
  Io io = Classify(rc, errno);
  if (io == Io::kEof) {
    error_ = "connection closed during the TLS handshake (is it a TLS port?)";
    fatal_ = true;
    return Io::kError;
  }
  return io;
}

TlsSession::Io TlsSession::Read(char* buf, size_t len, size_t* n) {
  ERR_clear_error();
  errno = 0;
  *n = 0;
  if (SSL_read_ex(ssl_.get(), buf, len, n) == 1) return Io::kDone;
  return Classify(0, errno);
}

TlsSession::Io TlsSession::Write(const char* buf, size_t len, size_t* n) {
  ERR_clear_error();
  errno = 0;
  *n = 0;
  if (SSL_write_ex(ssl_.get(), buf, len, n) == 1) return Io::kDone;
  return Classify(0, errno);
}

void TlsSession::Shutdown() {
  if (!fatal_ && SSL_is_init_finished(ssl_.get())) {
    ERR_clear_error();
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
  }
}

}  // namespace redis_ha::redis
