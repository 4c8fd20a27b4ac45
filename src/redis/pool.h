// ConnectionPool: runs one pipelined batch of commands against many servers at once.
//
// Contract: `Execute()` sends each request's commands in one write on that server's
// connection (reused across calls, opened or re-opened as needed), waits for every reply
// on all servers concurrently with epoll(7), and returns when all are answered or the
// timeout has passed. A server that does not answer in time gets ErrorKind::kTimeout and
// its connection is closed (a late reply would desynchronise the pipeline); it never
// delays the others beyond the common deadline. Connections a caller no longer needs are
// dropped with `Retain()`.
//
// Host names go through the pool's Resolver (redis/resolver.h): a name being resolved
// waits within the same deadline, and one that is not resolved in time fails with
// kTimeout ("resolving ..."), like a server that does not answer.
//
// Thread-safety: none; one thread (the poller) owns a pool.
#ifndef REDIS_HA_REDIS_POOL_H_
#define REDIS_HA_REDIS_POOL_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "redis/connection.h"
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
  std::chrono::nanoseconds round_trip{0};  // from the start of Execute to the last reply
  bool reconnected = false;    // a new connection was opened for this request
};

class ConnectionPool {
 public:
  // `resolver`: shared with other users (the event subscriber); null makes one of its own.
  explicit ConnectionPool(Limits limits = {}, std::shared_ptr<Resolver> resolver = nullptr);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Called once per request, with its index in `requests`, as soon as that request is
  // answered, has failed or has timed out, on the thread that called Execute.
  using ResponseHandler = std::function<void(size_t index, Response&& response)>;

  // A stop request ends the wait early (pending requests fail with kTimeout).
  // Calls `on_response` once per request, in the order they complete, and returns when
  // every request has had its call, so a caller can parse and drop each server's replies
  // as they come instead of holding every server's until the end.
  void Execute(const std::vector<Request>& requests, std::chrono::milliseconds timeout,
               std::stop_token stop, const ResponseHandler& on_response);
  // The same, returning all the responses at the end (indexed like `requests`).
  std::vector<Response> Execute(const std::vector<Request>& requests,
                                std::chrono::milliseconds timeout,
                                std::stop_token stop = {});

  // Closes and forgets connections to endpoints not in `keep`.
  void Retain(const std::set<Endpoint>& keep);

  size_t size() const { return connections_.size(); }
  // Totals over all connections ever made by this pool.
  uint64_t bytes_sent() const;
  uint64_t bytes_received() const;

 private:
  Connection& Get(const Request& request, bool& reconnected);
  // Registers c's socket with the epoll set if it is open and not registered yet.
  Status Watch(Connection& c);

  Limits limits_;
  // The epoll set every connection's socket is registered with, once per socket
  // (edge-triggered): waiting costs the same whether 3 or 3000 servers are idle.
  UniqueFd epoll_;
  std::string epoll_error_;  // why epoll_ could not be created (then every request fails)
  std::shared_ptr<Resolver> resolver_;
  std::map<Endpoint, std::unique_ptr<Connection>> connections_;
  uint64_t retired_sent_ = 0;
  uint64_t retired_received_ = 0;
};

}  // namespace redis_ha::redis

#endif  // REDIS_HA_REDIS_POOL_H_
