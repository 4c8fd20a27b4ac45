// ConnectionPool / Connection against scripted peers: pipelining, deadlines, limits.
#include "redis/pool.h"

#include <gtest/gtest.h>

#include <chrono>
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
  FakeServer fine([](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 1, stop);
    FakeServer::SendAll(fd, "+OK\r\n");
    FakeServer::WaitForStop(stop);
  });
  ConnectionPool pool;
  auto r = pool.Execute({Req(stalled, {{"PING"}}), Req(fine, {{"PING"}})}, 200ms);
  ASSERT_FALSE(r[0].status.ok());
  EXPECT_EQ(r[0].status.error().kind, ErrorKind::kTimeout);
  ASSERT_TRUE(r[1].status.ok());
  EXPECT_EQ(r[1].replies[0].str, "OK");
}

TEST(PoolTest, GarbageIsAProtocolError) {
  FakeServer server([](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 1, stop);
    FakeServer::SendAll(fd, "HTTP/1.1 400 Bad Request\r\n\r\n");
    FakeServer::WaitForStop(stop);
  });
  ConnectionPool pool;
  auto r = pool.Execute({Req(server, {{"PING"}})}, 1000ms);
  ASSERT_FALSE(r[0].status.ok());
  EXPECT_EQ(r[0].status.error().kind, ErrorKind::kProtocol);
}

TEST(PoolTest, AHugeArrayHeaderIsRefusedBeforeAllocation) {
  FakeServer server([](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 1, stop);
    FakeServer::SendAll(fd, "*10000000\r\n$1\r\na\r\n");
    FakeServer::WaitForStop(stop);
  });
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
  FakeServer server([](int fd, const std::atomic<bool>& stop) {
    FakeServer::ReadCommands(fd, 1, stop);
    FakeServer::SendAll(fd, "-NOAUTH Authentication required.\r\n");
    FakeServer::WaitForStop(stop);
  });
  ConnectionPool pool;
  auto r = pool.Execute({Req(server, {{"INFO"}})}, 1000ms);
  ASSERT_FALSE(r[0].status.ok());
  EXPECT_EQ(r[0].status.error().kind, ErrorKind::kAuth);
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
  for (const char* bad : {"", "host", "host:", ":1", "h:0", "h:65536", "h:12x", "::1:5"}) {
    EXPECT_FALSE(ParseEndpoint(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace redis_ha::redis
