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
// The socket is plain TCP, or TLS when the credentials carry a TlsContext: OpenSSL then
// runs on the same non-blocking socket (redis/tls.h). The TLS handshake is one more state
// between the TCP connect and "ready"; `Events()` asks for whatever OpenSSL waits for.
// Everything that touches bytes goes through ReadSome/WriteSome, the transport seam.
// Handshake and certificate failures are ErrorKind::kConnect with OpenSSL's reason.
//
// Host names are resolved by the Resolver the connection is given, without blocking:
// `BeginConnect()` may leave the connection resolving (no socket yet; `resolving()`), and
// the owner calls `ContinueResolve()` when the resolver's notify_fd() is readable or on
// its own tick until the socket is opened or the resolution failed. Without a resolver,
// names are resolved synchronously (tools and tests).
//
// Thread-safety: none. One thread owns a Connection at a time.
#ifndef REDIS_HA_REDIS_CONNECTION_H_
#define REDIS_HA_REDIS_CONNECTION_H_

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "redis/reply.h"
#include "redis/resolver.h"
#include "util/status.h"

struct redisReader;

namespace redis_ha::redis {

class TlsContext;
class TlsSession;

// host:port as dialled. Hosts may be names, IPv4 or IPv6 literals.
struct Endpoint {
  std::string host;
  int port = 0;

  std::string ToString() const;  // "host:port", "[v6]:port"
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
  friend auto operator<=>(const Endpoint&, const Endpoint&) = default;
};

// "host:port", or "[host]:port" when host is an IPv6 literal, in one allocation.
std::string JoinHostPort(std::string_view host, int port);

// Parses "host:port", "[v6]:port". Port must be 1..65535.
Result<Endpoint> ParseEndpoint(std::string_view text);

// How a connection proves who it is: AUTH right after connecting, and the TLS context
// (CA, client certificate) when the role uses TLS. The password never appears in logs,
// errors or metrics.
struct Credentials {
  std::string username;  // empty: legacy AUTH <password>
  std::string password;  // empty: no AUTH
  std::shared_ptr<const TlsContext> tls;  // null: plain TCP
  bool empty() const { return password.empty(); }
  // Same user, password and TLS context (compared by identity: a reload builds new ones).
  friend bool operator==(const Credentials&, const Credentials&) = default;
};

// Bounds on one reply. Array elements are counted over the whole reply (nested arrays
// included), and each element is also charged sizeof(Reply) bytes against max_reply_bytes,
// so a 77-byte header of nested maximal arrays cannot make the reader allocate gigabytes.
struct Limits {
  size_t max_reply_bytes = 64 << 20;   // bytes buffered for one reply
  int max_array_elements = 1 << 20;    // elements of one array
};

// What hiredis' reader object functions see (task->privdata): the limits, the array
// elements allocated so far for the reply being decoded, and the spent replies whose
// memory the next ones are decoded into. Internal to Connection.
struct ReaderBudget {
  const Limits* limits = nullptr;
  size_t elements = 0;
  std::deque<Reply>* spare = nullptr;
};

class Connection {
 public:
  Connection(Endpoint endpoint, Credentials credentials, Limits limits = {},
             std::shared_ptr<Resolver> resolver = nullptr);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const Endpoint& endpoint() const { return endpoint_; }
  int fd() const { return fd_; }
  bool connected() const { return state_ == State::kReady; }
  bool open() const { return fd_ >= 0; }
  // Waiting for the resolver; open() is false, Events() is 0.
  bool resolving() const { return state_ == State::kResolving; }
  // Same user, password and TLS context (a reload builds new contexts, so connections
  // are re-opened with the new certificates).
  bool UsesCredentials(const Credentials& c) const { return c == credentials_; }

  // Starts a non-blocking connect if the socket is closed. AUTH (when credentials are
  // set) is queued first and its reply consumed internally: an AUTH error surfaces as
  // ErrorKind::kAuth from HandleEvents().
  Status BeginConnect();

  // While resolving: opens the socket once the resolver has the address (the connection
  // then proceeds as after BeginConnect), fails if it has an error, else stays resolving.
  Status ContinueResolve();

  // Queues one command; it is sent when the socket is writable.
  // Each queued command's reply is awaited; a reply no command asked for fails the
  // connection (kProtocol), so a server that streams replies can neither keep the reading
  // loop going nor fill memory.
  void Queue(const std::vector<std::string>& args);
  // Queues `count` commands already encoded in RESP (see AppendCommand).
  void QueueEncoded(std::string_view commands, size_t count) {
    out_.append(commands);
    awaited_ += count;
  }
  // For a subscription: the server sends messages no command asked for. Up to
  // kMaxUnreadPushes of them may wait to be taken; one more fails the connection.
  void AcceptPushes() { accept_pushes_ = true; }
  static constexpr size_t kMaxUnreadPushes = 100000;

  // The poll(2) events this connection waits for (POLLIN and/or POLLOUT; during a TLS
  // handshake, whichever OpenSSL needs).
  short Events() const;

  // Performs the I/O allowed by `revents`. On error the connection is closed.
  Status HandleEvents(short revents);

  // Replies decoded so far, in command order (the AUTH reply is not among them).
  bool HasReply() const { return !replies_.empty(); }
  Reply PopReply();
  // Kept replies plus those handed to the sink since TakeSunk().
  size_t PendingReplies() const { return replies_.size() + sunk_; }

