// Resolver: host names to socket addresses, off the poll thread.
//
// Contract: `Lookup()` never blocks. A name resolved less than `fresh_for` ago is answered
// from the cache (its address, or the error the resolution ended with); otherwise the name
// is queued for the resolver's own thread, which calls the system resolver (getaddrinfo,
// blocking, with /etc/resolv.conf's timeouts) one name at a time, and `Lookup()` answers
// nullopt (pending) until it is done. Each completed resolution makes `notify_fd()` readable, so a
// poll(2) loop can wait for it with its own deadline. A hung resolver therefore delays
// only the targets named by host name, each up to its own poll deadline (they time out as
// "resolving"), never the poll loop, the other targets or the HTTP server.
//
// The thread starts with the first name to resolve (address literals never need it) and
// is joined on destruction, which may wait for one getaddrinfo call in progress. A name not
// looked up for 12 x `fresh_for` (a minute by default) is forgotten, so names that are no
// longer configured or announced do not pile up.
//
// Thread-safety: Lookup(), notify_fd() and DrainNotify() may be called from any thread.
#ifndef REDIS_HA_REDIS_RESOLVER_H_
#define REDIS_HA_REDIS_RESOLVER_H_

#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "util/event_fd.h"
#include "util/status.h"

namespace redis_ha::redis {

// A resolved address, port not set.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

class Resolver {
 public:
  using ResolveFn = std::function<Result<SocketAddress>(const std::string& host)>;

  // getaddrinfo(host), the first address returned.
  static Result<SocketAddress> SystemResolve(const std::string& host);

  explicit Resolver(ResolveFn resolve = SystemResolve,
                    std::chrono::milliseconds fresh_for = std::chrono::seconds(5));
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // nullopt: pending (queued or in progress); otherwise the address or why there is none.
  std::optional<Result<SocketAddress>> Lookup(const std::string& host);

  // Names held (answered, or being resolved).
  size_t cached_names();

  // Readable after a resolution completed; DrainNotify() makes it unreadable again.
  int notify_fd() const { return notify_.fd(); }
  void DrainNotify();

 private:
  struct Entry {
    bool in_flight = false;
    std::optional<Result<SocketAddress>> result;
    std::chrono::steady_clock::time_point done_at{};
    std::chrono::steady_clock::time_point looked_up_at{};
  };
  void Run(std::stop_token stop);

  const ResolveFn resolve_;
  const std::chrono::milliseconds fresh_for_;
  EventFd notify_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::map<std::string, Entry> entries_;
  std::deque<std::string> queue_;
  std::jthread worker_;  // last: joined before the members it uses go
};

}  // namespace redis_ha::redis

#endif  // REDIS_HA_REDIS_RESOLVER_H_
