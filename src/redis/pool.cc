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

namespace {

// The message of an authentication error reply (the server's words name no secret).
std::string AuthErrorText(const Endpoint& endpoint, const Reply& reply) {
  return endpoint.ToString() + ": " + reply.str.substr(0, 120);
}

}  // namespace

// One request: queued on a connection (its first job is on the wire once started).
struct ConnectionPool::Job {
  Request request;
  Handler on_done;
  ReplyHandler on_reply;   // see Submit
  size_t streamed = 0;     // replies handed to on_reply
  std::string auth_error;  // the first of them that was an authentication error
  std::multimap<Clock::time_point, Job*>::iterator deadline_entry;
  std::chrono::milliseconds budget{0};  // its deadline, from when it was submitted
  Clock::time_point sent_at{};
  Connection* conn = nullptr;         // the connection it is queued on
  std::unique_ptr<Connection> own;    // a connection of its own (see Submit)
  bool started = false;
  bool may_retry = false;
  uint64_t received_at_start = 0;
  uint64_t received = 0;  // bytes of its response
  Response response;
};

void ConnectionPool::Submit(Request request, Clock::time_point deadline, Handler on_done,
                            ReplyHandler on_reply) {
  auto job = std::make_unique<Job>();
  job->budget = std::chrono::ceil<std::chrono::milliseconds>(
      std::max(Clock::duration::zero(), deadline - Clock::now()));
  job->on_done = std::move(on_done);
  job->on_reply = std::move(on_reply);
  job->request = std::move(request);
  ++in_flight_;
  if (!epoll_) {
    job->response.status = MakeError(ErrorKind::kProtocol, epoll_error_);
    failed_.push_back(std::move(job));
    return;
  }
  const Request& r = job->request;
  auto& slot = connections_[r.endpoint];
  Connection* c = nullptr;
  if (slot && queues_.count(slot.get()) && !slot->UsesCredentials(r.credentials)) {
    // The shared connection is busy with other credentials (a server that is both a
    // Sentinel and a data node to the configuration, during a reload): this request gets a
    // connection of its own, closed when it is done.
    job->own = std::make_unique<Connection>(r.endpoint, r.credentials, limits_, resolver_);
    c = job->own.get();
  } else {
    if (slot && !slot->UsesCredentials(r.credentials)) {
      // Credentials changed (reload): start over with the new ones.
      retired_sent_ += slot->bytes_sent();
      retired_received_ += slot->bytes_received();
      Forget(slot.get());
      slot.reset();
    }
    if (!slot) slot = std::make_unique<Connection>(r.endpoint, r.credentials, limits_, resolver_);
    c = slot.get();
  }
  job->conn = c;
  job->deadline_entry = deadlines_.emplace(deadline, job.get());
  auto& jobs = queues_[c];
  jobs.push_back(std::move(job));
  if (jobs.size() == 1) {
    // Failures while starting are handed over by Run, never from here.
    const bool was = defer_;
    defer_ = true;
    Start(c);
    defer_ = was;
  }
}

void ConnectionPool::Start(Connection* c) {
  Job& j = *queues_[c].front();
  const bool reconnected = j.own != nullptr || !c->open();
  j.response.reconnected = reconnected;
  if (c->PendingReplies() > 0) c->Close();  // leftovers mean a desynchronised pipeline
  Status s = c->BeginConnect();
  if (!s) {
    Finish(c, std::move(s));
    return;
  }
  QueueAll(*c, j.request);
  if (j.on_reply) {
    // The job stays where it is until Finish, which clears the sink.
    Job* job = &j;
    c->SetReplySink([job](Reply& reply) {
      if (job->auth_error.empty() && IsAuthError(reply)) {
        job->auth_error = AuthErrorText(job->request.endpoint, reply);
      }
      job->on_reply(job->streamed++, reply);
    });
  } else {
    c->SetReplySink(nullptr);
  }
  j.started = true;
  j.sent_at = Clock::now();
  // A reused connection the server closed while idle (restart, idle timeout) fails before
  // any byte of this request comes back: that is retried once on a new one.
  j.may_retry = !reconnected;
  j.received_at_start = c->bytes_received();
  // A connection that is ready sends now: an idle socket gives no new edge to wait for.
  Status sent = c->connected() ? c->HandleEvents(POLLOUT) : Status::Ok();
  Settle(c, std::move(sent));
}

