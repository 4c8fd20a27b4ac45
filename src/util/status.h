// Error values (in the spirit of leveldb's Status): every fallible operation returns an
// Error or a Result<T> instead of throwing across module boundaries.
//
// Thread-safety: plain values; safe to copy between threads, not to mutate concurrently.
#ifndef REDIS_HA_UTIL_STATUS_H_
#define REDIS_HA_UTIL_STATUS_H_

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace redis_ha {

// The reasons a poll or a parse can fail. The poll-error metric uses the first five as its
// fixed `reason` label set, so do not add values without updating docs/metrics.md.
enum class ErrorKind {
  kConnect,   // could not open a connection (refused, unreachable, DNS)
  kTimeout,   // a connect, write or read deadline passed
  kAuth,      // AUTH rejected, or NOAUTH / NOPERM from the server
  kProtocol,  // bytes that are not RESP, a reply too large, the peer closed mid-reply
  kReply,     // a well-formed reply of the wrong shape or an error reply
  kConfig,    // bad configuration or flag
  kIo,        // local I/O (files)
};

std::string_view ErrorKindName(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::kReply;
  std::string message;
};

inline Error MakeError(ErrorKind kind, std::string message) {
  return Error{kind, std::move(message)};
}

// Either a value or an Error.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const Error& error() const { return std::get<Error>(v_); }

  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<T, Error> v_;
};

// Result<void> equivalent.
class Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  static Status Ok() { return Status(); }
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace redis_ha

#endif  // REDIS_HA_UTIL_STATUS_H_
