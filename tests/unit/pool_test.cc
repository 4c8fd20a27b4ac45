// ConnectionPool / Connection against scripted peers: pipelining, deadlines, limits.
#include "redis/pool.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "support/fake_server.h"

namespace redis_ha::redis {
namespace {

using redis_ha::testing::FakeServer;
using namespace std::chrono_literals;

bool WaitForConnections(const FakeServer& s, int n) {
  for (int i = 0; i < 200; ++i) {
    if (s.connections() >= n) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

Request Req(const FakeServer& s, std::vector<std::vector<std::string>> cmds,
            Credentials creds = {}) {
  return Request{Endpoint{"127.0.0.1", s.port()}, creds, std::move(cmds)};
}

TEST(PoolTest, PipelinesCommandsAndReusesTheConnection) {
  FakeServer server([](int fd, const std::atomic<bool>& stop) {
    for (int round = 0; round < 2 && !stop; ++round) {
      std::string got = FakeServer::ReadCommands(fd, 2, stop);
      FakeServer::SendAll(fd, "+PONG\r\n*2\r\n$1\r\na\r\n:7\r\n");
    }
    FakeServer::WaitForStop(stop);
  });
  ConnectionPool pool;
  for (int i = 0; i < 2; ++i) {
    auto r = pool.Execute({Req(server, {{"PING"}, {"X"}})}, 1000ms);
    ASSERT_TRUE(r[0].status.ok()) << r[0].status.error().message;
    ASSERT_EQ(r[0].replies.size(), 2u);
    EXPECT_EQ(r[0].replies[0].str, "PONG");
    ASSERT_EQ(r[0].replies[1].elements.size(), 2u);
    EXPECT_EQ(r[0].replies[1].elements[0].str, "a");
    EXPECT_EQ(r[0].replies[1].elements[1].integer, 7);
    EXPECT_EQ(r[0].reconnected, i == 0);
  }
  EXPECT_EQ(server.connections(), 1);
}

// A request with a reply handler gets each reply as it is decoded, in order, and an
// empty response; the next request on the same connection, without one, gets its replies
// in the response again.
TEST(PoolTest, RepliesGoToTheReplyHandlerOneByOne) {
  FakeServer server([](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 4, stop);
    FakeServer::SendAll(fd, "+a\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n:5\r\n*2\r\n$1\r\nz\r\n:6\r\n");
    FakeServer::ReadCommands(fd, 1, stop);
    FakeServer::SendAll(fd, "+PONG\r\n");
    FakeServer::WaitForStop(stop);
  });
  ConnectionPool pool;
  std::vector<std::string> seen;
  bool done = false;
  Response first;
  pool.Submit(
      Req(server, {{"A"}, {"B"}, {"C"}, {"D"}}), std::chrono::steady_clock::now() + 10s,
      [&](Response&& r) {
        first = std::move(r);
        done = true;
      },
      [&](size_t index, Reply& reply) {
        seen.push_back(std::to_string(index) + " " + DebugString(reply));
      });
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!done && std::chrono::steady_clock::now() < deadline) {
    pool.Run(std::chrono::steady_clock::now() + 100ms, {});
  }
  ASSERT_TRUE(done);
  ASSERT_TRUE(first.status.ok()) << first.status.error().message;
  EXPECT_TRUE(first.replies.empty());
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].substr(0, 2), "0 ");
  EXPECT_NE(seen[0].find("a"), std::string::npos) << seen[0];
  EXPECT_NE(seen[1].find("x"), std::string::npos) << seen[1];
  EXPECT_NE(seen[1].find("y"), std::string::npos) << seen[1];
  EXPECT_NE(seen[2].find("5"), std::string::npos) << seen[2];
  EXPECT_EQ(seen[3].substr(0, 2), "3 ");
  EXPECT_NE(seen[3].find("z"), std::string::npos) << seen[3];

  auto second = pool.Execute({Req(server, {{"PING"}})}, 1000ms);
  ASSERT_TRUE(second[0].status.ok()) << second[0].status.error().message;
  ASSERT_EQ(second[0].replies.size(), 1u);
  EXPECT_EQ(second[0].replies[0].str, "PONG");
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(server.connections(), 1);
}

// An answer cut short after some replies went to the handler fails as a whole; one that
// carries an authentication error is an authentication failure, as without a handler.
TEST(PoolTest, ARequestWithAReplyHandlerFailsAsAWhole) {
  FakeServer cut([](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 3, stop);
    FakeServer::SendAll(fd, "+a\r\n+b\r\n");
    // returning closes the connection before the third reply
  });
  FakeServer noauth(FakeServer::Answer(2,
                                       "-NOAUTH Authentication required.\r\n"
                                       "-NOAUTH Authentication required.\r\n"));
  ConnectionPool pool;
  for (FakeServer* server : {&cut, &noauth}) {
    const size_t count = server == &cut ? 3 : 2;
    std::vector<std::vector<std::string>> cmds(count, std::vector<std::string>{"X"});
    size_t handed = 0;
    bool done = false;
    Response r;
    pool.Submit(
        Req(*server, cmds), std::chrono::steady_clock::now() + 10s,
        [&](Response&& resp) {
          r = std::move(resp);
          done = true;
        },
        [&](size_t, Reply&) { ++handed; });
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      pool.Run(std::chrono::steady_clock::now() + 100ms, {});
    }
    ASSERT_TRUE(done);
    ASSERT_FALSE(r.status.ok());
    if (server == &cut) {
      EXPECT_EQ(handed, 2u);
      EXPECT_EQ(r.status.error().kind, ErrorKind::kProtocol) << r.status.error().message;
    } else {
      EXPECT_EQ(handed, 2u);
      EXPECT_EQ(r.status.error().kind, ErrorKind::kAuth) << r.status.error().message;
    }
  }
}

TEST(PoolTest, AnIdleConnectionClosedByTheServerIsReplacedOnce) {
  FakeServer server([](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 1, stop);
    FakeServer::SendAll(fd, "+PONG\r\n");
    // returning closes this connection while the client holds it idle
  });
  ConnectionPool pool;
  auto first = pool.Execute({Req(server, {{"PING"}})}, 1000ms);
  ASSERT_TRUE(first[0].status.ok());
  ASSERT_TRUE(WaitForConnections(server, 1));
  auto second = pool.Execute({Req(server, {{"PING"}})}, 1000ms);
  ASSERT_TRUE(second[0].status.ok()) << second[0].status.error().message;
  EXPECT_EQ(second[0].replies[0].str, "PONG");
  EXPECT_TRUE(second[0].reconnected);
  EXPECT_EQ(server.connections(), 2);
}

