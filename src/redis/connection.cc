#include "redis/connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "redis/tls.h"

namespace redis_ha::redis {

std::string JoinHostPort(std::string_view host, int port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  char digits[12];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), port);
  std::string out;
  // Exactly the size: "127.0.0.1:52221" then fits the string itself, with no allocation
  // (this runs for every address of every group, every cycle).
  out.reserve(host.size() + (v6 ? 3 : 1) + static_cast<size_t>(end - digits));
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  out += ':';
  out.append(digits, end);
  return out;
}

std::string Endpoint::ToString() const { return JoinHostPort(host, port); }

Result<Endpoint> ParseEndpoint(std::string_view text) {
  std::string_view host, port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() ||
        text[close + 1] != ':') {
      return MakeError(ErrorKind::kConfig,
                       "address '" + std::string(text) + "' is not [host]:port");
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return MakeError(ErrorKind::kConfig,
                       "address '" + std::string(text) + "' is not host:port");
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return MakeError(ErrorKind::kConfig, "IPv6 address '" + std::string(text) +
                                               "' must be written [host]:port");
    }
  }
  int port = 0;
  auto [ptr, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (host.empty() || ec != std::errc() ||
      ptr != port_text.data() + port_text.size() || port < 1 || port > 65535) {
    return MakeError(ErrorKind::kConfig,
                     "address '" + std::string(text) + "' needs a host and a port 1-65535");
  }
  return Endpoint{std::string(host), port};
}

bool IsAuthError(const Reply& reply) {
  if (!reply.is_error()) return false;
  const std::string& s = reply.str;
  return s.starts_with("NOAUTH") || s.starts_with("WRONGPASS") ||
         s.starts_with("NOPERM") ||
         s.find("invalid password") != std::string::npos ||
         s.find("AUTH <password> called without any password") != std::string::npos;
}

// ---- hiredis reader building Reply trees directly ----

namespace {

// A node may be a recycled one (Connection::Recycle, or a reply the sink had) holding an
// earlier reply's values: every Create* sets all of its fields, keeping the capacity of its
// string and array. A root takes the first of the next few spares of its own shape (an
// array of `elements`, or a string), else one of its kind; an array never takes a string's
// spare nor a string an array's (that would free or build a whole tree of nodes), so an
// answer whose replies change shape (a Sentinel's MASTERS, then each group's CKQUORUM,
// REPLICAS, SENTINELS) still decodes each into a tree like its own.
Reply* NewNode(const redisReadTask* task, bool array, size_t elements) {
  if (task->parent != nullptr) {
    auto* parent = static_cast<Reply*>(task->parent->obj);
    return &parent->elements[static_cast<size_t>(task->idx)];
  }
  // The root: owned by the reader until GetReply hands it over.
  auto* budget = static_cast<ReaderBudget*>(task->privdata);
  if (budget != nullptr && budget->spare != nullptr && !budget->spare->empty()) {
    std::deque<Reply>& spare = *budget->spare;
    const size_t look = std::min(spare.size(), Connection::kSinkSpares + 1);
    size_t pick = look;
    for (size_t i = 0; i < look; ++i) {
      const Reply& s = spare[i];
      if (s.is_array() != array) continue;
      if (!array || s.elements.size() == elements) {
        pick = i;
        break;
      }
      // Of its kind: the first, unless one of its shape follows. A small array never takes
      // a large tree (kept for the next large reply: it would be cut down, then rebuilt).
      if (pick == look && (s.elements.size() <= Connection::kSinkLargeReply ||
                           elements > Connection::kSinkLargeReply)) {
        pick = i;
      }
    }
    if (pick < look) {
      auto* r = new Reply(std::move(spare[pick]));
      spare.erase(spare.begin() + static_cast<std::ptrdiff_t>(pick));
      return r;
    }
  }
  return new Reply();
}

void* CreateString(const redisReadTask* task, char* str, size_t len) {
  Reply* r = NewNode(task, /*array=*/false, 0);
  switch (task->type) {
    case REDIS_REPLY_ERROR: r->type = ReplyType::kError; break;
    case REDIS_REPLY_STATUS: r->type = ReplyType::kStatus; break;
    default: r->type = ReplyType::kString; break;
  }
  if (len > r->str.capacity()) {
    // A recycled string too small for this reply grows to its size and an eighth, not to
    // twice its old size as assign() would: an INFO reply grows by a byte now and then.
    std::string grown;
    grown.reserve(len + len / 8);
    r->str.swap(grown);
  }
  r->str.assign(str, len);
  r->integer = 0;
  r->elements.clear();
  return r;
}

void* CreateArray(const redisReadTask* task, int elements) {
  auto* budget = static_cast<ReaderBudget*>(task->privdata);
  if (elements < 0) return nullptr;
  if (budget != nullptr && budget->limits != nullptr) {
    const size_t total = budget->elements + static_cast<size_t>(elements);
    if (total > static_cast<size_t>(budget->limits->max_array_elements) ||
        total * sizeof(Reply) > budget->limits->max_reply_bytes) {
      return nullptr;  // the reader turns this into an error; nothing is allocated
    }
    budget->elements = total;
  }
  Reply* r = NewNode(task, /*array=*/true, static_cast<size_t>(elements));
  r->type = ReplyType::kArray;
  r->str.clear();
  r->integer = 0;
  r->elements.resize(static_cast<size_t>(elements));
  return r;
}

void* CreateInteger(const redisReadTask* task, long long value) {
  Reply* r = NewNode(task, /*array=*/false, 0);
  r->type = ReplyType::kInteger;
  r->str.clear();
  r->integer = value;
  r->elements.clear();
  return r;
}

void* CreateNil(const redisReadTask* task) {
  Reply* r = NewNode(task, /*array=*/false, 0);
  r->type = ReplyType::kNil;
  r->str.clear();
  r->integer = 0;
  r->elements.clear();
  return r;
}

void FreeObject(void* obj) { delete static_cast<Reply*>(obj); }

redisReplyObjectFunctions kReplyFunctions = {CreateString, CreateArray, CreateInteger,
                                            CreateNil, FreeObject};

}  // namespace

