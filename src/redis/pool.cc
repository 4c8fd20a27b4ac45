#include "redis/pool.h"

#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace redis_ha::redis {

using Clock = std::chrono::steady_clock;

// Replies of a response bigger than this are freed rather than recycled (see
// Connection::Recycle), so one huge reply does not stay allocated for good.
constexpr uint64_t kRecycleBytes = 4 << 20;

namespace {
void QueueAll(Connection& c, const Request& request) {
  if (request.encoded) {
    c.QueueEncoded(request.encoded->bytes, request.encoded->count);
  } else {
    for (const auto& cmd : request.commands) c.Queue(cmd);
  }
}
}  // namespace

std::shared_ptr<const EncodedCommands> EncodedCommands::Encode(
    const std::vector<std::vector<std::string>>& commands) {
  auto out = std::make_shared<EncodedCommands>();
  for (const auto& cmd : commands) AppendCommand(cmd, out->bytes);
  out->count = commands.size();
  return out;
}

ConnectionPool::ConnectionPool(Limits limits, std::shared_ptr<Resolver> resolver)
    : limits_(limits),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      resolver_(resolver ? std::move(resolver) : std::make_shared<Resolver>()) {
  if (!epoll_) epoll_error_ = std::string("epoll_create1: ") + std::strerror(errno);
}

// connections_ is declared after epoll_: the connections close their sockets first.
ConnectionPool::~ConnectionPool() = default;

Connection& ConnectionPool::Get(const Request& request, bool& reconnected) {
  auto& slot = connections_[request.endpoint];
  if (slot && !slot->UsesCredentials(request.credentials)) {
    // Credentials changed (reload): start over with the new ones.
    retired_sent_ += slot->bytes_sent();
    retired_received_ += slot->bytes_received();
    slot.reset();
  }
  if (!slot) {
    slot = std::make_unique<Connection>(request.endpoint, request.credentials, limits_, resolver_);
  }
  reconnected = !slot->open();
  return *slot;
}

std::vector<Response> ConnectionPool::Execute(const std::vector<Request>& requests,
                                              std::chrono::milliseconds timeout,
                                              std::stop_token stop) {
  std::vector<Response> out(requests.size());
  Execute(requests, timeout, std::move(stop),
          [&out](size_t i, Response&& response) { out[i] = std::move(response); });
  return out;
}

Status ConnectionPool::Watch(Connection& c) {
  Connection::PollerSlot& slot = c.poller_slot;
  const int fd = c.fd();
  if (fd < 0) {
    slot = {};  // closed: the kernel dropped the descriptor from the set
    return Status::Ok();
  }
  if (slot.fd == fd && slot.generation == c.socket_generation()) return Status::Ok();
  // Edge-triggered, everything at once, registered once per socket: nothing to change
  // between cycles. Each edge is handled completely (reads until a short read or EAGAIN,
  // writes until done or EAGAIN), so no readiness is missed.
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0 &&
      (errno != EEXIST || ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0)) {
    return MakeError(ErrorKind::kProtocol, std::string("epoll_ctl: ") + std::strerror(errno));
  }
  slot = {fd, c.socket_generation()};
  return Status::Ok();
}