// Runs `pool` until `done` holds or 30 s have passed; Run() returns early only through a
// handler's Interrupt().
template <typename Pred>
bool RunUntil(ConnectionPool& pool, Pred done) {
  const auto deadline = ConnectionPool::Clock::now() + 30s;
  while (!done() && ConnectionPool::Clock::now() < deadline) pool.Run(deadline, {});
  return done();
}

// A server that hangs up on an idle connection (it exited or restarted) is reported while
// Run() waits with nothing in flight, and the next request connects again.
TEST(PoolTest, AServerHangingUpOnAnIdleConnectionIsReportedWhileRunWaits) {
  std::atomic<int> accepted{0};
  std::atomic<bool> hang_up{false};
  FakeServer server([&](int fd, const std::atomic<bool>& stop) {
    const bool first = accepted++ == 0;
    FakeServer::ReadCommands(fd, 1, stop);
    FakeServer::SendAll(fd, "+PONG\r\n");
    // The first connection is hung up on once the client holds it idle; the next stays.
    while (!stop && !(first && hang_up)) std::this_thread::sleep_for(1ms);
  });
  ConnectionPool pool;
  std::vector<Endpoint> closed;
  pool.SetOnIdleClose([&](const Endpoint& e) {
    closed.push_back(e);
    pool.Interrupt();
  });
  auto first = pool.Execute({Req(server, {{"PING"}})}, 1000ms);
  ASSERT_TRUE(first[0].status.ok());
  EXPECT_TRUE(closed.empty());
  hang_up = true;
  ASSERT_TRUE(RunUntil(pool, [&] { return !closed.empty(); }));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0], (Endpoint{"127.0.0.1", server.port()}));
  auto second = pool.Execute({Req(server, {{"PING"}})}, 1000ms);
  ASSERT_TRUE(second[0].status.ok()) << second[0].status.error().message;
  EXPECT_TRUE(second[0].reconnected);
  EXPECT_EQ(closed.size(), 1u) << "the second connection stays open";
}

// A server that answers on a connection it had been answering and closes it right behind
// the answer is reported once, whether the hang-up came with the answer or after it.
TEST(PoolTest, AServerHangingUpRightBehindAnAnswerIsReportedOnce) {
  FakeServer server([&](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 1, stop);
    FakeServer::SendAll(fd, "+first\r\n");
    FakeServer::ReadCommands(fd, 1, stop);
    FakeServer::SendAll(fd, "+last\r\n");  // and returning closes the connection
  });
  ConnectionPool pool;
  int closed = 0;
  pool.SetOnIdleClose([&](const Endpoint&) {
    ++closed;
    pool.Interrupt();
  });
  ASSERT_TRUE(pool.Execute({Req(server, {{"PING"}})}, 1000ms)[0].status.ok());
  auto last = pool.Execute({Req(server, {{"PING"}})}, 1000ms);
  ASSERT_TRUE(last[0].status.ok());
  EXPECT_EQ(last[0].replies[0].str, "last");
  EXPECT_FALSE(last[0].reconnected);
  ASSERT_TRUE(RunUntil(pool, [&] { return closed > 0; }));
  EXPECT_EQ(closed, 1);
}

// A request that finds its idle connection already hung up on (the hang-up unread when it
// was sent: no Run() in between) is retried on a new connection, and the hang-up reported.
TEST(PoolTest, AHangUpFoundBySendingIsReportedAndTheRequestRetried) {
  std::atomic<int> accepted{0};
  std::atomic<bool> hang_up{false}, hung_up{false};
  FakeServer server([&](int fd, const std::atomic<bool>& stop) {
    if (accepted++ > 0) {  // the retry's connection
      FakeServer::ReadCommands(fd, 1, stop);
      FakeServer::SendAll(fd, "+again\r\n");
      FakeServer::WaitForStop(stop);
      return;
    }
    FakeServer::ReadCommands(fd, 1, stop);
    FakeServer::SendAll(fd, "+PONG\r\n");
    while (!stop && !hang_up) std::this_thread::sleep_for(1ms);
    ::shutdown(fd, SHUT_RDWR);  // the FIN is out before the client is told
    hung_up = true;
  });
  ConnectionPool pool;
  int closed = 0;
  pool.SetOnIdleClose([&](const Endpoint&) { ++closed; });
  ASSERT_TRUE(pool.Execute({Req(server, {{"PING"}})}, 1000ms)[0].status.ok());
  hang_up = true;
  for (int i = 0; i < 3000 && !hung_up; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(hung_up);
  auto second = pool.Execute({Req(server, {{"PING"}})}, 1000ms);
  ASSERT_TRUE(second[0].status.ok()) << second[0].status.error().message;
  EXPECT_EQ(second[0].replies[0].str, "again");
  EXPECT_TRUE(second[0].reconnected);
  EXPECT_EQ(closed, 1);
}

// An idle connection the server keeps open is never reported.
TEST(PoolTest, AnIdleConnectionLeftOpenIsNotReported) {
  FakeServer server([](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 1, stop);
    FakeServer::SendAll(fd, "+PONG\r\n");
    FakeServer::WaitForStop(stop);
  });
  ConnectionPool pool;
  int closed = 0;
  pool.SetOnIdleClose([&](const Endpoint&) { ++closed; });
  ASSERT_TRUE(pool.Execute({Req(server, {{"PING"}})}, 1000ms)[0].status.ok());
  pool.Run(ConnectionPool::Clock::now() + 200ms, {});
  EXPECT_EQ(closed, 0);
  EXPECT_EQ(server.connections(), 1);
}

