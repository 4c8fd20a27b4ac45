// ConnectionPool: one connection per server, shared by every request to that server.
//
// Contract:
// - `Submit()` queues a request (its commands pipelined in one write) on its server's
//   connection, opened or re-opened as needed. One request is on the wire per connection at
//   a time: a request for a server that is still answering an earlier one is sent the
//   moment that one is answered, has failed or has timed out, so replies are never
//   confused and a second user of a connection (an event poll during a full cycle) waits
//   only for that server, never for the others.
// - Every request has its own deadline, the wait behind an earlier request included. A
//   request not answered by then gets ErrorKind::kTimeout; if it was on the wire, its
//   connection is closed (a late reply would desynchronise the pipeline) and the requests
//   queued behind it fail with it (kTimeout): the server did not answer the one ahead.
// - `Run()` waits for replies on all servers at once with epoll(7) and calls each request's
//   handler exactly once, as soon as it is answered, failed or timed out. Handlers may
//   Submit more requests. `Execute()` is a whole batch: submit, run, return when every
//   request of the batch has had its call.
// - A request may also give a reply handler: its replies then go to it one by one as they
//   are decoded (a large answer is never held whole), and its response has none. The
//   response's status still decides: an answer cut short fails as a whole.
// - Connections a caller no longer needs are dropped with `Retain()`.
// - A server that closes an idle connection (it exited, was killed or restarted, or dropped
//   the client), or closes it right behind a complete answer, is noticed at once, also
//   while `Run()` waits without a request: the connection is closed and Run() calls the
//   `SetOnIdleClose` handler with its endpoint. The next request to that server connects
//   again, as after any failure.
//
// Host names go through the pool's Resolver (redis/resolver.h): a name being resolved
// waits within the same deadline, and one that is not resolved in time fails with
// kTimeout ("resolving ..."), like a server that does not answer.
//
// Thread-safety: none; one thread (the poller) owns a pool.
#ifndef REDIS_HA_REDIS_POOL_H_
#define REDIS_HA_REDIS_POOL_H_

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "redis/connection.h"
#include "util/event_fd.h"
#include "util/unique_fd.h"

namespace redis_ha::redis {

// Commands encoded once (RESP) and shared by the requests that repeat them every cycle.
struct EncodedCommands {
  std::string bytes;
  size_t count = 0;
  static std::shared_ptr<const EncodedCommands> Encode(
      const std::vector<std::vector<std::string>>& commands);
};

struct Request {
  Endpoint endpoint;
  Credentials credentials;
  std::vector<std::vector<std::string>> commands;
  // When set, sent instead of `commands` (left empty).
  std::shared_ptr<const EncodedCommands> encoded = nullptr;

  size_t command_count() const { return encoded ? encoded->count : commands.size(); }
};

struct Response {
  Status status;               // not ok: the request failed as a whole
  std::vector<Reply> replies;  // one per command when status is ok
  std::chrono::nanoseconds round_trip{0};  // from sending the request to its last reply
  bool reconnected = false;    // a new connection was opened for this request
};

class ConnectionPool {
 public:
  using Clock = std::chrono::steady_clock;

  // `resolver`: shared with other users (the event subscriber); null makes one of its own.
  explicit ConnectionPool(Limits limits = {}, std::shared_ptr<Resolver> resolver = nullptr);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Called once per request, from Run(), when it is answered, has failed or has timed out.
  using Handler = std::function<void(Response&& response)>;

  // Called from Run() with each reply of a request as soon as it is decoded, in command
  // order (`index` counts from 0), before `on_done`; such replies are not in the response.
  // The reply's memory is reused right after: take what is needed from it, and do not call
  // into the pool. `on_done` still decides: a response that fails after some replies were
  // handed over fails as a whole (what was taken from them is to be dropped).
  using ReplyHandler = std::function<void(size_t index, Reply& reply)>;

  // Queues `request` (see the contract above); `on_done` is never called from Submit itself.
  // With `on_reply`, the replies go to it one by one instead of into the response.
  void Submit(Request request, Clock::time_point deadline, Handler on_done,
              ReplyHandler on_reply = nullptr);