void ConnectionPool::Execute(const std::vector<Request>& requests,
                             std::chrono::milliseconds timeout, std::stop_token stop,
                             const ResponseHandler& on_response) {
  const auto start = Clock::now();
  const auto deadline = start + timeout;
  std::vector<Response> responses(requests.size());
  std::vector<Connection*> conns(requests.size(), nullptr);
  std::vector<bool> pending(requests.size(), false);
  std::vector<bool> may_retry(requests.size(), false);
  std::vector<uint64_t> received_at_start(requests.size(), 0);
  std::vector<size_t> failed_at_start;
  std::vector<Status> sent(requests.size());  // the first send, on a ready connection
  size_t waiting = 0;                         // requests still pending

  // Which pending request owns a descriptor in this call (events for other descriptors,
  // idle connections of earlier calls, are ignored).
  constexpr size_t kNone = static_cast<size_t>(-1);
  std::vector<size_t> owner;
  std::vector<size_t> resolving_ids;  // requests whose connection was resolving a name
  auto own = [&](size_t i) {
    if (conns[i]->resolving() &&
        std::find(resolving_ids.begin(), resolving_ids.end(), i) == resolving_ids.end()) {
      resolving_ids.push_back(i);
    }
    const int fd = conns[i]->fd();
    if (fd < 0) return;
    if (owner.size() <= static_cast<size_t>(fd)) owner.resize(static_cast<size_t>(fd) + 1, kNone);
    owner[static_cast<size_t>(fd)] = i;
  };
  auto fail = [&](size_t i, Status s) {
    responses[i].status = std::move(s);
    pending[i] = false;
    --waiting;
    on_response(i, std::move(responses[i]));
  };

  // Two requests for one endpoint (a Sentinel that names itself as a primary, an address map
  // sending two targets to one server) must not share a pipeline, or one takes the other's
  // replies and the other times out: every request after the first for an endpoint gets a
  // connection of its own, for this call only.
  std::set<Endpoint> seen;
  std::vector<std::unique_ptr<Connection>> extra;
  for (size_t i = 0; i < requests.size(); ++i) {
    bool reconnected = false;
    Connection* cp = nullptr;
    if (seen.insert(requests[i].endpoint).second) {
      cp = &Get(requests[i], reconnected);
    } else {
      extra.push_back(std::make_unique<Connection>(requests[i].endpoint, requests[i].credentials,
                                                   limits_, resolver_));
      cp = extra.back().get();
      reconnected = true;
    }
    Connection& c = *cp;
    responses[i].reconnected = reconnected;
    if (c.PendingReplies() > 0) c.Close();  // leftovers mean a desynchronised pipeline
    Status s = epoll_ ? c.BeginConnect() : MakeError(ErrorKind::kProtocol, epoll_error_);
    if (!s) {
      responses[i].status = s;
      failed_at_start.push_back(i);
      continue;
    }
    QueueAll(c, requests[i]);
    conns[i] = &c;
    pending[i] = true;
    ++waiting;
    // A reused connection the server closed while idle (restart, idle timeout) fails
    // before any byte of this request comes back: that is retried once on a new one.
    may_retry[i] = !reconnected;
    received_at_start[i] = c.bytes_received();
    // A connection that is ready sends now: an idle socket gives no new edge to wait for.
    if (c.connected()) sent[i] = c.HandleEvents(POLLOUT);
  }

  // Handed over only once every request is on its way, so the caller's work on them does
  // not delay the sending.
  for (size_t i : failed_at_start) on_response(i, std::move(responses[i]));

  // After I/O on request i: failed, retried, complete, or still waiting.
  auto settle = [&](size_t i, Status s) {
    Connection& c = *conns[i];
    if (s && c.eof() && c.PendingReplies() < requests[i].command_count()) {
      s = MakeError(ErrorKind::kProtocol,
                    "connection closed by " + requests[i].endpoint.ToString());
      c.Close();
    }
    if (!s) {
      if (may_retry[i] && s.error().kind == ErrorKind::kProtocol &&
          c.bytes_received() == received_at_start[i]) {
        may_retry[i] = false;
        responses[i].reconnected = true;
        Status again = c.BeginConnect();
        if (again) {
          QueueAll(c, requests[i]);
          if (c.connected()) again = c.HandleEvents(POLLOUT);
        }
        if (again) again = Watch(c);
        if (again) {
          received_at_start[i] = c.bytes_received();
          own(i);
          return;
        }
        s = again;
      }
      c.Close();
      fail(i, s);
      return;
    }
    if (Status w = Watch(c); !w) {
      c.Close();
      fail(i, w);
      return;
    }
    own(i);
    if (c.PendingReplies() >= requests[i].command_count()) {
      auto& r = responses[i];
      r.replies.reserve(requests[i].command_count());
      while (c.HasReply()) r.replies.push_back(c.PopReply());
      if (c.eof()) c.Close();
      r.round_trip = Clock::now() - start;
      if (std::any_of(r.replies.begin(), r.replies.end(), IsAuthError)) {
        const auto& bad = *std::find_if(r.replies.begin(), r.replies.end(), IsAuthError);
        r.status = MakeError(ErrorKind::kAuth,
                             requests[i].endpoint.ToString() + ": " + bad.str.substr(0, 120));
      }
      pending[i] = false;
      --waiting;
      on_response(i, std::move(r));
      // Whatever the handler left of the replies decodes the next ones (a server asked
      // the same every cycle then costs no allocation), unless they were unusually big.
      if (c.bytes_received() - received_at_start[i] <= kRecycleBytes) {
        c.Recycle(std::move(r.replies));
      }
      c.ReleaseReadBuffer();
    }
  };

  // Each request's socket joins the epoll set; a failed first send is retried or fails.
  for (size_t i = 0; i < requests.size(); ++i) {
    if (pending[i]) settle(i, std::move(sent[i]));
  }

  std::vector<epoll_event> events(std::min<size_t>(std::max<size_t>(requests.size(), 1), 256));
  bool notify_watched = false;
  while (waiting > 0) {
    // Only requests that were resolving can still be (a connection starts resolving in
    // BeginConnect alone), so this stays off the per-wakeup path when no name is resolved.
    std::erase_if(resolving_ids, [&](size_t i) { return !pending[i] || !conns[i]->resolving(); });
    const bool resolving = !resolving_ids.empty();
    // The resolver's descriptor is level-triggered and watched only while some name is
    // being resolved for this call.
    if (resolving != notify_watched) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = resolver_->notify_fd();
      if (::epoll_ctl(epoll_.get(), resolving ? EPOLL_CTL_ADD : EPOLL_CTL_DEL,
                      resolver_->notify_fd(), &ev) == 0 ||
          errno == EEXIST || errno == ENOENT) {
        notify_watched = resolving;
      }
    }
    auto now = Clock::now();
    if (now >= deadline || stop.stop_requested()) {
      for (size_t i = 0; i < requests.size(); ++i) {
        if (!pending[i]) continue;
        Status s =
            conns[i]->resolving()
                ? MakeError(ErrorKind::kTimeout, "resolving " + requests[i].endpoint.host +
                                                     " took longer than " +
                                                     std::to_string(timeout.count()) + "ms")
                : MakeError(ErrorKind::kTimeout, "no complete reply from " +
                                                     requests[i].endpoint.ToString() + " within " +
                                                     std::to_string(timeout.count()) + "ms");
        conns[i]->Close();
        fail(i, s);
      }
      break;
    }
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    if (stop.stop_possible()) wait = std::min(wait, std::chrono::milliseconds(50));
    if (resolving) wait = std::min(wait, std::chrono::milliseconds(100));
    int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()),
                         static_cast<int>(wait.count()));
    if (n < 0) {
      if (errno == EINTR) continue;
      // Not expected (the set is ours and valid): every pending request fails.
      const std::string why = std::string("epoll_wait: ") + std::strerror(errno);
      for (size_t i = 0; i < requests.size(); ++i) {
        if (!pending[i]) continue;
        conns[i]->Close();
        fail(i, MakeError(ErrorKind::kProtocol, why));
      }
      break;
    }
    bool resolved = false;
    for (int k = 0; k < n; ++k) {
      const int fd = events[static_cast<size_t>(k)].data.fd;
      if (fd == resolver_->notify_fd()) {
        resolved = true;
        continue;
      }
      if (static_cast<size_t>(fd) >= owner.size()) continue;
      const size_t i = owner[static_cast<size_t>(fd)];
      if (i == kNone || !pending[i] || conns[i]->fd() != fd) continue;  // not this call's
      const uint32_t e = events[static_cast<size_t>(k)].events;
      short revents = 0;
      if (e & EPOLLIN) revents |= POLLIN;
      if (e & EPOLLOUT) revents |= POLLOUT;
      if (e & EPOLLERR) revents |= POLLERR;
      if (e & (EPOLLHUP | EPOLLRDHUP)) revents |= POLLHUP;
      // With TLS a read may need the socket writable; any edge lets it try again.
      if (revents != 0) settle(i, conns[i]->HandleEvents(revents));
    }
    if (resolving) {
      // Some name may have been resolved (the notification is shared with other users of
      // the resolver, who may have taken it): every resolving connection looks for its own.
      if (resolved) resolver_->DrainNotify();
      for (size_t i : std::vector<size_t>(resolving_ids)) {  // settle may retry: a copy
        if (pending[i] && conns[i]->resolving()) settle(i, conns[i]->ContinueResolve());
      }
    }
  }
  if (notify_watched) {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, resolver_->notify_fd(), nullptr);
  }
  for (const auto& c : extra) {
    retired_sent_ += c->bytes_sent();
    retired_received_ += c->bytes_received();
  }
}

void ConnectionPool::Retain(const std::set<Endpoint>& keep) {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (keep.count(it->first) == 0) {
      retired_sent_ += it->second->bytes_sent();
      retired_received_ += it->second->bytes_received();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

uint64_t ConnectionPool::bytes_sent() const {
  uint64_t total = retired_sent_;
  for (const auto& [_, c] : connections_) total += c->bytes_sent();
  return total;
}

uint64_t ConnectionPool::bytes_received() const {
  uint64_t total = retired_received_;
  for (const auto& [_, c] : connections_) total += c->bytes_received();
  return total;
}

}  // namespace redis_ha::redis