// A second request for a server that is still answering the first waits for it on the same
// connection (one request on the wire), and is sent the moment the first is answered.
TEST(PoolTest, ARequestForABusyServerWaitsOnItsConnectionAndGetsItsOwnReplies) {
  std::atomic<bool> release{false};
  std::string second;
  FakeServer server([&](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 1, stop);
    while (!release && !stop) std::this_thread::sleep_for(1ms);
    FakeServer::SendAll(fd, "+first\r\n");
    second = FakeServer::ReadCommands(fd, 2, stop);
    FakeServer::SendAll(fd, "+second\r\n:2\r\n");
    FakeServer::WaitForStop(stop);
  });
  FakeServer other(FakeServer::Answer(1, "+other\r\n"));
  ConnectionPool pool;
  const auto deadline = ConnectionPool::Clock::now() + 10s;
  std::vector<std::string> order;
  pool.Submit(Req(server, {{"ECHO", "first"}}), deadline, [&](Response&& r) {
    ASSERT_TRUE(r.status.ok()) << r.status.error().message;
    order.push_back(r.replies.at(0).str);
  });
  pool.Submit(Req(server, {{"ECHO", "second"}, {"DBSIZE"}}), deadline, [&](Response&& r) {
    ASSERT_TRUE(r.status.ok()) << r.status.error().message;
    ASSERT_EQ(r.replies.size(), 2u);
    EXPECT_EQ(r.replies[1].integer, 2);
    order.push_back(r.replies[0].str);
    pool.Interrupt();
  });
  pool.Submit(Req(other, {{"PING"}}), deadline, [&](Response&& r) {
    ASSERT_TRUE(r.status.ok()) << r.status.error().message;
    order.push_back(r.replies.at(0).str);
    release = true;  // the busy server answers only once the other one has been handed over
  });
  EXPECT_TRUE(pool.Busy(Endpoint{"127.0.0.1", server.port()}));
  EXPECT_EQ(pool.in_flight(), 3u);
  pool.Run(deadline, {});
  EXPECT_EQ(order, (std::vector<std::string>{"other", "first", "second"}));
  EXPECT_EQ(second.find("ECHO"), second.rfind("ECHO"));  // sent after the first was answered
  EXPECT_NE(second.find("DBSIZE"), std::string::npos);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(pool.in_flight(), 0u);
  EXPECT_FALSE(pool.Busy(Endpoint{"127.0.0.1", server.port()}));
}

// Each request keeps its own deadline, the wait behind another included; the one waiting
// times out without being sent, the one on the wire at its own deadline, and the ones still
// queued behind it with it.
TEST(PoolTest, ARequestWaitingBehindAStalledOneTimesOutAtItsOwnDeadline) {
  FakeServer stalled([](int, const std::atomic<bool>& stop) { FakeServer::WaitForStop(stop); });
  ConnectionPool pool;
  const auto t0 = ConnectionPool::Clock::now();
  std::vector<std::pair<int, Status>> got;
  pool.Submit(Req(stalled, {{"PING"}}), t0 + 400ms,
              [&](Response&& r) { got.emplace_back(1, r.status); });
  pool.Submit(Req(stalled, {{"PING"}}), t0 + 100ms,
              [&](Response&& r) { got.emplace_back(2, r.status); });
  pool.Submit(Req(stalled, {{"PING"}}), t0 + 60s,
              [&](Response&& r) { got.emplace_back(3, r.status); });
  while (pool.in_flight() > 0) pool.Run(t0 + 120s, {});
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].first, 2);  // the shorter deadline comes first, though submitted second
  EXPECT_EQ(got[1].first, 1);
  // The third fails with the one on the wire, not at its own deadline a minute later.
  EXPECT_EQ(got[2].first, 3);
  EXPECT_LT(ConnectionPool::Clock::now(), t0 + 60s);
  EXPECT_NE(got[2].second.error().message.find("the request ahead of it got none"),
            std::string::npos)
      << got[2].second.error().message;
  for (const auto& [_, s] : got) {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().kind, ErrorKind::kTimeout);
  }
  EXPECT_NE(got[0].second.error().message.find("within 100ms"), std::string::npos)
      << got[0].second.error().message;
}

// A handler may submit the next request; Run returns on a wake-up from another thread
// without failing what is in flight, and nothing is lost by returning.
TEST(PoolTest, RunReturnsWhenWokenAndHandlersMaySubmitMore) {
  std::atomic<bool> release{false};
  FakeServer server([&](int fd, const std::atomic<bool>& stop) {
    for (int i = 0; i < 2 && !stop; ++i) {
      FakeServer::ReadCommands(fd, 1, stop);
      while (!release && !stop) std::this_thread::sleep_for(1ms);
      FakeServer::SendAll(fd, ":" + std::to_string(i) + "\r\n");
    }
    FakeServer::WaitForStop(stop);
  });
  ConnectionPool pool;
  EventFd wake;
  ASSERT_GE(wake.fd(), 0);
  const auto deadline = ConnectionPool::Clock::now() + 10s;
  std::vector<int64_t> got;
  pool.Submit(Req(server, {{"INCR", "k"}}), deadline, [&](Response&& r) {
    ASSERT_TRUE(r.status.ok());
    got.push_back(r.replies[0].integer);
    pool.Submit(Req(server, {{"INCR", "k"}}), deadline, [&](Response&& r2) {
      ASSERT_TRUE(r2.status.ok());
      got.push_back(r2.replies[0].integer);
    });
  });
  std::thread waker([&] {
    std::this_thread::sleep_for(20ms);
    wake.Notify();
  });
  pool.Run(deadline, {}, &wake);  // returns on the wake-up: the server has not answered
  waker.join();
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(pool.in_flight(), 1u);
  release = true;
  while (pool.in_flight() > 0) pool.Run(deadline, {}, &wake);
  EXPECT_EQ(got, (std::vector<int64_t>{0, 1}));
  // With nothing in flight Run waits until `until`.
  const auto t = ConnectionPool::Clock::now();
  pool.Run(t + 30ms, {}, &wake);
  EXPECT_GE(ConnectionPool::Clock::now(), t + 30ms);
}

TEST(PoolTest, AReplyOneByteAtATimeIsReassembled) {
  FakeServer server([](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 1, stop);
    for (char c : std::string("$5\r\nhello\r\n")) FakeServer::SendAll(fd, std::string(1, c));
    FakeServer::WaitForStop(stop);
  });
  ConnectionPool pool;
  auto r = pool.Execute({Req(server, {{"GET", "k"}})}, 1000ms);
  ASSERT_TRUE(r[0].status.ok());
  EXPECT_EQ(r[0].replies[0].str, "hello");
}