void ConnectionPool::Settle(Connection* c, Status s) {
  Job& j = *queues_[c].front();
  const size_t count = j.request.command_count();
  if (s && c->eof() && c->PendingReplies() < count) {
    s = MakeError(ErrorKind::kProtocol, "connection closed by " + j.request.endpoint.ToString());
    c->Close();
  }
  if (!s) {
    if (j.may_retry && s.error().kind == ErrorKind::kProtocol &&
        c->bytes_received() == j.received_at_start) {
      // The server had closed the idle connection before this request (its hang-up was
      // still unread): news as much as a hang-up seen while idle.
      hung_up_.push_back(c->endpoint());
      j.may_retry = false;
      j.response.reconnected = true;
      Status again = c->BeginConnect();
      if (again) {
        QueueAll(*c, j.request);
        if (c->connected()) again = c->HandleEvents(POLLOUT);
      }
      if (again) again = Watch(*c);
      if (again) {
        j.received_at_start = c->bytes_received();
        Own(c);
        return;
      }
      s = again;
    }
    c->Close();
    Finish(c, std::move(s));
    return;
  }
  if (Status w = Watch(*c); !w) {
    c->Close();
    Finish(c, std::move(w));
    return;
  }
  Own(c);
  if (c->PendingReplies() >= count) Finish(c, Status::Ok());
}

void ConnectionPool::Finish(Connection* c, Status s) {
  auto qit = queues_.find(c);
  std::unique_ptr<Job> j = std::move(qit->second.front());
  qit->second.pop_front();
  const bool more = !qit->second.empty();
  if (!more) queues_.erase(qit);
  deadlines_.erase(j->deadline_entry);
  c->SetReplySink(nullptr);
  c->TakeSunk();
  Response& r = j->response;
  if (s) {
    if (!j->on_reply) r.replies.reserve(j->request.command_count());
    while (c->HasReply()) r.replies.push_back(c->PopReply());
    if (c->eof()) {
      c->Close();
      // It answered, then hung up. On a connection opened for this request that is how a
      // server turns clients away (maxclients, protected mode: one error, then close); on
      // one it had been answering, the server went away.
      if (!r.reconnected) hung_up_.push_back(c->endpoint());
    }
    r.round_trip = Clock::now() - j->sent_at;
    if (auto bad = std::find_if(r.replies.begin(), r.replies.end(), IsAuthError);
        j->auth_error.empty() && bad != r.replies.end()) {
      j->auth_error = AuthErrorText(j->request.endpoint, *bad);
    }
    if (!j->auth_error.empty()) r.status = MakeError(ErrorKind::kAuth, j->auth_error);
  } else {
    r.status = std::move(s);
  }
  j->received = c->bytes_received() - j->received_at_start;
  // The handler runs before the next request on this connection is sent: responses of
  // one connection are handed over in the order they were submitted.
  if (!in_run_ || defer_) {
    failed_.push_back(std::move(j));
  } else {
    Deliver(std::move(j));
  }
  if (more) Start(c);  // a connection with jobs queued is never dropped (see Retain)
}

void ConnectionPool::Deliver(std::unique_ptr<Job> job) {
  --in_flight_;
  const bool ok = job->response.status.ok() && job->started;
  job->on_done(std::move(job->response));
  Connection* from = job->own.get();
  if (from == nullptr && job->conn != nullptr) {
    // The shared connection, unless the handler had it dropped.
    auto it = connections_.find(job->request.endpoint);
    if (it != connections_.end() && it->second.get() == job->conn) from = job->conn;
  }
  if (from != nullptr) {
    // Whatever the handler left of the replies decodes the next ones (a server asked the
    // same every cycle then costs no allocation), unless they were unusually big or the
    // answer failed. Replies read one by one left a few spares in the connection instead.
    const bool keep = ok && job->received <= kRecycleBytes;
    if (job->on_reply) {
      if (!keep) from->DropSpares();
    } else if (keep) {
      from->Recycle(std::move(job->response.replies));
    }
    if (ok) from->ReleaseReadBuffer();
  }
  if (job->own) {
    retired_sent_ += job->own->bytes_sent();
    retired_received_ += job->own->bytes_received();
    Forget(job->own.get());
  }
}

void ConnectionPool::Forget(Connection* c) {
  for (auto& owner : owner_) {
    if (owner == c) owner = nullptr;
  }
}

