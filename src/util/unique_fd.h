// UniqueFd: owns one file descriptor and closes it when destroyed. -1 owns nothing
// (a failed open: check with bool or get()). Movable, not copyable.
//
// Thread-safety: none of its own; the descriptor may be used from any thread.
#ifndef REDIS_HA_UTIL_UNIQUE_FD_H_
#define REDIS_HA_UTIL_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace redis_ha {

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_;
};

}  // namespace redis_ha

#endif  // REDIS_HA_UTIL_UNIQUE_FD_H_
