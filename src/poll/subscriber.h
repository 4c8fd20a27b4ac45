// EventSubscriber: one long-lived pub/sub connection per known Sentinel (PSUBSCRIBE *),
// counting Sentinel events and keeping the most recent ones.
//
// Contract: the poller hands it the Sentinels to watch after each cycle; it connects to
// each (reconnecting with exponential backoff, 100 ms to 5 s), parses every event, counts
// those of model::kCountedEvents per (group, sentinel, event), keeps the last
// `kRecentEvents`, and hands `on_event` a Notice of each event that should be polled at
// once (urgent: +switch-master, +sdown, -sdown, +odown, -odown, +failover-end,
// +failover-state-reconf-slaves, +tilt; group is "" for +tilt) or whose payload the poller
// lays over that Sentinel's view (EventOverlay::Keeps, poll/observe.h). Counts are cumulative
// for the process lifetime, so nothing between two scrapes is lost. The thread sleeps until
// a subscription has data, a reconnect is due or the Sentinels change (no periodic tick).
//
// Thread-safety: SetSentinels, Fill, Start and Stop are safe from any thread.
#ifndef REDIS_HA_POLL_SUBSCRIBER_H_
#define REDIS_HA_POLL_SUBSCRIBER_H_

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "model/snapshot.h"
#include "parse/sentinel.h"
#include "redis/connection.h"
#include "util/event_fd.h"

namespace redis_ha::poll {

class EventSubscriber {
 public:
  static constexpr size_t kRecentEvents = 200;
  struct Target {
    redis::Endpoint endpoint;
    redis::Credentials credentials;
    friend bool operator==(const Target&, const Target&) = default;
  };

  // An event for the poller, from the subscriber's thread.
  struct Notice {
    std::string sentinel;  // the Sentinel that published it, as dialled
    parse::SentinelEvent event;
    std::chrono::steady_clock::time_point received;
    bool urgent = false;  // poll the group (everything, for +tilt) at once
  };

  // `resolver` resolves host names without blocking the subscriber (shared with the poll).
  EventSubscriber(std::function<void(const Notice&)> on_event,
                  redis::Limits limits, std::shared_ptr<redis::Resolver> resolver = nullptr);
  ~EventSubscriber();
  EventSubscriber(const EventSubscriber&) = delete;
  EventSubscriber& operator=(const EventSubscriber&) = delete;

  void Start();
  void Stop();
  // The Sentinels to stay subscribed to (others are dropped).
  void SetSentinels(std::vector<Target> targets);
  // Copies the counts and recent events into `snapshot`.
  void Fill(model::Snapshot& snapshot) const;
  // Number of live subscriptions (for tests and the benchmark).
  size_t subscribed() const;

 private:
  struct Slot {
    std::unique_ptr<redis::Connection> conn;
    std::chrono::steady_clock::time_point next_attempt{};
    std::chrono::milliseconds backoff{100};
    bool subscribed = false;
  };
  void Run(std::stop_token stop);
  void Handle(const std::string& sentinel, const redis::Reply& reply);

  std::function<void(const Notice&)> on_event_;
  redis::Limits limits_;
  std::shared_ptr<redis::Resolver> resolver_;
  mutable std::mutex mu_;
  std::vector<Target> targets_;                    // guarded by mu_
  std::map<model::EventKey, uint64_t> counts_;     // guarded by mu_
  std::deque<model::SentinelEventRecord> recent_;  // guarded by mu_
  size_t subscribed_ = 0;                          // guarded by mu_
  std::map<std::string, Slot> slots_;              // subscriber thread only
  EventFd wake_;                                   // ends the thread's wait: new Sentinels, Stop
  std::jthread thread_;
};

}  // namespace redis_ha::poll

#endif  // REDIS_HA_POLL_SUBSCRIBER_H_
