#include "redis/resolver.h"

#include <netdb.h>
#include <pthread.h>

#include <cstring>

namespace redis_ha::redis {

Result<SocketAddress> Resolver::SystemResolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    if (res != nullptr) freeaddrinfo(res);
    return MakeError(ErrorKind::kConnect, "cannot resolve " + host + ": " + gai_strerror(rc));
  }
  SocketAddress out;
  std::memcpy(&out.storage, res->ai_addr, res->ai_addrlen);
  out.length = res->ai_addrlen;
  freeaddrinfo(res);
  return out;
}

Resolver::Resolver(ResolveFn resolve, std::chrono::milliseconds fresh_for)
    : resolve_(std::move(resolve)), fresh_for_(fresh_for) {}

Resolver::~Resolver() {
  if (worker_.joinable()) {
    worker_.request_stop();
    cv_.notify_all();
    worker_.join();
  }
}

std::optional<Result<SocketAddress>> Resolver::Lookup(const std::string& host) {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  Entry& e = entries_[host];
  e.looked_up_at = now;
  if (e.in_flight) return std::nullopt;
  if (e.result && now - e.done_at < fresh_for_) return e.result;
  e.in_flight = true;
  queue_.push_back(host);
  if (!worker_.joinable()) worker_ = std::jthread([this](std::stop_token st) { Run(st); });
  cv_.notify_one();
  return std::nullopt;
}

size_t Resolver::cached_names() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void Resolver::DrainNotify() { notify_.Drain(); }

void Resolver::Run(std::stop_token stop) {
  ::pthread_setname_np(::pthread_self(), "resolver");
  std::unique_lock lock(mu_);
  while (!stop.stop_requested()) {
    if (!cv_.wait(lock, stop, [&] { return !queue_.empty(); })) break;
    const std::string host = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    Result<SocketAddress> r = resolve_(host);
    lock.lock();
    Entry& e = entries_[host];
    e.in_flight = false;
    e.result = std::move(r);
    e.done_at = std::chrono::steady_clock::now();
    // Forget the names nobody asked for in a while (at most once per resolution).
    std::erase_if(entries_, [&](const auto& entry) {
      return !entry.second.in_flight && e.done_at - entry.second.looked_up_at > 12 * fresh_for_;
    });
    notify_.Notify();
  }
}

}  // namespace redis_ha::redis