void ConnectionPool::Expire(Clock::time_point now) {
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    Job* j = deadlines_.begin()->second;
    Connection* c = j->conn;
    auto& jobs = queues_[c];
    const bool on_wire = jobs.front().get() == j;
    const std::string budget = std::to_string(j->budget.count()) + "ms";
    const Status s =
        on_wire && j->started && c->resolving()
            ? MakeError(ErrorKind::kTimeout,
                        "resolving " + j->request.endpoint.host + " took longer than " + budget)
            : MakeError(ErrorKind::kTimeout, "no complete reply from " +
                                                 j->request.endpoint.ToString() + " within " +
                                                 budget);
    if (on_wire) {
      // The requests queued behind it on this connection fail with it: the server did not
      // answer the one ahead, and re-sending them on a new connection would make each wait
      // for a deadline of its own.
      std::vector<std::unique_ptr<Job>> behind;
      while (jobs.size() > 1) {
        behind.push_back(std::move(jobs[1]));
        jobs.erase(jobs.begin() + 1);
        deadlines_.erase(behind.back()->deadline_entry);
      }
      c->Close();
      Finish(c, s);
      for (auto& b : behind) {
        b->response.status = MakeError(
            ErrorKind::kTimeout, "no reply from " + b->request.endpoint.ToString() +
                                     ": the request ahead of it got none within " + budget);
        Deliver(std::move(b));
      }
      continue;
    }
    // Still waiting behind another request on its connection.
    auto it = std::find_if(jobs.begin(), jobs.end(), [j](const auto& p) { return p.get() == j; });
    std::unique_ptr<Job> own = std::move(*it);
    jobs.erase(it);
    deadlines_.erase(own->deadline_entry);
    own->response.status = s;
    Deliver(std::move(own));
  }
}

void ConnectionPool::Own(Connection* c) {
  const int fd = c->fd();
  if (c->resolving() && std::find(resolving_.begin(), resolving_.end(), c) == resolving_.end()) {
    resolving_.push_back(c);
  }
  if (fd < 0) return;
  if (owner_.size() <= static_cast<size_t>(fd)) owner_.resize(static_cast<size_t>(fd) + 1, nullptr);
  owner_[static_cast<size_t>(fd)] = c;
}

bool ConnectionPool::Busy(const Endpoint& endpoint) const {
  auto it = connections_.find(endpoint);
  return it != connections_.end() && queues_.count(it->second.get()) > 0;
}

std::vector<Response> ConnectionPool::Execute(const std::vector<Request>& requests,
                                              std::chrono::milliseconds timeout,
                                              std::stop_token stop) {
  std::vector<Response> out(requests.size());
  Execute(requests, timeout, std::move(stop),
          [&out](size_t i, Response&& response) { out[i] = std::move(response); });
  return out;
}