TEST(PoolTest, AStalledServerTimesOutWithoutDelayingAnother) {
  FakeServer stalled([](int, const std::atomic<bool>& stop) { FakeServer::WaitForStop(stop); });
  FakeServer fine(FakeServer::Answer(1, "+OK\r\n"));
  ConnectionPool pool;
  auto r = pool.Execute({Req(stalled, {{"PING"}}), Req(fine, {{"PING"}})}, 200ms);
  ASSERT_FALSE(r[0].status.ok());
  EXPECT_EQ(r[0].status.error().kind, ErrorKind::kTimeout);
  ASSERT_TRUE(r[1].status.ok());
  EXPECT_EQ(r[1].replies[0].str, "OK");
}

TEST(PoolTest, EachResponseIsHandedOverOnceAsSoonAsItCompletes) {
  FakeServer stalled([](int, const std::atomic<bool>& stop) { FakeServer::WaitForStop(stop); });
  FakeServer fine(FakeServer::Answer(2, "+OK\r\n:42\r\n"));
  int refused_port;
  {
    FakeServer gone([](int, const std::atomic<bool>&) {});
    refused_port = gone.port();
  }
  ConnectionPool pool;
  std::vector<std::pair<size_t, Response>> got;
  pool.Execute({Req(stalled, {{"PING"}}), Req(fine, {{"PING"}, {"DBSIZE"}}),
                Request{Endpoint{"127.0.0.1", refused_port}, {}, {{"PING"}}}},
               300ms, {}, [&](size_t i, Response&& r) { got.emplace_back(i, std::move(r)); });
  ASSERT_EQ(got.size(), 3u);
  // The stalled server is answered last, at the deadline; the others before it.
  EXPECT_EQ(got[2].first, 0u);
  ASSERT_FALSE(got[2].second.status.ok());
  EXPECT_EQ(got[2].second.status.error().kind, ErrorKind::kTimeout);
  for (size_t k = 0; k < 2; ++k) {
    const auto& [i, r] = got[k];
    if (i == 1) {
      ASSERT_TRUE(r.status.ok()) << r.status.error().message;
      ASSERT_EQ(r.replies.size(), 2u);
      EXPECT_EQ(r.replies[0].str, "OK");
      EXPECT_EQ(r.replies[1].integer, 42);
    } else {
      EXPECT_EQ(i, 2u);
      ASSERT_FALSE(r.status.ok());
      EXPECT_EQ(r.status.error().kind, ErrorKind::kConnect);
    }
  }
  EXPECT_NE(got[0].first, got[1].first);
}

TEST(PoolTest, ManyPipelinedRepliesInOneBurstAreAllDecoded) {
  // 400 replies of 0 to 2000 bytes written at once (~400 KB): the reader is fed in pieces
  // and a read that fills the buffer is followed by another.
  constexpr int kReplies = 400;
  auto payload = [](int i) {
    return std::string(static_cast<size_t>(i * 37 % 2001), static_cast<char>('a' + i % 26));
  };
  FakeServer server([&](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, kReplies, stop);
    std::string all;
    for (int i = 0; i < kReplies; ++i) {
      const std::string p = payload(i);
      all += "$" + std::to_string(p.size()) + "\r\n" + p + "\r\n";
    }
    FakeServer::SendAll(fd, all);
    FakeServer::WaitForStop(stop);
  });
  std::vector<std::vector<std::string>> cmds(kReplies, std::vector<std::string>{"GET", "k"});
  ConnectionPool pool;
  auto r = pool.Execute({Req(server, cmds)}, 5s);
  ASSERT_TRUE(r[0].status.ok()) << r[0].status.error().message;
  ASSERT_EQ(r[0].replies.size(), static_cast<size_t>(kReplies));
  for (int i = 0; i < kReplies; ++i) {
    ASSERT_EQ(r[0].replies[static_cast<size_t>(i)].str, payload(i)) << "reply " << i;
  }
}

TEST(PoolTest, EncodedCommandsGoOutLikeTheCommandsTheyEncode) {
  std::mutex mu;
  std::vector<std::string> received;
  auto script = [&](int fd, const std::atomic<bool>& stop) {
    for (int round = 0; round < 2 && !stop; ++round) {
      std::string got = FakeServer::ReadCommands(fd, 2, stop);
      {
        std::lock_guard lock(mu);
        received.push_back(got);
      }
      FakeServer::SendAll(fd, "+PONG\r\n$3\r\nbar\r\n");
    }
    FakeServer::WaitForStop(stop);
  };
  FakeServer server(script);
  const std::vector<std::vector<std::string>> cmds{{"PING"}, {"GET", "foo"}};
  ConnectionPool pool;
  auto plain = pool.Execute({Req(server, cmds)}, 2s);
  Request encoded = Req(server, {});
  encoded.encoded = EncodedCommands::Encode(cmds);
  EXPECT_EQ(encoded.command_count(), 2u);
  auto shared = pool.Execute({encoded}, 2s);
  for (const auto* r : {&plain, &shared}) {
    ASSERT_TRUE((*r)[0].status.ok()) << (*r)[0].status.error().message;
    ASSERT_EQ((*r)[0].replies.size(), 2u);
    EXPECT_EQ((*r)[0].replies[0].str, "PONG");
    EXPECT_EQ((*r)[0].replies[1].str, "bar");
  }
  std::lock_guard lock(mu);
  ASSERT_EQ(received.size(), 2u);
  EXPECT_EQ(received[0], "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$3\r\nfoo\r\n");
  EXPECT_EQ(received[1], received[0]);
}

// Two replies are the same value (type, text, integer, elements), recursively.
bool SameReply(const Reply& a, const Reply& b) {
  if (a.type != b.type || a.str != b.str || a.integer != b.integer ||
      a.elements.size() != b.elements.size()) {
    return false;
  }
  for (size_t i = 0; i < a.elements.size(); ++i) {
    if (!SameReply(a.elements[i], b.elements[i])) return false;
  }
  return true;
}

