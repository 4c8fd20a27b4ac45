#include "redis/pool.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace redis_ha::redis {

using Clock = std::chrono::steady_clock;

namespace {
void QueueAll(Connection& c, const Request& request) {
  if (request.encoded) {
    c.QueueEncoded(request.encoded->bytes);
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
    if (Status s = c.BeginConnect(); !s) {
      responses[i].status = s;
      failed_at_start.push_back(i);
      continue;
    }
    QueueAll(c, requests[i]);
    conns[i] = &c;
    pending[i] = true;
    // A reused connection the server closed while idle (restart, idle timeout) fails
    // before any byte of this request comes back: that is retried once on a new one.
    may_retry[i] = !reconnected;
    received_at_start[i] = c.bytes_received();
  }

  // Handed over only once every request is on its way, so the caller's work on them does
  // not delay the sending.
  for (size_t i : failed_at_start) on_response(i, std::move(responses[i]));

  std::vector<pollfd> fds;
  std::vector<size_t> index;
  constexpr size_t kResolverSlot = static_cast<size_t>(-1);
  for (;;) {
    fds.clear();
    index.clear();
    bool resolving = false;
    for (size_t i = 0; i < requests.size(); ++i) {
      if (!pending[i]) continue;
      // A resolving connection has no socket yet (fd -1, which poll ignores).
      fds.push_back(pollfd{conns[i]->fd(), conns[i]->Events(), 0});
      index.push_back(i);
      resolving = resolving || conns[i]->resolving();
    }
    if (fds.empty()) break;
    if (resolving) {
      fds.push_back(pollfd{resolver_->notify_fd(), POLLIN, 0});
      index.push_back(kResolverSlot);
    }
    auto now = Clock::now();
    if (now >= deadline || stop.stop_requested()) {
      for (size_t i : index) {
        if (i == kResolverSlot) continue;
        responses[i].status =
            conns[i]->resolving()
                ? MakeError(ErrorKind::kTimeout, "resolving " + requests[i].endpoint.host +
                                                     " took longer than " +
                                                     std::to_string(timeout.count()) + "ms")
                : MakeError(ErrorKind::kTimeout, "no complete reply from " +
                                                     requests[i].endpoint.ToString() + " within " +
                                                     std::to_string(timeout.count()) + "ms");
        conns[i]->Close();
        pending[i] = false;
        on_response(i, std::move(responses[i]));
      }
      break;
    }
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    if (stop.stop_possible()) wait = std::min(wait, std::chrono::milliseconds(50));
    int rc = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
    if (rc < 0) {
      if (errno == EINTR) continue;
      // Not expected (the descriptors are valid and few): every pending request fails.
      const std::string why = std::string("poll: ") + std::strerror(errno);
      for (size_t i : index) {
        if (i == kResolverSlot) continue;
        conns[i]->Close();
        pending[i] = false;
        responses[i].status = MakeError(ErrorKind::kProtocol, why);
        on_response(i, std::move(responses[i]));
      }
      break;
    }
    // Some name was resolved: every resolving connection looks for its own.
    const bool resolved = resolving && fds.back().revents != 0;
    if (resolved) resolver_->DrainNotify();
    for (size_t k = 0; k < fds.size(); ++k) {
      size_t i = index[k];
      if (i == kResolverSlot) continue;
      Connection& c = *conns[i];
      const bool resolve_now = resolved && c.resolving();
      if (fds[k].revents == 0 && !resolve_now) continue;
      Status s = resolve_now ? c.ContinueResolve() : c.HandleEvents(fds[k].revents);
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
          if (Status again = c.BeginConnect(); again) {
            QueueAll(c, requests[i]);
            received_at_start[i] = c.bytes_received();
            continue;
          } else {
            s = again;
          }
        }
        responses[i].status = s;
        pending[i] = false;
        on_response(i, std::move(responses[i]));
        continue;
      }
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
        on_response(i, std::move(r));
      }
    }
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