void ConnectionPool::Execute(const std::vector<Request>& requests,
                             std::chrono::milliseconds timeout, std::stop_token stop,
                             const ResponseHandler& on_response) {
  if (requests.empty()) return;
  const auto deadline = Clock::now() + timeout;
  size_t left = requests.size();
  for (size_t i = 0; i < requests.size(); ++i) {
    Submit(requests[i], deadline, [&, i](Response&& r) {
      on_response(i, std::move(r));
      if (--left == 0) Interrupt();
    });
  }
  while (left > 0) Run(Clock::time_point::max(), stop);
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

void ConnectionPool::Run(Clock::time_point until, std::stop_token stop, const EventFd* wake) {
  in_run_ = true;
  interrupted_ = false;
  const int wake_fd = wake != nullptr ? wake->fd() : -1;
  if (wake_fd >= 0 && wake_fd != wake_watched_ && epoll_) {
    // Edge-triggered: a notification that comes while nobody waits is reported by the
    // next wait; one seen by a Run without `wake` (Execute) is left to the caller's flags.
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.fd = wake_fd;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_fd, &ev) == 0 || errno == EEXIST) {
      wake_watched_ = wake_fd;
    }
  }
  // Failed jobs to their handlers, then hang-ups to theirs, until neither is left (a
  // handler may Submit, and a Submit may fail at once).
  auto hand_over_failed = [this] {
    while (!failed_.empty() || !hung_up_.empty()) {
      std::vector<std::unique_ptr<Job>> jobs;
      jobs.swap(failed_);
      for (auto& j : jobs) Deliver(std::move(j));
      std::vector<Endpoint> gone;
      gone.swap(hung_up_);
      for (const auto& e : gone) {
        if (on_idle_close_) on_idle_close_(e);
      }
    }
  };
  std::vector<epoll_event> events(256);
  bool had_work = false;
  while (true) {
    hand_over_failed();
    if (in_flight_ > 0) had_work = true;
    auto now = Clock::now();
    if (stop.stop_requested()) {
      // Everything in flight fails, as if its deadline had come.
      Expire(Clock::time_point::max());
      hand_over_failed();
      break;
    }
    Expire(now);
    hand_over_failed();
    if (interrupted_ || now >= until || !epoll_ || (had_work && in_flight_ == 0)) break;
    // Only connections that were resolving can still be (a connection starts resolving in
    // BeginConnect alone), so this stays off the per-wakeup path when no name is resolved.
    std::erase_if(resolving_, [&](Connection* c) {
      auto it = queues_.find(c);
      return it == queues_.end() || !it->second.front()->started || !c->resolving();
    });
    const bool resolving = !resolving_.empty();
    // The resolver's descriptor is level-triggered and watched only while some name is
    // being resolved.
    if (resolving != notify_watched_) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = resolver_->notify_fd();
      if (::epoll_ctl(epoll_.get(), resolving ? EPOLL_CTL_ADD : EPOLL_CTL_DEL,
                      resolver_->notify_fd(), &ev) == 0 ||
          errno == EEXIST || errno == ENOENT) {
        notify_watched_ = resolving;
      }
    }
    auto next = until;
    if (!deadlines_.empty()) next = std::min(next, deadlines_.begin()->first);
    auto wait = std::chrono::milliseconds(1000);
    if (next - now < wait) wait = std::chrono::ceil<std::chrono::milliseconds>(next - now);
    // A stop request cannot wake epoll_wait by itself; a caller that gives `wake` notifies
    // it when it asks to stop (Poller::Stop), anyone else is checked on every 50 ms.
    if (stop.stop_possible() && wake_fd < 0) wait = std::min(wait, std::chrono::milliseconds(50));
    if (resolving) wait = std::min(wait, std::chrono::milliseconds(100));
    const int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()),
                               static_cast<int>(wait.count()));
    if (n < 0) {
      if (errno == EINTR) continue;
      // Not expected (the set is ours and valid): every request in flight fails.
      const std::string why = std::string("epoll_wait: ") + std::strerror(errno);
      while (!queues_.empty()) {
        Connection* c = queues_.begin()->first;
        c->Close();
        Finish(c, MakeError(ErrorKind::kProtocol, why));
      }
      continue;
    }
    bool woken = false, resolved = false;
    for (int k = 0; k < n; ++k) {
      const int fd = events[static_cast<size_t>(k)].data.fd;
      if (fd == wake_watched_) {
        woken = true;
        continue;
      }
      if (fd == resolver_->notify_fd()) {
        resolved = true;
        continue;
      }
      if (static_cast<size_t>(fd) >= owner_.size()) continue;
      Connection* c = owner_[static_cast<size_t>(fd)];
      if (c == nullptr || c->fd() != fd) continue;  // a socket since closed
      const uint32_t e = events[static_cast<size_t>(k)].events;
      auto it = queues_.find(c);
      if (it == queues_.end()) {
        // Idle: nothing is read now, but a server that hung up is worth knowing at once
        // (a restarted primary is polled again before its replicas sync from it).
        if ((e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
          c->Close();
          hung_up_.push_back(c->endpoint());
        }
        continue;
      }
      if (!it->second.front()->started) continue;
      short revents = 0;
      if (e & EPOLLIN) revents |= POLLIN;
      if (e & EPOLLOUT) revents |= POLLOUT;
      if (e & EPOLLERR) revents |= POLLERR;
      if (e & (EPOLLHUP | EPOLLRDHUP)) revents |= POLLHUP;
      // With TLS a read may need the socket writable; any edge lets it try again.
      if (revents != 0) Settle(c, c->HandleEvents(revents));
    }
    if (resolving) {
      // Some name may have been resolved (the notification is shared with other users of
      // the resolver, who may have taken it): every resolving connection looks for its own.
      if (resolved) resolver_->DrainNotify();
      for (Connection* c : std::vector<Connection*>(resolving_)) {  // Settle may retry
        auto it = queues_.find(c);
        if (it != queues_.end() && it->second.front()->started && c->resolving()) {
          Settle(c, c->ContinueResolve());
        }
      }
    }
    if (woken && wake != nullptr) {
      wake->Drain();
      break;
    }
  }
  hand_over_failed();
  in_run_ = false;
}

void ConnectionPool::Retain(const std::set<Endpoint>& keep) {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (keep.count(it->first) == 0 && queues_.count(it->second.get()) == 0) {
      Forget(it->second.get());
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
