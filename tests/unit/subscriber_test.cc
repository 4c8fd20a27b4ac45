// EventSubscriber against scripted Sentinels: subscribing, new Sentinels while idle, events.
#include "poll/subscriber.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/fake_server.h"

namespace redis_ha::poll {
namespace {

using redis_ha::testing::FakeServer;
using namespace std::chrono_literals;

// Waits up to 20 s for `done()`; the subscriber reacts in milliseconds, the deadline only
// keeps a broken build from hanging.
template <typename F>
bool WaitFor(const F& done) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

std::string Bulk(const std::string& s) {
  return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

// A Sentinel that confirms PSUBSCRIBE * and then publishes `event` once `publish` is set.
FakeServer::Script SentinelPublishing(const std::atomic<bool>& publish, std::string event,
                                      std::string payload) {
  return [&publish, event, payload](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 1, stop);
    FakeServer::SendAll(fd, "*3\r\n" + Bulk("psubscribe") + Bulk("*") + ":1\r\n");
    while (!publish && !stop) std::this_thread::sleep_for(2ms);
    FakeServer::SendAll(fd, "*4\r\n" + Bulk("pmessage") + Bulk("*") + Bulk(event) + Bulk(payload));
    FakeServer::WaitForStop(stop);
  };
}

// The groups the subscriber reported urgent, from its thread.
class UrgentGroups {
 public:
  std::function<void(const EventSubscriber::Notice&)> Recorder() {
    return [this](const EventSubscriber::Notice& n) {
      std::lock_guard lock(mu_);
      if (n.urgent) groups_.push_back(n.event.group);
      notices_.push_back(n);
    };
  }
  std::vector<EventSubscriber::Notice> Notices() {
    std::lock_guard lock(mu_);
    return notices_;
  }
  std::vector<std::string> Sorted() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out = groups_;
    std::sort(out.begin(), out.end());
    return out;
  }
  bool Has(const std::string& group) {
    std::lock_guard lock(mu_);
    return std::find(groups_.begin(), groups_.end(), group) != groups_.end();
  }

 private:
  std::mutex mu_;
  std::vector<std::string> groups_;
  std::vector<EventSubscriber::Notice> notices_;
};

EventSubscriber::Target TargetOf(const FakeServer& s) {
  return EventSubscriber::Target{redis::Endpoint{"127.0.0.1", s.port()}, {}};
}

TEST(SubscriberTest, SubscribesToNewSentinelsAndReportsUrgentEvents) {
  std::atomic<bool> publish{false};
  FakeServer a(SentinelPublishing(publish, "+sdown", "master g1 127.0.0.1 6379"));
  FakeServer b(SentinelPublishing(publish, "+switch-master", "g2 127.0.0.1 6379 127.0.0.1 6380"));
  UrgentGroups urgent;
  EventSubscriber sub(urgent.Recorder(), redis::Limits{});
  sub.Start();
  sub.SetSentinels({TargetOf(a)});
  ASSERT_TRUE(WaitFor([&] { return sub.subscribed() == 1; }));
  // Given while the thread sleeps with nothing to do: it wakes for the new Sentinel.
  sub.SetSentinels({TargetOf(a), TargetOf(b)});
  ASSERT_TRUE(WaitFor([&] { return sub.subscribed() == 2; }));
  // The same list again changes nothing.
  sub.SetSentinels({TargetOf(a), TargetOf(b)});
  EXPECT_EQ(sub.subscribed(), 2u);

  publish = true;
  ASSERT_TRUE(WaitFor([&] { return urgent.Sorted().size() == 2; }));
  EXPECT_EQ(urgent.Sorted(), (std::vector<std::string>{"g1", "g2"}));
  // Each with the Sentinel that published it and the payload parsed, for the poller to lay
  // over that Sentinel's view.
  for (const auto& n : urgent.Notices()) {
    if (n.event.event == "+switch-master") {
      EXPECT_EQ(n.sentinel, "127.0.0.1:" + std::to_string(b.port()));
      EXPECT_EQ(n.event.new_port, 6380);
    } else {
      EXPECT_EQ(n.sentinel, "127.0.0.1:" + std::to_string(a.port()));
      EXPECT_EQ(n.event.instance_type, "master");
      EXPECT_EQ(n.event.port, 6379);
    }
    EXPECT_NE(n.received, std::chrono::steady_clock::time_point{});
  }
  model::Snapshot snap;
  sub.Fill(snap);
  ASSERT_EQ(snap.recent_events.size(), 2u);

  // Dropping a Sentinel closes its subscription; Stop ends the thread while it waits.
  sub.SetSentinels({TargetOf(b)});
  ASSERT_TRUE(WaitFor([&] { return sub.subscribed() == 1; }));
  sub.Stop();
}

// A Sentinel that floods its subscriber with messages does not keep it from hearing the
// others (its connection is dropped if more than Connection::kMaxUnreadPushes pile up; see
// PoolTest.ASubscriptionWithTooManyUnreadMessagesFails).
TEST(SubscriberTest, AFloodingSentinelDoesNotDeafenTheSubscriberToTheOthers) {
  std::atomic<bool> publish{false};
  FakeServer flood([](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 1, stop);
    FakeServer::SendAll(fd, "*3\r\n" + Bulk("psubscribe") + Bulk("*") + ":1\r\n");
    std::string burst;
    const std::string one = "*4\r\n" + Bulk("pmessage") + Bulk("*") + Bulk("+tilt") +
                            Bulk("#tilt mode entered");
    for (int i = 0; i < 2000; ++i) burst += one;
    while (!stop) FakeServer::SendAll(fd, burst);
  });
  FakeServer fine(SentinelPublishing(publish, "+sdown", "master g1 127.0.0.1 6379"));
  UrgentGroups urgent;
  EventSubscriber sub(urgent.Recorder(), redis::Limits{});
  sub.Start();
  sub.SetSentinels({TargetOf(flood), TargetOf(fine)});
  ASSERT_TRUE(WaitFor([&] { return fine.connections() >= 1 && flood.connections() >= 1; }));
  publish = true;
  ASSERT_TRUE(WaitFor([&] { return urgent.Has("g1"); }));
}

}  // namespace
}  // namespace redis_ha::poll