TEST(PoolTest, RepliesDecodedIntoRecycledOnesAreExactlyTheNewReplies) {
  // The pool hands each response's replies back to its connection, which decodes the next
  // ones into their memory. Every round here answers the same three commands with replies
  // of other shapes: arrays that shrink, grow or become strings, strings that become
  // arrays, integers, nil and errors. Each must come out exactly as sent.
  const std::string long_text(1000, 'x');
  const std::vector<std::string> wire = {
      "*3\r\n$5\r\nhello\r\n:1\r\n*1\r\n$40\r\n" + std::string(40, 'r') + "\r\n"
      "$1000\r\n" + long_text + "\r\n"
      ":5\r\n",
      "$5\r\nshort\r\n"
      "*5\r\n$1\r\na\r\n$-1\r\n*2\r\n:7\r\n+OK\r\n:9\r\n$0\r\n\r\n"
      "-ERR no\r\n",
      "*2\r\n:3\r\n$2\r\nhi\r\n"
      "$-1\r\n"
      "$1000\r\n" + long_text + "\r\n",
  };
  const std::vector<std::vector<Reply>> want = {
      {Reply::Array({Reply::String("hello"), Reply::Integer(1),
                     Reply::Array({Reply::String(std::string(40, 'r'))})}),
       Reply::String(long_text), Reply::Integer(5)},
      {Reply::String("short"),
       Reply::Array({Reply::String("a"), Reply::Nil(),
                     Reply::Array({Reply::Integer(7), Reply::Status("OK")}), Reply::Integer(9),
                     Reply::String("")}),
       Reply::Error("ERR no")},
      {Reply::Array({Reply::Integer(3), Reply::String("hi")}), Reply::Nil(),
       Reply::String(long_text)},
  };
  FakeServer server([&](int fd, const std::atomic<bool>& stop) {
    for (size_t round = 0; round < wire.size() && !stop; ++round) {
      FakeServer::ReadCommands(fd, 3, stop);
      FakeServer::SendAll(fd, wire[round]);
    }
    FakeServer::WaitForStop(stop);
  });
  ConnectionPool pool;
  const std::vector<Request> requests{Req(server, {{"A"}, {"B"}, {"C"}})};
  for (size_t round = 0; round < wire.size(); ++round) {
    int calls = 0;
    pool.Execute(requests, 2s, {}, [&](size_t, Response&& r) {
      ++calls;
      ASSERT_TRUE(r.status.ok()) << r.status.error().message;
      ASSERT_EQ(r.replies.size(), 3u);
      for (size_t i = 0; i < 3; ++i) {
        EXPECT_TRUE(SameReply(r.replies[i], want[round][i]))
            << "round " << round << " reply " << i << ": " << DebugString(r.replies[i], 2000);
      }
      // Left in place: the pool recycles them for the next round.
    });
    EXPECT_EQ(calls, 1);
  }
  EXPECT_EQ(server.connections(), 1);
}

// Runs I/O on `c` until `n` replies are waiting (or 10 s pass); takes them.
std::vector<Reply> Await(Connection& c, size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (c.PendingReplies() < n && std::chrono::steady_clock::now() < deadline) {
    pollfd p{c.fd(), c.Events(), 0};
    if (::poll(&p, 1, 100) > 0 && !c.HandleEvents(p.revents).ok()) break;
  }
  std::vector<Reply> out;
  while (c.HasReply()) out.push_back(c.PopReply());
  return out;
}

// Replies handed to a sink decode into the trees of earlier ones (at most kSinkSpares are
// kept): a reply reads exactly as it would have read decoded fresh, whatever shapes came
// before it, also where shapes vary (a group with a third replica, an empty table) and
// the values change from one answer to the next.
TEST(PoolTest, RepliesHandedToASinkReadAsIfDecodedFresh) {
  auto answer = [](int round) {
    const std::string v = std::to_string(round);
    std::string a = "*12\r\n";
    for (int i = 0; i < 12; ++i) {
      const std::string x = "value-" + v + "-" + std::to_string(i);
      a += "*2\r\n$4\r\nname\r\n$" + std::to_string(x.size()) + "\r\n" + x + "\r\n";
    }
    for (int g = 0; g < 50; ++g) {
      const std::string x = "run-id-of-a-replica-" + v + "-" + std::to_string(g);
      const std::string item = "*2\r\n$" + std::to_string(x.size()) + "\r\n" + x +
                               "\r\n:" + std::to_string(g * (round + 1)) + "\r\n";
      a += "+OK " + v + " quorum\r\n";
      const int replicas = g % 7 == 3 ? 3 : 2;
      a += "*" + std::to_string(replicas) + "\r\n";
      for (int k = 0; k < replicas; ++k) a += item;
      a += g % 5 == 4
               ? "*0\r\n"
               : "*1\r\n*3\r\n$1\r\ne\r\n$" + std::to_string(v.size()) + "\r\n" + v + "\r\n$-1\r\n";
    }
    return a;
  };
  constexpr int kReplies = 151;
  FakeServer server([&](int fd, const std::atomic<bool>& stop) {
    for (int round = 0; round < 3 && !stop; ++round) {
      FakeServer::ReadCommands(fd, kReplies, stop);
      FakeServer::SendAll(fd, answer(round % 2));
    }
    FakeServer::WaitForStop(stop);
  });
  FakeServer plain([&](int fd, const std::atomic<bool>& stop) {
    for (int round = 0; round < 2 && !stop; ++round) {
      FakeServer::ReadCommands(fd, kReplies, stop);
      FakeServer::SendAll(fd, answer(round));
    }
    FakeServer::WaitForStop(stop);
  });
  // What each answer reads decoded fresh.
  std::vector<std::vector<std::string>> expected(2);
  Connection fresh(Endpoint{"127.0.0.1", plain.port()}, {});
  ASSERT_TRUE(fresh.BeginConnect().ok());
  for (int round = 0; round < 2; ++round) {
    for (int k = 0; k < kReplies; ++k) fresh.Queue({"X"});
    std::vector<Reply> replies = Await(fresh, kReplies);
    ASSERT_EQ(replies.size(), static_cast<size_t>(kReplies));
    for (const auto& r : replies) expected[round].push_back(DebugString(r, 100000));
  }

  Connection c(Endpoint{"127.0.0.1", server.port()}, {});
  std::vector<std::string> seen;
  c.SetReplySink([&](Reply& r) { seen.push_back(DebugString(r, 100000)); });
  ASSERT_TRUE(c.BeginConnect().ok());
  for (int round = 0; round < 3; ++round) {
    seen.clear();
    for (int k = 0; k < kReplies; ++k) c.Queue({"X"});
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (c.PendingReplies() < kReplies && std::chrono::steady_clock::now() < deadline) {
      pollfd p{c.fd(), c.Events(), 0};
      if (::poll(&p, 1, 100) > 0) {
        ASSERT_TRUE(c.HandleEvents(p.revents).ok());
      }
    }
    ASSERT_EQ(c.TakeSunk(), static_cast<size_t>(kReplies)) << "round " << round;
    EXPECT_FALSE(c.HasReply());
    EXPECT_EQ(seen, expected[round % 2]) << "round " << round;
    EXPECT_LE(c.spare_replies(), Connection::kSinkSpares) << "round " << round;
  }
}

