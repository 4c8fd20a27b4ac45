// Minimal non-blocking HTTP/1.1 client for the benchmark tools: one keep-alive connection,
// one request at a time, driven from a poll(2) loop. Bodies by Content-Length, chunked
// transfer coding, or connection close. IPv4 literals (and "localhost") only.
#ifndef REDIS_HA_BENCH_HTTP_H_
#define REDIS_HA_BENCH_HTTP_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bench {

using Clock = std::chrono::steady_clock;

// When set, every receive re-arms TCP_QUICKACK: the client acknowledges at once instead of
// delaying its ACK, which hides a server's Nagle stall (a diagnostic, not what real
// clients do).
extern bool g_quickack;

// Seconds on CLOCK_MONOTONIC (the clock of Python's time.monotonic()).
double MonoNow();

struct Url {
  std::string host;
  int port = 80;
  std::string path = "/";
};
std::optional<Url> ParseUrl(std::string_view text);  // http://host:port/path

class HttpConn {
 public:
  HttpConn(std::string host, int port) : host_(std::move(host)), port_(port) {}
  ~HttpConn();
  HttpConn(const HttpConn&) = delete;
  HttpConn& operator=(const HttpConn&) = delete;

  // Starts a GET (connecting first if needed). False if the socket cannot be set up.
  bool Get(const std::string& path);
  int fd() const { return fd_; }
  bool busy() const { return busy_; }
  short Events() const;
  // Performs the I/O `revents` allows. Returns 0 while in progress, 1 when the response
  // is complete (status(), body()), -1 on error (connection closed; busy() false).
  int Handle(short revents);
  // Blocking GET with a timeout: the status code, or -1.
  int GetBlocking(const std::string& path, std::chrono::milliseconds timeout);

  int status() const { return status_; }
  const std::string& body() const { return body_; }
  size_t response_bytes() const { return response_bytes_; }
  void Close();

 private:
  bool Connect();
  int Parse(bool eof);  // 1 complete, 0 more needed, -1 malformed

  std::string host_;
  int port_;
  int fd_ = -1;
  bool connecting_ = false;
  bool busy_ = false;
  bool reused_ = false;  // the request went out on a kept-alive connection
  std::string out_;
  size_t out_pos_ = 0;
  std::string in_;
  // Parse state.
  bool headers_done_ = false;
  size_t body_start_ = 0;
  int64_t content_length_ = -1;
  bool chunked_ = false;
  bool close_after_ = false;
  size_t chunk_pos_ = 0;  // next chunk header, in in_
  int status_ = 0;
  std::string body_;
  size_t response_bytes_ = 0;
};

}  // namespace bench

#endif  // REDIS_HA_BENCH_HTTP_H_
