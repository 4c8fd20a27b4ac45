// Connection: one non-blocking client connection to a Redis or Sentinel server.
//
// Contract: the connection never blocks. The owner drives it from a poll() loop:
// `BeginConnect()`, then `Events()` says which poll events it waits for and
// `HandleEvents()` performs the I/O those events allow. Commands are queued with
// `Queue()` and go out pipelined; decoded replies are taken with `PopReply()`.
// Any error closes the socket; the next `BeginConnect()` reconnects. Replies are decoded
// by hiredis' redisReader straight into `Reply` trees, bounded by `Limits` so a hostile
// server cannot make us allocate without bound.
//
// The socket is plain TCP. Everything that touches bytes goes through ReadSome/WriteSome,
// the seam where a TLS transport plugs in.
//
// Thread-safety: none. One thread owns a Connection at a time.
#ifndef REDIS_HA_REDIS_CONNECTION_H_
#define REDIS_HA_REDIS_CONNECTION_H_

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "redis/reply.h"
#include "util/status.h"

struct redisReader;

namespace redis_ha::redis {

// host:port as dialled. Hosts may be names, IPv4 or IPv6 literals.
struct Endpoint {
  std::string host;
  int port = 0;

  std::string ToString() const;  // "host:port", "[v6]:port"
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
  friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
};

// Parses "host:port", "[v6]:port". Port must be 1..65535.
Result<Endpoint> ParseEndpoint(std::string_view text);

// Credentials sent with AUTH right after connecting. The password never appears in
// logs, errors or metrics.
struct Credentials {
  std::string username;  // empty: legacy AUTH <password>
  std::string password;  // empty: no AUTH
  bool empty() const { return password.empty(); }
};

struct Limits {
  size_t max_reply_bytes = 64 << 20;   // bytes buffered for one reply
  int max_array_elements = 1 << 20;    // elements of one array
};

class Connection {
 public:
  Connection(Endpoint endpoint, Credentials credentials, Limits limits = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const Endpoint& endpoint() const { return endpoint_; }
  int fd() const { return fd_; }
  bool connected() const { return state_ == State::kReady; }
  bool open() const { return fd_ >= 0; }
  bool UsesCredentials(const Credentials& c) const {
    return c.username == credentials_.username && c.password == credentials_.password;
  }

  // Starts a non-blocking connect if the socket is closed. AUTH (when credentials are
  // set) is queued first and its reply consumed internally: an AUTH error surfaces as
  // ErrorKind::kAuth from HandleEvents().
  Status BeginConnect();

  // Queues one command; it is sent when the socket is writable.
  void Queue(const std::vector<std::string>& args);

  // The poll(2) events this connection waits for (POLLIN and/or POLLOUT).
  short Events() const;

  // Performs the I/O allowed by `revents`. On error the connection is closed.
  Status HandleEvents(short revents);

  // Replies decoded so far, in command order (the AUTH reply is not among them).
  bool HasReply() const { return !replies_.empty(); }
  Reply PopReply();
  size_t PendingReplies() const { return replies_.size(); }
  // The peer closed the connection; replies decoded before that are still available.
  // The owner takes them and then calls Close().
  bool eof() const { return eof_; }

  // Bytes sent and received since construction (for the benchmark and load metrics).
  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t bytes_received() const { return bytes_received_; }

  // Closes the socket and forgets queued output and partial input.
  void Close();

 private:
  enum class State { kClosed, kConnecting, kReady };

  Status FinishConnect();
  Status Flush();
  Status ReadAvailable();
  Status Fail(ErrorKind kind, std::string message);

  // Transport seam: plain TCP today.
  long ReadSome(char* buf, size_t len);         // >0 bytes, 0 EOF, -1 error/EAGAIN
  long WriteSome(const char* buf, size_t len);  // >=0 bytes, -1 error/EAGAIN

  struct ReaderDeleter {
    void operator()(::redisReader* reader) const;
  };

  Endpoint endpoint_;
  Credentials credentials_;
  Limits limits_;
  int fd_ = -1;
  State state_ = State::kClosed;
  std::unique_ptr<::redisReader, ReaderDeleter> reader_;
  std::string out_;
  size_t out_pos_ = 0;
  std::deque<Reply> replies_;
  bool awaiting_auth_reply_ = false;
  bool eof_ = false;
  size_t bytes_in_partial_reply_ = 0;
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
};

// True when an error reply means authentication is required or was refused.
bool IsAuthError(const Reply& reply);

}  // namespace redis_ha::redis

#endif  // REDIS_HA_REDIS_CONNECTION_H_