  // While set, each reply (but AUTH's and a subscription's messages) goes to `sink` as
  // soon as it is decoded instead of being kept for PopReply, and its memory then decodes
  // the next reply, still in the cache. A large answer (a Sentinel's tables for every
  // group, ~36 000 nodes at 100 groups) is then never held whole, and what reads it reads
  // each reply while it is fresh. The sink must not call back into this connection. It
  // stays set across Close(); the owner clears it.
  // The last kSinkSpares replies given to the sink are kept as spares, and the next
  // replies decode into those of their own shape (see NewNode). An answer that repeats a
  // few shapes (a Sentinel's CKQUORUM, REPLICAS and SENTINELS for each group) then
  // allocates nothing; a large reply (more than kSinkLargeReply elements: SENTINEL MASTERS)
  // keeps its tree for the next answer's.
  using ReplySink = std::function<void(Reply& reply)>;
  void SetReplySink(ReplySink sink);
  static constexpr size_t kSinkSpares = 7;
  static constexpr size_t kSinkLargeReply = 8;
  // How many replies went to the sink since the last call (or Close()); resets the count.
  size_t TakeSunk() { return std::exchange(sunk_, size_t{0}); }
  // Hands spent replies back. The next replies are decoded into their memory (strings and
  // arrays keep their capacity), so a server that answers the same commands every cycle
  // costs no allocation to decode. Only the latest replies handed back are kept (spares
  // left unused from before are freed), at most kMaxSpareReplies; Close() keeps them.
  void Recycle(std::vector<Reply>&& replies);
  // Frees the spares (those the sink kept, after an unusually large or failed answer).
  void DropSpares();
  // Frees the reading buffer if nothing is in it (it keeps the size of the largest read
  // reply otherwise: ~10 KB per data node, 3 MB over 300 of them between two cycles).
  void ReleaseReadBuffer();
  static constexpr size_t kMaxSpareReplies = 4096;
  size_t spare_replies() const { return spare_.size(); }  // for tests
  // The peer closed the connection; replies decoded before that are still available.
  // The owner takes them and then calls Close().
  bool eof() const { return eof_; }

  // Application bytes (decrypted with TLS) sent and received since construction (for the
  // benchmark and load metrics).
  uint64_t bytes_sent() const { return bytes_sent_; }
  uint64_t bytes_received() const { return bytes_received_; }

  // Closes the socket and forgets queued output and partial input.
  void Close();

  // Counts the sockets this connection has opened: an owner that registers fd() with an
  // epoll set tells a new socket from an old one that got the same descriptor number.
  uint64_t socket_generation() const { return socket_generation_; }
  // The owner's bookkeeping for its epoll set (ConnectionPool): the socket it registered,
  // by descriptor and generation. The connection itself never reads or writes it.
  struct PollerSlot {
    int fd = -1;
    uint64_t generation = 0;
  };
  PollerSlot poller_slot;

 private:
  enum class State { kClosed, kResolving, kConnecting, kHandshaking, kReady };
  enum class Io { kOk, kWouldBlock, kEof, kError };

  Status OpenSocket(SocketAddress addr);
  Status FinishConnect();
  Status ContinueHandshake();
  Status Flush();
  // Reads what the socket holds. `peer_closed`: the poller saw the peer's FIN (POLLHUP),
  // so reading goes on to the end of the stream even past a short read.
  Status ReadAvailable(bool peer_closed);
  // Feeds `n` received bytes to the reader and queues every reply they complete.
  Status FeedReader(const char* data, size_t n);
  static constexpr size_t kFeedPiece = 2048;
  Status Fail(ErrorKind kind, std::string message);
  bool NewReader();  // a fresh hiredis reader building Reply trees; false: out of memory

  // Transport seam: plain TCP or TLS. kOk moves *n > 0 bytes; kError sets *error.
  Io ReadSome(char* buf, size_t len, size_t* n, std::string* error);
  Io WriteSome(const char* buf, size_t len, size_t* n, std::string* error);

  struct ReaderDeleter {
    void operator()(::redisReader* reader) const;
  };

  Endpoint endpoint_;
  Credentials credentials_;
  Limits limits_;
  std::shared_ptr<Resolver> resolver_;
  ReaderBudget budget_;
  int fd_ = -1;
  State state_ = State::kClosed;
  std::unique_ptr<TlsSession> tls_;
  bool tls_wants_read_ = false;   // handshake waits for POLLIN (else POLLOUT)
  bool read_wants_write_ = false;  // TLS read needs the socket writable first
  uint64_t received_at_connect_ = 0;
  uint64_t socket_generation_ = 0;
  std::unique_ptr<::redisReader, ReaderDeleter> reader_;
  std::string out_;
  size_t out_pos_ = 0;
  std::deque<Reply> replies_;
  std::deque<Reply> spare_;  // see Recycle()
  bool awaiting_auth_reply_ = false;
  size_t awaited_ = 0;         // replies of queued commands not yet taken
  ReplySink sink_;             // see SetReplySink
  size_t sunk_ = 0;            // replies given to sink_ since TakeSunk()
  bool accept_pushes_ = false;  // a subscription (see AcceptPushes)
  bool eof_ = false;
  size_t bytes_in_partial_reply_ = 0;
  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
};

// True when an error reply means authentication is required or was refused.
bool IsAuthError(const Reply& reply);

}  // namespace redis_ha::redis

#endif  // REDIS_HA_REDIS_CONNECTION_H_
