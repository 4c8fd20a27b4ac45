// EventFd: wakes a thread that waits in poll(2). Notify() makes fd() readable until Drain().
// Owns the descriptor (Linux eventfd, non-blocking, close-on-exec). fd() is -1 if the kernel
// refused one; Notify and Drain then do nothing, and the waiter must not rely on being woken.
//
// Thread-safety: Notify and Drain may be called from any thread.
#ifndef REDIS_HA_UTIL_EVENT_FD_H_
#define REDIS_HA_UTIL_EVENT_FD_H_

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "util/unique_fd.h"

namespace redis_ha {

class EventFd {
 public:
  EventFd() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

  int fd() const { return fd_.get(); }
  void Notify() const {
    const uint64_t one = 1;
    if (fd_) (void)!::write(fd_.get(), &one, sizeof(one));
  }
  void Drain() const {
    uint64_t n = 0;
    while (fd_ && ::read(fd_.get(), &n, sizeof(n)) > 0) {
    }
  }

 private:
  UniqueFd fd_;
};

}  // namespace redis_ha

#endif  // REDIS_HA_UTIL_EVENT_FD_H_
