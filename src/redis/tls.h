// TLS over the exporter's own non-blocking sockets, with OpenSSL.
//
// hiredis 0.14 has no TLS, so Connection runs OpenSSL on its socket itself and feeds the
// decrypted bytes to the redisReader. This file holds:
//
// - TlsOptions / TlsContext: a client SSL_CTX per role (data nodes, Sentinels), built once
//   from the configuration (startup, reload) and shared by every connection of that role.
//   Certificate verification is on unless `insecure_skip_verify`; the peer's name (the
//   dialled host, or `server_name`) is checked against the certificate's DNS or IP SANs.
// - TlsSession: one SSL object on a connected non-blocking socket. Every call returns at
//   once and says whether OpenSSL needs the socket readable or writable to go on, so the
//   owner's poll(2) loop can wait for exactly that.
// - Small RAII aliases and helpers shared with the HTTP server's TLS listener (a socket BIO
//   that never raises SIGPIPE, the OpenSSL error queue as text).
//
// Thread-safety: a TlsContext is immutable after Create() and may be shared between
// threads (OpenSSL's SSL_CTX is safe for concurrent SSL_new). A TlsSession belongs to one
// thread at a time.
#ifndef REDIS_HA_REDIS_TLS_H_
#define REDIS_HA_REDIS_TLS_H_

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace redis_ha::tls {

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free_all(b); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;
using SslPtr = std::unique_ptr<SSL, SslDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

// Everything in this thread's OpenSSL error queue as "; "-joined reason strings (the
// queue is emptied). `fallback` when the queue is empty.
std::string DrainErrors(std::string_view fallback = "unknown TLS error");

// A socket BIO on `fd` (not owned: freeing the BIO does not close it) whose writes use
// send(MSG_NOSIGNAL), so a peer that went away never raises SIGPIPE.
BIO* NewSocketBio(int fd);

// Loads every PEM certificate of `pem` (text) into `store`. False when there is none or
// one does not parse.
bool AddPemCertificates(X509_STORE* store, std::string_view pem, std::string* error);

}  // namespace redis_ha::tls

namespace redis_ha::redis {

struct TlsOptions {
  bool enabled = false;
  std::string ca_file;      // PEM CA bundle; empty: the system's default store
  std::string cert_file;    // client certificate (chain) for tls-auth-clients
  std::string key_file;     // its private key
  std::string server_name;  // verified (and sent as SNI) instead of the dialled host
  bool insecure_skip_verify = false;
  friend bool operator==(const TlsOptions&, const TlsOptions&) = default;
};

class TlsContext {
 public:
  // Reads the files and builds the SSL_CTX. `flag_prefix` ("--redis") names the options
  // in error messages ("--redis.tls-ca-file: cannot load '/x': ...").
  static Result<std::shared_ptr<const TlsContext>> Create(const TlsOptions& options,
                                                          std::string_view flag_prefix);

  const TlsOptions& options() const { return options_; }
  SSL_CTX* native() const { return ctx_.get(); }

 private:
  TlsContext() = default;
  TlsOptions options_;
  tls::SslCtxPtr ctx_;
};

// One client TLS session on a connected, non-blocking socket (not owned).
class TlsSession {
 public:
  enum class Io {
    kDone,       // the call completed (bytes moved, handshake finished)
    kWantRead,   // call again when the socket is readable
    kWantWrite,  // call again when the socket is writable
    kEof,        // the peer closed the connection (close_notify or TCP FIN)
    kError,      // see error()
  };

  // `host` is the dialled host; it is verified unless the context sets a server name.
  static Result<std::unique_ptr<TlsSession>> Create(const TlsContext& context, int fd,
                                                    const std::string& host);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  Io Handshake();
  Io Read(char* buf, size_t len, size_t* n);
  Io Write(const char* buf, size_t len, size_t* n);
  // A best-effort close_notify (one non-blocking attempt).
  void Shutdown();

  // The reason of the last kError: certificate verification results are spelled out
  // ("certificate verify failed: unable to get local issuer certificate").
  const std::string& error() const { return error_; }

 private:
  TlsSession() = default;
  Io Classify(int rc, int saved_errno);

  tls::SslPtr ssl_;
  std::string error_;
  bool fatal_ = false;  // after a fatal error OpenSSL forbids SSL_shutdown
};

}  // namespace redis_ha::redis

#endif  // REDIS_HA_REDIS_TLS_H_