// The poller asks a node INFO every cycle and, every 30 s, four CONFIG GETs with it. The
// spares of such a cycle must not outlive it: kept, each would in turn take an INFO reply
// and hold on to it. And a recycled string that is too small grows to fit, not to double
// (an INFO reply grows by a byte now and then).
TEST(PoolTest, RecycledRepliesDoNotPileUpOrDoubleTheirStrings) {
  FakeServer server([](int fd, const std::atomic<bool>& stop) {
    std::string info(4000, 'i');
    for (int round = 0; round < 6 && !stop; ++round) {
      const int commands = round == 0 ? 5 : 1;
      FakeServer::ReadCommands(fd, commands, stop);
      info += 'j';
      std::string out = "$" + std::to_string(info.size()) + "\r\n" + info + "\r\n";
      for (int k = 1; k < commands; ++k) out += "*2\r\n$4\r\nsave\r\n$0\r\n\r\n";
      FakeServer::SendAll(fd, out);
    }
    FakeServer::WaitForStop(stop);
  });
  Connection c(Endpoint{"127.0.0.1", server.port()}, {});
  ASSERT_TRUE(c.BeginConnect().ok());
  for (int k = 0; k < 5; ++k) c.Queue(k == 0 ? std::vector<std::string>{"INFO"}
                                             : std::vector<std::string>{"CONFIG", "GET", "x"});
  std::vector<Reply> replies = Await(c, 5);
  ASSERT_EQ(replies.size(), 5u);
  c.Recycle(std::move(replies));
  EXPECT_EQ(c.spare_replies(), 5u);
  for (int round = 1; round < 6; ++round) {
    c.Queue({"INFO"});
    replies = Await(c, 1);
    ASSERT_EQ(replies.size(), 1u) << "round " << round;
    const size_t len = replies[0].str.size();
    EXPECT_EQ(len, 4000u + static_cast<size_t>(round) + 1);
    EXPECT_LE(replies[0].str.capacity(), len + len / 8 + 16) << "round " << round;
    c.Recycle(std::move(replies));
    EXPECT_EQ(c.spare_replies(), 1u) << "round " << round;
    c.ReleaseReadBuffer();  // as the pool does after each response: the next still decodes
  }
}

// The reading buffer is released between responses, never with a reply half read.
TEST(PoolTest, ReleasingTheReadBufferMidReplyLosesNothing) {
  std::atomic<bool> rest{false};
  FakeServer server([&](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 2, stop);
    FakeServer::SendAll(fd, "+first\r\n$10\r\nabcde");
    while (!rest && !stop) std::this_thread::sleep_for(1ms);
    FakeServer::SendAll(fd, "fghij\r\n");
    FakeServer::WaitForStop(stop);
  });
  Connection c(Endpoint{"127.0.0.1", server.port()}, {});
  ASSERT_TRUE(c.BeginConnect().ok());
  c.Queue({"A"});
  c.Queue({"B"});
  std::vector<Reply> first = Await(c, 1);
  // Until the half reply is in too (the two parts may come apart or together).
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (c.bytes_received() < 18 && std::chrono::steady_clock::now() < deadline) {
    pollfd p{c.fd(), c.Events(), 0};
    if (::poll(&p, 1, 100) > 0) {
      ASSERT_TRUE(c.HandleEvents(p.revents).ok());
    }
  }
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].str, "first");
  c.ReleaseReadBuffer();  // "$10\r\nabcde" is buffered: kept
  rest = true;
  std::vector<Reply> second = Await(c, 1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].str, "abcdefghij");
}

TEST(PoolTest, GarbageIsAProtocolError) {
  FakeServer server(FakeServer::Answer(1, "HTTP/1.1 400 Bad Request\r\n\r\n"));
  ConnectionPool pool;
  auto r = pool.Execute({Req(server, {{"PING"}})}, 1000ms);
  ASSERT_FALSE(r[0].status.ok());
  EXPECT_EQ(r[0].status.error().kind, ErrorKind::kProtocol);
}

// A server that answers and then keeps sending replies, faster than they can be decoded:
// the read loop must not follow it (it would never return, and every reply would stay in
// memory). A reply nobody asked for is a protocol error; the other server is unaffected.
TEST(PoolTest, AServerStreamingRepliesNobodyAskedForIsAProtocolError) {
  FakeServer flood([](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 1, stop);
    std::string burst;
    for (int i = 0; i < 20000; ++i) burst += "+OK\r\n";
    while (!stop) FakeServer::SendAll(fd, burst);
  });
  FakeServer fine(FakeServer::Answer(1, "+PONG\r\n"));
  ConnectionPool pool;
  auto r = pool.Execute({Req(flood, {{"PING"}}), Req(fine, {{"PING"}})}, 10000ms);
  ASSERT_FALSE(r[0].status.ok());
  EXPECT_EQ(r[0].status.error().kind, ErrorKind::kProtocol);
  EXPECT_NE(r[0].status.error().message.find("no command asked for"), std::string::npos)
      << r[0].status.error().message;
  ASSERT_TRUE(r[1].status.ok());
  EXPECT_EQ(r[1].replies[0].str, "PONG");
}