void Connection::ReaderDeleter::operator()(::redisReader* reader) const {
  redisReaderFree(reader);
}

// ---- Connection ----

Connection::Connection(Endpoint endpoint, Credentials credentials, Limits limits,
                       std::shared_ptr<Resolver> resolver)
    : endpoint_(std::move(endpoint)),
      credentials_(std::move(credentials)),
      limits_(limits),
      resolver_(std::move(resolver)) {}

Connection::~Connection() { Close(); }

void Connection::Close() {
  if (tls_) tls_->Shutdown();
  tls_.reset();
  tls_wants_read_ = false;
  read_wants_write_ = false;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  state_ = State::kClosed;
  reader_.reset();
  out_.clear();
  out_pos_ = 0;
  replies_.clear();
  awaited_ = 0;
  sunk_ = 0;
  awaiting_auth_reply_ = false;
  eof_ = false;
  bytes_in_partial_reply_ = 0;
}

Status Connection::Fail(ErrorKind kind, std::string message) {
  Close();
  return MakeError(kind, std::move(message));
}

Status Connection::BeginConnect() {
  if (state_ != State::kClosed) return Status::Ok();

  out_.clear();
  out_pos_ = 0;
  if (!credentials_.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!credentials_.username.empty()) auth.push_back(credentials_.username);
    auth.push_back(credentials_.password);
    AppendCommand(auth, out_);
    awaiting_auth_reply_ = true;
  }

  SocketAddress addr;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr.storage);
  if (inet_pton(AF_INET, endpoint_.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    addr.length = sizeof(sockaddr_in);
    return OpenSocket(addr);
  }
  if (inet_pton(AF_INET6, endpoint_.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    addr.length = sizeof(sockaddr_in6);
    return OpenSocket(addr);
  }
  if (resolver_ == nullptr) {
    Result<SocketAddress> r = Resolver::SystemResolve(endpoint_.host);
    if (!r) return Fail(r.error().kind, r.error().message);
    return OpenSocket(*r);
  }
  state_ = State::kResolving;
  return ContinueResolve();
}

Status Connection::ContinueResolve() {
  if (state_ != State::kResolving) return Status::Ok();
  std::optional<Result<SocketAddress>> r = resolver_->Lookup(endpoint_.host);
  if (!r) return Status::Ok();  // still resolving
  if (!*r) return Fail(r->error().kind, r->error().message);
  return OpenSocket(r->value());
}

Status Connection::OpenSocket(SocketAddress addr) {
  if (addr.storage.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&addr.storage)->sin_port =
        htons(static_cast<uint16_t>(endpoint_.port));
  } else if (addr.storage.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&addr.storage)->sin6_port =
        htons(static_cast<uint16_t>(endpoint_.port));
  } else {
    return Fail(ErrorKind::kConnect, "cannot resolve " + endpoint_.host + ": not an IP address");
  }

  fd_ = ::socket(addr.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return Fail(ErrorKind::kConnect, std::string("socket: ") + strerror(errno));
  ++socket_generation_;
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

  if (!NewReader()) return Fail(ErrorKind::kConnect, "out of memory");

  received_at_connect_ = bytes_received_;
  int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr.storage), addr.length);
  if (rc == 0) {
    return FinishConnect();
  } else if (errno == EINPROGRESS) {
    state_ = State::kConnecting;
  } else {
    return Fail(ErrorKind::kConnect,
                "connect " + endpoint_.ToString() + ": " + strerror(errno));
  }
  return Status::Ok();
}

