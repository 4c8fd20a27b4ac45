// RESP bytes through the exporter's own reader: a real redis::Connection (hiredis' redisReader
// with the custom functions building Reply trees, bounded by Limits) connected over loopback
// to a peer that writes the fuzz input and then closes. Every reply decoded is handed to every
// parser and observer (ExerciseReply).
//
// An input starting with byte 0x01 is read with credentials set: the byte is dropped and the
// first reply is consumed as the AUTH reply, as in production with a password. Any other
// input is all reply bytes (so captured replies are seeds as they are).
//
// Limits are small (64 KiB per reply, 1000 elements per array) so the limit paths are reached
// and one input cannot allocate much.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "redis/connection.h"

namespace {

int ListenFd(int* port) {
  static int fd = -1;
  static int listen_port = 0;
  if (fd < 0) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(fd, 64) != 0) {
      std::perror("resp_fuzzer: listen");
      std::abort();
    }
    socklen_t len = sizeof(addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    listen_port = ntohs(addr.sin_port);
  }
  *port = listen_port;
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace redis_ha;
  if (size == 0) return 0;
  const bool auth = data[0] == 0x01;
  if (auth) {
    data += 1;
    size -= 1;
  }

  int port = 0;
  int lfd = ListenFd(&port);
  redis::Limits limits{64 * 1024, 1000};
  redis::Credentials creds;
  if (auth) creds.password = "fuzz-password";
  redis::Connection conn(redis::Endpoint{"127.0.0.1", port}, creds, limits);
  Status s = conn.BeginConnect();
  FUZZ_CHECK(s.ok());
  int peer = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  FUZZ_CHECK(peer >= 0);
  // No TIME_WAIT left behind: the peer resets the connection when it closes.
  linger lg{1, 0};
  setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));

  size_t off = 0;
  bool shut = false;
  size_t replies = 0;
  for (int turn = 0; turn < 10000; ++turn) {
    if (off < size) {
      ssize_t n = ::send(peer, data + off, size - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) off += static_cast<size_t>(n);
    }
    if (off == size && !shut) {
      ::shutdown(peer, SHUT_WR);
      shut = true;
    }
    if (!conn.open()) break;
    pollfd p{conn.fd(), conn.Events(), 0};
    if (p.events == 0) break;  // EOF seen
    if (::poll(&p, 1, 1000) <= 0) continue;
    s = conn.HandleEvents(p.revents);
    while (conn.HasReply()) {
      redis::Reply r = conn.PopReply();
      ++replies;
      redis_ha::fuzz::ExerciseReply(r);
    }
    if (!s) {
      FUZZ_CHECK(!conn.open());  // any error closes the connection
      FUZZ_CHECK(s.error().kind == ErrorKind::kProtocol || s.error().kind == ErrorKind::kAuth);
      break;
    }
    if (conn.eof()) break;
  }
  FUZZ_CHECK(replies <= size);  // every reply costs at least one byte
  ::close(peer);
  return 0;
}