// One reply too many in the same packet as the answer: the pipeline is out of step, so
// the answer is not trusted either.
TEST(PoolTest, AnExtraReplyAfterTheAnswersIsAProtocolError) {
  FakeServer server(FakeServer::Answer(2, "+A\r\n+B\r\n+C\r\n"));
  ConnectionPool pool;
  auto r = pool.Execute({Req(server, {{"PING"}, {"PING"}})}, 2000ms);
  ASSERT_FALSE(r[0].status.ok());
  EXPECT_EQ(r[0].status.error().kind, ErrorKind::kProtocol);
}

// A subscription takes messages nobody asked for, but no more than kMaxUnreadPushes of
// them waiting: a flood cannot fill memory.
TEST(PoolTest, ASubscriptionWithTooManyUnreadMessagesFails) {
  FakeServer server([](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 1, stop);
    std::string burst;
    for (size_t i = 0; i < 1000; ++i) burst += "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nx\r\n";
    for (size_t sent = 0; sent <= Connection::kMaxUnreadPushes + 1000 && !stop; sent += 1000) {
      FakeServer::SendAll(fd, burst);
    }
    FakeServer::WaitForStop(stop);
  });
  Connection c(Endpoint{"127.0.0.1", server.port()}, {});
  c.AcceptPushes();
  ASSERT_TRUE(c.BeginConnect().ok());
  c.Queue({"SUBSCRIBE", "c"});
  Status last = Status::Ok();
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (last.ok() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{c.fd(), c.Events(), 0};
    if (::poll(&p, 1, 100) > 0) last = c.HandleEvents(p.revents);  // nothing taken
  }
  ASSERT_FALSE(last.ok());
  EXPECT_EQ(last.error().kind, ErrorKind::kProtocol);
  EXPECT_NE(last.error().message.find("unread messages"), std::string::npos)
      << last.error().message;
}

TEST(PoolTest, AHugeArrayHeaderIsRefusedBeforeAllocation) {
  FakeServer server(FakeServer::Answer(1, "*10000000\r\n$1\r\na\r\n"));
  ConnectionPool pool(Limits{1 << 20, 1000});
  auto r = pool.Execute({Req(server, {{"PING"}})}, 1000ms);
  ASSERT_FALSE(r[0].status.ok());
  EXPECT_EQ(r[0].status.error().kind, ErrorKind::kProtocol);
  EXPECT_NE(r[0].status.error().message.find("array too large"), std::string::npos);
}

TEST(PoolTest, AReplyLargerThanTheLimitIsRefused) {
  FakeServer server([](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 1, stop);
    FakeServer::SendAll(fd, "$100000000\r\n");
    std::string chunk(64 * 1024, 'x');
    for (int i = 0; i < 64 && !stop; ++i) FakeServer::SendAll(fd, chunk);
    FakeServer::WaitForStop(stop);
  });
  ConnectionPool pool(Limits{1 << 20, 1000});
  auto r = pool.Execute({Req(server, {{"INFO"}})}, 2000ms);
  ASSERT_FALSE(r[0].status.ok());
  EXPECT_EQ(r[0].status.error().kind, ErrorKind::kProtocol);
  EXPECT_NE(r[0].status.error().message.find("exceeds"), std::string::npos);
}

TEST(PoolTest, ResetMidReplyIsAProtocolError) {
  FakeServer server([](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 1, stop);
    FakeServer::SendAll(fd, "$100\r\nabc");
    // returning closes the socket mid-reply
  });
  ConnectionPool pool;
  auto r = pool.Execute({Req(server, {{"INFO"}})}, 1000ms);
  ASSERT_FALSE(r[0].status.ok());
  EXPECT_EQ(r[0].status.error().kind, ErrorKind::kProtocol);
}

TEST(PoolTest, RefusedConnectionIsAConnectError) {
  int port;
  {
    FakeServer gone([](int, const std::atomic<bool>&) {});
    port = gone.port();
  }
  ConnectionPool pool;
  auto r = pool.Execute({Request{Endpoint{"127.0.0.1", port}, {}, {{"PING"}}}}, 500ms);
  ASSERT_FALSE(r[0].status.ok());
  EXPECT_EQ(r[0].status.error().kind, ErrorKind::kConnect);
}

TEST(PoolTest, AuthIsSentFirstAndItsErrorIsAnAuthError) {
  std::string seen;
  FakeServer server([&seen](int fd, const std::atomic<bool>& stop) {
    seen = FakeServer::ReadCommands(fd, 2, stop);
    FakeServer::SendAll(fd, "-WRONGPASS invalid username-password pair\r\n+PONG\r\n");
    FakeServer::WaitForStop(stop);
  });
  ConnectionPool pool;
  auto r = pool.Execute({Req(server, {{"PING"}}, Credentials{"mon", "s3cret"})}, 1000ms);
  ASSERT_FALSE(r[0].status.ok());
  EXPECT_EQ(r[0].status.error().kind, ErrorKind::kAuth);
  EXPECT_EQ(r[0].status.error().message.find("s3cret"), std::string::npos);
  EXPECT_EQ(seen.rfind("*3\r\n$4\r\nAUTH\r\n$3\r\nmon\r\n$6\r\ns3cret\r\n", 0), 0u);
}

TEST(PoolTest, NoauthReplyIsAnAuthError) {
  FakeServer server(FakeServer::Answer(1, "-NOAUTH Authentication required.\r\n"));
  ConnectionPool pool;
  auto r = pool.Execute({Req(server, {{"INFO"}})}, 1000ms);
  ASSERT_FALSE(r[0].status.ok());
  EXPECT_EQ(r[0].status.error().kind, ErrorKind::kAuth);
}

// ---- Host names (redis/resolver.h) ----

SocketAddress Loopback() {
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  v4->sin_family = AF_INET;
  v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.length = sizeof(sockaddr_in);
  return a;
}

// Waits (up to a deadline) for the resolver to report a completed resolution.
bool AwaitNotify(const Resolver& r) {
  pollfd p{r.notify_fd(), POLLIN, 0};
  return ::poll(&p, 1, 10000) == 1;
}