void Connection::Queue(const std::vector<std::string>& args) {
  AppendCommand(args, out_);
  ++awaited_;
}

short Connection::Events() const {
  switch (state_) {
    case State::kClosed: return 0;
    case State::kResolving: return 0;
    case State::kConnecting: return POLLOUT;
    case State::kHandshaking: return tls_wants_read_ ? POLLIN : POLLOUT;
    case State::kReady:
      if (eof_) return 0;
      return static_cast<short>(
          POLLIN | (out_pos_ < out_.size() || read_wants_write_ ? POLLOUT : 0));
  }
  return 0;
}

Status Connection::FinishConnect() {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    return Fail(ErrorKind::kConnect, "connect " + endpoint_.ToString() + ": " + strerror(err));
  }
  if (credentials_.tls == nullptr) {
    state_ = State::kReady;
    return Status::Ok();
  }
  auto session = TlsSession::Create(*credentials_.tls, fd_, endpoint_.host);
  if (!session) return Fail(ErrorKind::kConnect, session.error().message);
  tls_ = std::move(*session);
  state_ = State::kHandshaking;
  tls_wants_read_ = false;
  return ContinueHandshake();
}

Status Connection::ContinueHandshake() {
  switch (tls_->Handshake()) {
    case TlsSession::Io::kDone:
      state_ = State::kReady;
      return Status::Ok();
    case TlsSession::Io::kWantRead:
      tls_wants_read_ = true;
      return Status::Ok();
    case TlsSession::Io::kWantWrite:
      tls_wants_read_ = false;
      return Status::Ok();
    case TlsSession::Io::kEof:
    case TlsSession::Io::kError:
      break;
  }
  return Fail(ErrorKind::kConnect,
              "TLS handshake with " + endpoint_.ToString() + " failed: " + tls_->error());
}

Status Connection::HandleEvents(short revents) {
  if (state_ == State::kClosed) return MakeError(ErrorKind::kConnect, "not connected");
  if (state_ == State::kResolving) return ContinueResolve();
  if (state_ == State::kConnecting) {
    if ((revents & (POLLOUT | POLLERR | POLLHUP)) == 0) return Status::Ok();
    if (Status s = FinishConnect(); !s) return s;
    if (state_ != State::kReady) return Status::Ok();  // TLS handshake under way
    revents = POLLOUT;  // try to send right away
  } else if (state_ == State::kHandshaking) {
    if ((revents & (POLLIN | POLLOUT | POLLERR | POLLHUP)) == 0) return Status::Ok();
    if (Status s = ContinueHandshake(); !s) return s;
    if (state_ != State::kReady) return Status::Ok();
    revents = POLLOUT;
  }
  if ((revents & (POLLIN | POLLHUP | POLLERR)) || (read_wants_write_ && (revents & POLLOUT))) {
    if (Status s = ReadAvailable((revents & POLLHUP) != 0); !s) return s;
  }
  if (state_ == State::kReady && !eof_ && out_pos_ < out_.size()) {
    if (Status s = Flush(); !s) return s;
  }
  return Status::Ok();
}

Connection::Io Connection::ReadSome(char* buf, size_t len, size_t* n, std::string* error) {
  *n = 0;
  if (tls_) {
    read_wants_write_ = false;
    switch (tls_->Read(buf, len, n)) {
      case TlsSession::Io::kDone: return Io::kOk;
      case TlsSession::Io::kWantRead: return Io::kWouldBlock;
      case TlsSession::Io::kWantWrite:
        read_wants_write_ = true;
        return Io::kWouldBlock;
      case TlsSession::Io::kEof: return Io::kEof;
      case TlsSession::Io::kError:
        *error = "TLS: " + tls_->error();
        return Io::kError;
    }
  }
  for (;;) {
    ssize_t r = ::recv(fd_, buf, len, 0);
    if (r > 0) {
      *n = static_cast<size_t>(r);
      return Io::kOk;
    }
    if (r == 0) return Io::kEof;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Io::kWouldBlock;
    *error = strerror(errno);
    return Io::kError;
  }
}

