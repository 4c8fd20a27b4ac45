// Poller without servers: what publishing a snapshot does with the one it replaces.
#include "poll/poller.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

namespace redis_ha::poll {
namespace {

using namespace std::chrono_literals;

// A loopback port nothing listens on (bound, then closed).
int RefusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(PollerTest, AReplacedSnapshotIsFreedByThePollThreadAtTheNextPublish) {
  // Readers (gate requests, scrapes) hold snapshots for a moment. The one a publish replaces
  // must not be freed by whichever reader drops the last reference, nor under the lock
  // Latest() takes: the poller keeps it until its next publish and frees it then.
  Config config;
  config.sentinels = {redis::Endpoint{"127.0.0.1", RefusedPort()}};
  config.poll_timeout = 200ms;
  Poller poller(config);
  std::weak_ptr<const model::Snapshot> first = poller.PollOnce();
  ASSERT_FALSE(first.expired());
  EXPECT_EQ(poller.Latest(), first.lock());

  std::weak_ptr<const model::Snapshot> second = poller.PollOnce();
  EXPECT_FALSE(first.expired()) << "replaced, but kept until the next publish";
  EXPECT_EQ(poller.Latest(), second.lock());

  // A reader still holding `second` when it is freed keeps it alive, as any shared_ptr.
  model::SnapshotPtr held = second.lock();
  poller.PollOnce();
  EXPECT_TRUE(first.expired()) << "freed by the poll thread at the next publish";
  EXPECT_FALSE(second.expired());
  poller.PollOnce();
  EXPECT_FALSE(second.expired());  // still held here
  held.reset();
  EXPECT_TRUE(second.expired());
}

}  // namespace
}  // namespace redis_ha::poll