  // Does the I/O of the requests in flight and calls their handlers until every one of them
  // has been handed over, `until` has passed, `wake` (when given) has been notified (it is
  // drained), or a handler called Interrupt(). Called with nothing in flight, it waits for
  // `until` or `wake`. A stop request fails every request in flight (kTimeout), calls their
  // handlers and returns; it is seen at once when the caller also notifies `wake`, else
  // within 50 ms.
  void Run(Clock::time_point until, std::stop_token stop, const EventFd* wake = nullptr);
  // From a handler: the current Run() returns once the events at hand are handled.
  void Interrupt() { interrupted_ = true; }

  // Called from Run() when a server closed a connection that had no request left on it (see
  // the contract above). It may Submit() and Interrupt().
  using CloseHandler = std::function<void(const Endpoint& endpoint)>;
  void SetOnIdleClose(CloseHandler on_close) { on_idle_close_ = std::move(on_close); }

  // Requests submitted and not yet handed to their handler.
  size_t in_flight() const { return in_flight_; }
  // Whether a request for `endpoint` is in flight on its shared connection.
  bool Busy(const Endpoint& endpoint) const;

  // One batch: submits every request with one deadline (now + timeout), runs until each has
  // had its call of `on_response` (with its index in `requests`, in the order they
  // complete), and returns. A stop request ends the wait early (pending requests fail with
  // kTimeout). Requests submitted by others meanwhile keep going, and may finish, too.
  using ResponseHandler = std::function<void(size_t index, Response&& response)>;
  void Execute(const std::vector<Request>& requests, std::chrono::milliseconds timeout,
               std::stop_token stop, const ResponseHandler& on_response);
  // The same, returning all the responses at the end (indexed like `requests`).
  std::vector<Response> Execute(const std::vector<Request>& requests,
                                std::chrono::milliseconds timeout,
                                std::stop_token stop = {});

  // Closes and forgets connections to endpoints not in `keep` (a connection with a request
  // in flight is kept until a later call).
  void Retain(const std::set<Endpoint>& keep);

  size_t size() const { return connections_.size(); }
  // Totals over all connections ever made by this pool.
  uint64_t bytes_sent() const;
  uint64_t bytes_received() const;

 private:
  struct Job;
  // The jobs queued on one connection; the first is on the wire once started.
  using Queue = std::deque<std::unique_ptr<Job>>;

  // Registers c's socket with the epoll set if it is open and not registered yet.
  Status Watch(Connection& c);
  // Sends the first job of c's queue.
  void Start(Connection* c);
  // After I/O on c: its first job failed, is retried, is complete, or still waits.
  void Settle(Connection* c, Status s);
  // Takes c's first job off its queue with `s` (ok: its replies are in), starts the next
  // one, and calls the handler.
  void Finish(Connection* c, Status s);
  // Hands a job that ended to its handler, then recycles what the handler left of its
  // replies into the connection they came from.
  void Deliver(std::unique_ptr<Job> job);
  // Fails every job whose deadline has passed.
  void Expire(Clock::time_point now);
  void Own(Connection* c);
  // Before `c` is destroyed: Run() must not find it by a descriptor it once had.
  void Forget(Connection* c);

  Limits limits_;
  // The epoll set every connection's socket is registered with, once per socket
  // (edge-triggered): waiting costs the same whether 3 or 3000 servers are idle.
  UniqueFd epoll_;
  std::string epoll_error_;  // why epoll_ could not be created (then every request fails)
  std::shared_ptr<Resolver> resolver_;
  std::map<Endpoint, std::unique_ptr<Connection>> connections_;
  // Connections with jobs queued, and the deadlines of all jobs (earliest first).
  std::map<Connection*, Queue> queues_;
  std::multimap<Clock::time_point, Job*> deadlines_;
  std::vector<std::unique_ptr<Job>> failed_;  // failed before they were sent, to hand over
  std::vector<Connection*> owner_;            // by descriptor: whose socket it is
  std::vector<Connection*> resolving_;        // connections waiting for the resolver
  bool notify_watched_ = false;
  int wake_watched_ = -1;  // the wake descriptor registered with epoll_
  bool interrupted_ = false;
  bool in_run_ = false;  // handlers may be called (else failures wait in failed_)
  bool defer_ = false;   // within Submit: failures wait in failed_
  size_t in_flight_ = 0;
  uint64_t retired_sent_ = 0;
  uint64_t retired_received_ = 0;
  CloseHandler on_idle_close_;
  std::vector<Endpoint> hung_up_;  // servers that closed a connection, for on_idle_close_
};

}  // namespace redis_ha::redis

#endif  // REDIS_HA_REDIS_POOL_H_