Connection::Io Connection::WriteSome(const char* buf, size_t len, size_t* n,
                                     std::string* error) {
  *n = 0;
  if (tls_) {
    switch (tls_->Write(buf, len, n)) {
      case TlsSession::Io::kDone: return Io::kOk;
      case TlsSession::Io::kWantRead:  // POLLIN is always polled while ready
      case TlsSession::Io::kWantWrite: return Io::kWouldBlock;
      case TlsSession::Io::kEof:
        *error = "TLS: connection closed";
        return Io::kError;
      case TlsSession::Io::kError:
        *error = "TLS: " + tls_->error();
        return Io::kError;
    }
  }
  for (;;) {
    ssize_t r = ::send(fd_, buf, len, MSG_NOSIGNAL);
    if (r >= 0) {
      *n = static_cast<size_t>(r);
      return Io::kOk;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Io::kWouldBlock;
    *error = strerror(errno);
    return Io::kError;
  }
}

Status Connection::Flush() {
  while (out_pos_ < out_.size()) {
    size_t n = 0;
    std::string error;
    Io io = WriteSome(out_.data() + out_pos_, out_.size() - out_pos_, &n, &error);
    if (io == Io::kWouldBlock) return Status::Ok();
    if (io != Io::kOk) {
      if (tls_ != nullptr && bytes_received_ == received_at_connect_) {
        // TLS 1.3 servers check client certificates after our side of the handshake is
        // done: their alert may already wait in the socket and says more than EPIPE.
        char probe[512];
        size_t n = 0;
        std::string alert;
        if (ReadSome(probe, sizeof(probe), &n, &alert) == Io::kError &&
            tls_->error().find("alert") != std::string::npos) {
          error = tls_->error();
        }
        return Fail(ErrorKind::kConnect, "TLS connection to " + endpoint_.ToString() +
                                             " refused by the server: " + error);
      }
      return Fail(ErrorKind::kProtocol, "write to " + endpoint_.ToString() + ": " + error);
    }
    out_pos_ += n;
    bytes_sent_ += n;
  }
  out_.clear();
  out_pos_ = 0;
  return Status::Ok();
}

Status Connection::ReadAvailable(bool peer_closed) {
  char buf[16384];
  for (;;) {
    size_t n = 0;
    std::string error;
    Io io = ReadSome(buf, sizeof(buf), &n, &error);
    if (io == Io::kEof) {
      eof_ = true;  // the owner decides: complete replies first, else an error
      break;
    }
    if (io == Io::kWouldBlock) break;
    if (io == Io::kError) {
      // A TLS alert before the first reply byte is the server refusing us after the
      // handshake (TLS 1.3 checks client certificates then): a connect failure.
      if (tls_ != nullptr && bytes_received_ == received_at_connect_) {
        return Fail(ErrorKind::kConnect, "TLS connection to " + endpoint_.ToString() +
                                             " refused by the server: " + tls_->error());
      }
      // A new connection reset before its first reply byte reached a listening socket that
      // was going away (a process exiting): as good as refused.
      if (bytes_received_ == received_at_connect_) {
        return Fail(ErrorKind::kConnect, "connection to " + endpoint_.ToString() +
                                             " reset before any reply: " + error);
      }
      return Fail(ErrorKind::kProtocol, "read from " + endpoint_.ToString() + ": " + error);
    }
    bytes_received_ += static_cast<uint64_t>(n);
    // hiredis' reader moves the unread rest of its buffer to the front after each reply it
    // completes, so feeding it all 16 KB at once would copy up to 16 KB per small reply (a
    // Sentinel's pipelined tables are ~300 replies of ~1 KB). Fed in pieces, the rest is
    // at most one piece.
    for (size_t at = 0; at < n; at += kFeedPiece) {
      Status s = FeedReader(buf + at, std::min(kFeedPiece, n - at));
      if (!s.ok()) return s;
    }
    // A short read emptied the socket: whatever comes next is a new readiness edge for
    // the poller, so asking again now would only cost a recv(2) that says EAGAIN (one per
    // server per cycle). Not so with TLS (OpenSSL may hold decrypted bytes the poller cannot
    // see), nor when the peer's FIN came with the data: its edge is already spent, and only
    // the next recv(2) says end of stream.
    if (tls_ == nullptr && !peer_closed && n < sizeof(buf)) break;
  }
  return Status::Ok();
}

Status Connection::FeedReader(const char* data, size_t n) {
  bytes_in_partial_reply_ += n;
  if (redisReaderFeed(reader_.get(), data, n) != REDIS_OK) {
    return Fail(ErrorKind::kProtocol, "reader: out of memory");
  }
  for (;;) {
    void* obj = nullptr;
    if (redisReaderGetReply(reader_.get(), &obj) != REDIS_OK) {
      std::string why = reader_->errstr;
      if (why.find("memory") != std::string::npos) why = "array too large";
      return Fail(ErrorKind::kProtocol, "bad reply from " + endpoint_.ToString() + ": " + why);
    }
    if (obj == nullptr) break;
    std::unique_ptr<Reply> reply(static_cast<Reply*>(obj));
    bytes_in_partial_reply_ = reader_->len - reader_->pos;
    budget_.elements = 0;  // the next reply starts its own count
    if (awaiting_auth_reply_) {
      awaiting_auth_reply_ = false;
      if (reply->is_error()) {
        // The server's message names no secret ("WRONGPASS invalid username-password pair").
        return Fail(ErrorKind::kAuth,
                    "AUTH rejected by " + endpoint_.ToString() + ": " + reply->str.substr(0, 120));
      }
      continue;
    }
    if (sink_ && !accept_pushes_) {
      if (awaited_ == 0) {
        return Fail(ErrorKind::kProtocol,
                    "a reply from " + endpoint_.ToString() + " that no command asked for");
      }
      --awaited_;
      ++sunk_;
      sink_(*reply);
      spare_.push_back(std::move(*reply));
      if (spare_.size() > kSinkSpares) {
        // The oldest small one goes: a large tree (a Sentinel's SENTINEL MASTERS, once
        // per answer) stays for the next answer's.
        auto old = std::find_if(spare_.begin(), spare_.end(), [](const Reply& r) {
          return r.elements.size() <= kSinkLargeReply;
        });
        spare_.erase(old != spare_.end() ? old : spare_.begin());
      }
      continue;
    }
    replies_.push_back(std::move(*reply));
    if (accept_pushes_ ? replies_.size() > kMaxUnreadPushes : replies_.size() > awaited_) {
      return Fail(ErrorKind::kProtocol,
                  accept_pushes_
                      ? "more than " + std::to_string(kMaxUnreadPushes) +
                            " unread messages from " + endpoint_.ToString()
                      : "a reply from " + endpoint_.ToString() + " that no command asked for");
    }
  }
  if (bytes_in_partial_reply_ > limits_.max_reply_bytes) {
    return Fail(ErrorKind::kProtocol, "reply from " + endpoint_.ToString() + " exceeds " +
                                          std::to_string(limits_.max_reply_bytes) + " bytes");
  }
  return Status::Ok();
}

bool Connection::NewReader() {
  reader_.reset(redisReaderCreateWithFunctions(&kReplyFunctions));
  if (!reader_) return false;
  budget_ = ReaderBudget{&limits_, 0, &spare_};
  reader_->privdata = &budget_;
  reader_->maxbuf = 64 * 1024;  // let hiredis release large idle buffers
  return true;
}

void Connection::ReleaseReadBuffer() {
  // Nothing unread and no reply begun: a fresh reader loses nothing.
  if (reader_ == nullptr || !replies_.empty() || bytes_in_partial_reply_ != 0 ||
      reader_->pos != reader_->len) {
    return;
  }
  if (!NewReader()) Close();  // out of memory: the next request reconnects
}

void Connection::SetReplySink(ReplySink sink) { sink_ = std::move(sink); }

void Connection::DropSpares() { spare_.clear(); }

void Connection::Recycle(std::vector<Reply>&& replies) {
  // Spares the last response did not use are of another shape (a cycle that also asked
  // CONFIG GET leaves four): kept, each would in turn take a whole INFO reply and keep it.
  spare_.clear();
  for (auto& r : replies) {
    if (spare_.size() >= kMaxSpareReplies) break;
    spare_.push_back(std::move(r));
  }
  replies.clear();
}

Reply Connection::PopReply() {
  Reply r = std::move(replies_.front());
  replies_.pop_front();
  if (awaited_ > 0) --awaited_;
  return r;
}

}  // namespace redis_ha::redis