// A resolver whose answers the test releases: names block in the resolver thread until
// Release(), the way a hung DNS server makes getaddrinfo block.
class HeldResolver {
 public:
  std::shared_ptr<Resolver> resolver =
      std::make_shared<Resolver>([this](const std::string& host) -> Result<SocketAddress> {
        std::unique_lock lock(mu_);
        ++calls_;
        cv_.wait(lock, [&] { return released_; });
        if (host == "nowhere.test")
          return MakeError(ErrorKind::kConnect, "cannot resolve nowhere.test");
        return Loopback();
      });
  ~HeldResolver() { Release(); }  // also when a test fails: the thread must be joinable
  void Release() {
    std::lock_guard lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  int calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  int calls_ = 0;
};

TEST(ResolverTest, ResolvesOffTheCallersThreadAndCaches) {
  HeldResolver held;
  Resolver& r = *held.resolver;
  EXPECT_FALSE(r.Lookup("db.test").has_value());  // queued; the caller is not blocked
  EXPECT_FALSE(r.Lookup("db.test").has_value());  // still pending, not queued twice
  held.Release();
  ASSERT_TRUE(AwaitNotify(r));
  auto a = r.Lookup("db.test");
  ASSERT_TRUE(a.has_value());
  ASSERT_TRUE(a->ok());
  EXPECT_EQ(a->value().storage.ss_family, AF_INET);
  EXPECT_TRUE(r.Lookup("db.test").has_value());  // fresh: from the cache
  EXPECT_EQ(held.calls(), 1);
}

TEST(ResolverTest, AFailureIsAnsweredWithItsReason) {
  HeldResolver held;
  held.Release();
  Resolver& r = *held.resolver;
  EXPECT_FALSE(r.Lookup("nowhere.test").has_value());
  ASSERT_TRUE(AwaitNotify(r));
  auto a = r.Lookup("nowhere.test");
  ASSERT_TRUE(a.has_value());
  ASSERT_FALSE(a->ok());
  EXPECT_EQ(a->error().kind, ErrorKind::kConnect);
  EXPECT_NE(a->error().message.find("nowhere.test"), std::string::npos);
}

TEST(ResolverTest, NamesNoLongerLookedUpAreForgotten) {
  // Answers at once; fresh for 1 ms, so forgotten 12 ms after the last lookup.
  Resolver r(
      [](const std::string&) -> Result<SocketAddress> {
        SocketAddress a;
        a.storage.ss_family = AF_INET;
        a.length = sizeof(sockaddr_in);
        return a;
      },
      std::chrono::milliseconds(1));
  for (int i = 0; i < 50; ++i) r.Lookup("old-" + std::to_string(i) + ".test");
  const auto held = [&] { return r.cached_names(); };
  ASSERT_GE(held(), 1u);
  // Keep resolving one name (each resolution prunes) until the 50 old ones are gone.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (held() > 1 && std::chrono::steady_clock::now() < deadline) {
    r.Lookup("current.test");
    pollfd p{r.notify_fd(), POLLIN, 0};
    ::poll(&p, 1, 100);
    r.DrainNotify();
  }
  EXPECT_EQ(held(), 1u);  // only the name still in use
  auto a = r.Lookup("current.test");
  EXPECT_TRUE(!a.has_value() || a->ok());
}

TEST(ResolverTest, SystemResolverKnowsLocalhost) {
  auto a = Resolver::SystemResolve("localhost");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(a->storage.ss_family == AF_INET || a->storage.ss_family == AF_INET6);
  EXPECT_FALSE(Resolver::SystemResolve("no-such-host.invalid").ok());
}

TEST(PoolTest, AHungResolverDelaysOnlyTheTargetsNamedByHostName) {
  auto answer_pings = [](int fd, const std::atomic<bool>& stop) {
    while (!stop) {
      if (FakeServer::ReadCommands(fd, 1, stop).empty()) break;
      FakeServer::SendAll(fd, "+PONG\r\n");
    }
  };
  FakeServer by_ip(answer_pings);
  FakeServer by_name(answer_pings);
  HeldResolver held;
  ConnectionPool pool(Limits{}, held.resolver);
  const Request named{Endpoint{"db.test", by_name.port()}, {}, {{"PING"}}};
  // The resolver hangs: the address literal is answered, the name times out "resolving",
  // and Execute returns at its deadline instead of waiting for the resolver.
  auto r = pool.Execute({Req(by_ip, {{"PING"}}), named}, 300ms);
  ASSERT_TRUE(r[0].status.ok()) << r[0].status.error().message;
  EXPECT_EQ(r[0].replies[0].str, "PONG");
  ASSERT_FALSE(r[1].status.ok());
  EXPECT_EQ(r[1].status.error().kind, ErrorKind::kTimeout);
  EXPECT_NE(r[1].status.error().message.find("resolving db.test"), std::string::npos)
      << r[1].status.error().message;
  // The resolver answers: the name connects within the next call's deadline.
  held.Release();
  r = pool.Execute({Req(by_ip, {{"PING"}}), named}, 10000ms);
  ASSERT_TRUE(r[1].status.ok()) << r[1].status.error().message;
  EXPECT_EQ(r[1].replies[0].str, "PONG");
  EXPECT_EQ(by_name.connections(), 1);
  EXPECT_EQ(held.calls(), 1);
}

TEST(PoolTest, AnUnresolvableNameFailsAsAConnectError) {
  HeldResolver held;
  held.Release();
  ConnectionPool pool(Limits{}, held.resolver);
  auto r = pool.Execute({Request{Endpoint{"nowhere.test", 6379}, {}, {{"PING"}}}}, 10000ms);
  ASSERT_FALSE(r[0].status.ok());
  EXPECT_EQ(r[0].status.error().kind, ErrorKind::kConnect);
  EXPECT_NE(r[0].status.error().message.find("nowhere.test"), std::string::npos);
}

TEST(EndpointTest, ParsesAndRejects) {
  auto a = ParseEndpoint("127.0.0.1:6379");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 6379);
  auto b = ParseEndpoint("[::1]:26379");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->ToString(), "[::1]:26379");
  EXPECT_EQ(a->ToString(), "127.0.0.1:6379");
  EXPECT_EQ(JoinHostPort("redis-0.redis", 65535), "redis-0.redis:65535");
  EXPECT_EQ(JoinHostPort("fe80::1", 1), "[fe80::1]:1");
  for (const char* bad : {"", "host", "host:", ":1", "h:0", "h:65536", "h:12x", "::1:5"}) {
    EXPECT_FALSE(ParseEndpoint(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace redis_ha::redis
