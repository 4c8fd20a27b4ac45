// ConnectionPool against hostile or unusual peers (issue 8), found by tests/integration/
// hostile_test.cc: each case here is the unit-level regression test of a pool fix.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "redis/pool.h"
#include "support/resp_server.h"

namespace redis_ha::redis {
namespace {

using namespace std::chrono_literals;
using redis_ha::testing::RespServer;
namespace resp = redis_ha::testing::resp;

// A Sentinel that names itself as a primary makes the poller ask one endpoint twice in one
// call (as a Sentinel and as a data node). Sharing one pipeline, the first request took every
// reply and the second timed out; now each request gets its own replies. They wait for each
// other on the endpoint's one connection (one request on the wire per connection).
TEST(PoolHostileTest, TwoRequestsForOneEndpointEachGetTheirOwnReplies) {
  RespServer server([](RespServer::Conn& c, const std::vector<std::string>& cmd) {
    if (cmd[0] == "ECHO" && cmd.size() == 2) c.Send(resp::Bulk(cmd[1]));
    else c.Send(resp::Error("ERR unknown command"));
  });
  Endpoint e{"127.0.0.1", server.port()};
  ConnectionPool pool;
  for (int round = 0; round < 3; ++round) {
    auto r = pool.Execute({Request{e, {}, {{"ECHO", "a1"}, {"ECHO", "a2"}}},
                           Request{e, {}, {{"ECHO", "b1"}, {"ECHO", "b2"}, {"ECHO", "b3"}}},
                           Request{e, {}, {{"ECHO", "c1"}}}},
                          2000ms);
    ASSERT_EQ(r.size(), 3u);
    for (const auto& resp : r) {
      ASSERT_TRUE(resp.status.ok()) << resp.status.error().message;
    }
    ASSERT_EQ(r[0].replies.size(), 2u);
    ASSERT_EQ(r[1].replies.size(), 3u);
    ASSERT_EQ(r[2].replies.size(), 1u);
    EXPECT_EQ(r[0].replies[1].str, "a2");
    EXPECT_EQ(r[1].replies[0].str, "b1");
    EXPECT_EQ(r[1].replies[2].str, "b3");
    EXPECT_EQ(r[2].replies[0].str, "c1");
    EXPECT_EQ(r[0].reconnected, round == 0);
    EXPECT_FALSE(r[1].reconnected);
    EXPECT_FALSE(r[2].reconnected);
  }
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_GT(pool.bytes_received(), 0u);
}

// Other credentials for a server whose connection is busy (a reload while a request is in
// flight): a connection of its own, for that request only; the shared one stays.
TEST(PoolHostileTest, OtherCredentialsForABusyServerGetAConnectionOfTheirOwn) {
  RespServer server([](RespServer::Conn& c, const std::vector<std::string>& cmd) {
    if (cmd[0] == "AUTH") c.Send(resp::Simple("OK"));
    else c.Send(resp::Simple("PONG"));
  });
  Endpoint e{"127.0.0.1", server.port()};
  ConnectionPool pool;
  const auto deadline = ConnectionPool::Clock::now() + 10s;
  int ok = 0;
  pool.Submit(Request{e, {}, {{"PING"}}}, deadline, [&](Response&& r) { ok += r.status.ok(); });
  pool.Submit(Request{e, {"u", "p"}, {{"PING"}}}, deadline, [&](Response&& r) {
    EXPECT_TRUE(r.status.ok()) << r.status.error().message;
    EXPECT_TRUE(r.reconnected);
    ok += r.status.ok();
  });
  while (pool.in_flight() > 0) pool.Run(deadline, {});
  EXPECT_EQ(ok, 2);
  EXPECT_EQ(pool.size(), 1u);
  EXPECT_EQ(server.connections(), 2);
}

}  // namespace
}  // namespace redis_ha::redis
