#include "lab/lab.h"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>

namespace redis_ha::lab {

using redis::Reply;
using redis::ReplyType;

namespace {

constexpr char kHost[] = "127.0.0.1";

struct RedisContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using ContextPtr = std::unique_ptr<redisContext, RedisContextDeleter>;

struct RedisReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

timeval ToTimeval(std::chrono::milliseconds d) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

Reply Convert(const redisReply* r) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
      return Reply::String(std::string(r->str, r->len));
    case REDIS_REPLY_STATUS:
      return Reply::Status(std::string(r->str, r->len));
    case REDIS_REPLY_ERROR:
      return Reply::Error(std::string(r->str, r->len));
    case REDIS_REPLY_INTEGER:
      return Reply::Integer(r->integer);
    case REDIS_REPLY_ARRAY: {
      std::vector<Reply> elements;
      elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i)
        elements.push_back(Convert(r->element[i]));
      return Reply::Array(std::move(elements));
    }
    default:
      return Reply::Nil();
  }
}

// Maps a hiredis context error to an Error. `connecting`: the error came from
// the connect.
Error ContextError(const redisContext* c, const std::string& where,
                   bool connecting) {
  const std::string text = where + ": " + c->errstr;
  if (c->err == REDIS_ERR_EOF)
    return MakeError(ErrorKind::kProtocol, text + " (connection closed)");
  const std::string errstr = c->errstr;
  if (c->err == REDIS_ERR_IO &&
      (errstr.find("timed out") != std::string::npos ||
       errstr.find("temporarily unavailable") != std::string::npos)) {
    return MakeError(ErrorKind::kTimeout, text);
  }
  if (connecting) return MakeError(ErrorKind::kConnect, text);
  return MakeError(
      c->err == REDIS_ERR_PROTOCOL ? ErrorKind::kProtocol : ErrorKind::kConnect,
      text);
}

Result<ContextPtr> Connect(const std::string& host, int port,
                           std::chrono::milliseconds timeout) {
  const std::string where = host + ":" + std::to_string(port);
  ContextPtr c(redisConnectWithTimeout(host.c_str(), port, ToTimeval(timeout)));
  if (!c)
    return MakeError(ErrorKind::kConnect,
                     where + ": cannot allocate a context");
  if (c->err) return ContextError(c.get(), where, /*connecting=*/true);
  if (redisSetTimeout(c.get(), ToTimeval(timeout)) != REDIS_OK) {
    return ContextError(c.get(), where, /*connecting=*/true);
  }
  return c;
}

void AppendArgv(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> argvlen;
  argv.reserve(args.size());
  argvlen.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    argvlen.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(),
                         argvlen.data());
}

// Quotes a value for a redis config file (sdssplitargs syntax).
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

std::string ServerBinary() {
  const char* env = std::getenv("REDIS_HA_LAB_SERVER");
  return env != nullptr && *env != '\0' ? env : "redis-server";
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

int FreePort() {
  static std::mutex mu;
  static std::set<int> handed_out;
  std::lock_guard<std::mutex> lock(mu);
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    int port = -1;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      socklen_t len = sizeof(addr);
      if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
        port = ntohs(addr.sin_port);
      }
    }
    ::close(fd);
    if (port > 0 && handed_out.insert(port).second) return port;
  }
  return -1;
}

bool PortIsFree(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
               sizeof(one));  // As servers bind.
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok =
      ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

Result<Reply> RunCommand(const std::string& host, int port,
                         const std::vector<std::string>& args,
                         std::chrono::milliseconds timeout,
                         const std::string& password) {
  if (args.empty())
    return MakeError(ErrorKind::kConfig, "RunCommand: no arguments");
  auto c = Connect(host, port, timeout);
  if (!c.ok()) return c.error();
  if (!password.empty()) {
    AppendArgv(c->get(), {"AUTH", password});
    void* raw = nullptr;
    if (redisGetReply(c->get(), &raw) != REDIS_OK || raw == nullptr) {
      return ContextError(c->get(), host + ":" + std::to_string(port) + " AUTH",
                          /*connecting=*/false);
    }
    ReplyPtr auth(static_cast<redisReply*>(raw));
  }
  AppendArgv(c->get(), args);
  void* raw = nullptr;
  if (redisGetReply(c->get(), &raw) != REDIS_OK || raw == nullptr) {
    return ContextError(c->get(),
                        host + ":" + std::to_string(port) + " " + args[0],
                        /*connecting=*/false);
  }
  ReplyPtr reply(static_cast<redisReply*>(raw));
  return Convert(reply.get());
}

std::string InfoField(const std::string& info, const std::string& key) {
  std::istringstream in(info);
  std::string line;
  const std::string prefix = key + ":";
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.compare(0, prefix.size(), prefix) == 0)
      return line.substr(prefix.size());
  }
  return "";
}

std::string ReplyField(const Reply& flat, const std::string& key) {
  if (!flat.is_array()) return "";
  for (size_t i = 0; i + 1 < flat.elements.size(); i += 2) {
    if (flat.elements[i].is_text() && flat.elements[i].str == key &&
        flat.elements[i + 1].is_text()) {
      return flat.elements[i + 1].str;
    }
  }
  return "";
}

// ---------------------------------------------------------------------------------------
// Server

Server::Server(ServerKind kind, int port, std::filesystem::path dir,
               std::vector<std::string> config)
    : kind_(kind),
      port_(port),
      dir_(std::move(dir)),
      config_(std::move(config)) {}

std::string Server::address() const {
  return std::string(kHost) + ":" + std::to_string(port_);
}

std::filesystem::path Server::config_path() const {
  return dir_ / (is_sentinel() ? "sentinel.conf" : "redis.conf");
}

std::filesystem::path Server::log_path() const {
  return dir_ / (is_sentinel() ? "sentinel.log" : "redis.log");
}

Status Server::WriteConfig() const {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec)
    return MakeError(ErrorKind::kIo,
                     "mkdir " + dir_.string() + ": " + ec.message());
  std::ofstream out(config_path(), std::ios::trunc);
  out << "# Written by the redis_ha test lab; "
      << (is_sentinel() ? "Sentinel rewrites" : "CONFIG REWRITE may rewrite")
      << " it.\n"
      << "port " << port_ << "\n"
      << "bind " << kHost << "\n"
      << "daemonize no\n"
      << "protected-mode no\n"
      << "dir " << Quote(dir_.string()) << "\n"
      << "logfile \"\"\n";  // stdout, which the Process appends to log_path().
  for (const auto& line : config_) out << line << "\n";
  out.close();
  if (!out)
    return MakeError(ErrorKind::kIo, "cannot write " + config_path().string());
  return Status::Ok();
}

Status Server::Start(std::chrono::milliseconds deadline) {
  if (process_.Running()) {
    return MakeError(ErrorKind::kConfig, address() + " is already running");
  }
  if (!config_written_) {
    Status s = WriteConfig();
    if (!s.ok()) return s;
    config_written_ = true;
  }
  std::vector<std::string> argv = {ServerBinary(), config_path().string()};
  if (is_sentinel()) argv.push_back("--sentinel");
  auto p = Process::Spawn(argv, log_path(), dir_);
  if (!p.ok()) return p.error();
  process_ = std::move(p).value();
  bool answered = false;
  WaitFor(
      [&] {
        if (!process_.Running()) return true;
        answered = Command({"PING"}, 500ms).ok();
        return answered;
      },
      deadline, 10ms);
  if (answered) return Status::Ok();
  const bool exited = !process_.Running();
  std::string why = exited
                        ? "exited with code " +
                              std::to_string(process_.exit_code().value_or(-1))
                        : "did not answer PING within " +
                              std::to_string(deadline.count()) + " ms";
  process_.Kill();
  return MakeError(ErrorKind::kConnect,
                   (is_sentinel() ? "sentinel " : "redis ") + address() + " " +
                       why + "; log " + log_path().string() + " ends with:\n" +
                       LogTail());
}

Status Server::Stop(std::chrono::milliseconds deadline) {
  if (!process_.Running()) return Status::Ok();
  if (process_.paused()) process_.Resume();
  // NOW: do not wait (shutdown-timeout, 10 s) for lagging replicas. Servers
  // older than 7.0 reject NOW with an error reply; then plain NOSAVE.
  auto r = Command({"SHUTDOWN", "NOSAVE", "NOW"}, 1s);
  if (r.ok() && r->is_error()) Command({"SHUTDOWN", "NOSAVE"}, 1s);
  if (process_.Wait(deadline)) return Status::Ok();
  process_.Kill();
  return Status::Ok();
}

void Server::Kill() { process_.Kill(); }

Status Server::Restart(std::chrono::milliseconds deadline) {
  Status s = Stop();
  if (!s.ok()) return s;
  return Start(deadline);
}

Result<Reply> Server::Command(const std::vector<std::string>& args,
                              std::chrono::milliseconds timeout) const {
  return RunCommand(kHost, port_, args, timeout, password_);
}

Result<std::string> Server::Info(const std::string& section,
                                 std::chrono::milliseconds timeout) const {
  std::vector<std::string> args = {"INFO"};
  if (!section.empty()) args.push_back(section);
  auto r = Command(args, timeout);
  if (!r.ok()) return r.error();
  if (!r->is_text()) {
    return MakeError(ErrorKind::kReply,
                     address() + " INFO: " + redis::DebugString(*r));
  }
  return r->str;
}

int64_t Server::DbSize() const {
  auto r = Command({"DBSIZE"});
  if (!r.ok() || r->type != ReplyType::kInteger) return -1;
  return r->integer;
}

std::string Server::LogTail(size_t max_bytes) const {
  std::ifstream in(log_path(), std::ios::binary);
  if (!in) return "(no log)";
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff start =
      size > static_cast<std::streamoff>(max_bytes)
          ? size - static_cast<std::streamoff>(max_bytes)
          : 0;
  in.seekg(start);
  std::string tail((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  return tail;
}

// ---------------------------------------------------------------------------------------
// Lab

Lab::Lab(LabOptions options) : options_(std::move(options)) {
  keep_dir_ = options_.keep_dir_on_success;
  if (!options_.base_dir.empty()) {
    dir_ = options_.base_dir;
    return;
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") +
      "/redis_ha_lab.XXXXXX";
  if (::mkdtemp(tmpl.data()) != nullptr) {
    dir_ = tmpl;
    owns_dir_ = true;
  }
}

Lab::~Lab() {
  Stop();
  if (dir_.empty()) return;
  if (keep_dir_ || !owns_dir_) {
    if (keep_dir_)
      std::fprintf(stderr, "redis_ha lab: kept %s\n", dir_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void Lab::Stop() {
  for (auto& s : sentinels_) s->Kill();
  for (auto& g : groups_) {
    if (g.primary) g.primary->Kill();
    for (auto& r : g.replicas) r->Kill();
  }
}

std::string Lab::group_name(int group_index) const {
  if (group_index == 0) return options_.group;
  return options_.group + "-" + std::to_string(group_index + 1);
}

int Lab::GroupIndex(const std::string& group) const {
  for (int i = 0; i < options_.groups; ++i) {
    if (group_name(i) == group) return i;
  }
  return -1;
}

Server& Lab::primary(int group_index) {
  return *groups_.at(group_index).primary;
}

std::vector<Server*> Lab::replicas(int group_index) {
  std::vector<Server*> out;
  for (auto& r : groups_.at(group_index).replicas) out.push_back(r.get());
  return out;
}

std::vector<Server*> Lab::data_nodes(int group_index) {
  std::vector<Server*> out = {groups_.at(group_index).primary.get()};
  for (auto& r : groups_.at(group_index).replicas) out.push_back(r.get());
  return out;
}

std::vector<Server*> Lab::sentinels() {
  std::vector<Server*> out;
  for (auto& s : sentinels_) out.push_back(s.get());
  return out;
}

Server* Lab::FindNode(const std::string& address) {
  for (auto& g : groups_) {
    if (g.primary && g.primary->address() == address) return g.primary.get();
    for (auto& r : g.replicas) {
      if (r->address() == address) return r.get();
    }
  }
  for (auto& s : sentinels_) {
    if (s->address() == address) return s.get();
  }
  return nullptr;
}

Server& Lab::node(const std::string& address) {
  Server* s = FindNode(address);
  if (s == nullptr) {
    std::fprintf(stderr, "redis_ha lab: no server at '%s'\n", address.c_str());
    std::abort();
  }
  return *s;
}

std::vector<std::string> Lab::RedisConfig() const {
  const int min_replicas =
      std::min(options_.min_replicas_to_write, options_.replicas);
  std::vector<std::string> c = {
      "enable-debug-command local",
      options_.persistence ? "appendonly yes" : "appendonly no",
      options_.persistence ? "save \"3600 1\"" : "save \"\"",
      "min-replicas-to-write " + std::to_string(std::max(min_replicas, 0)),
      "min-replicas-max-lag " + std::to_string(options_.min_replicas_max_lag),
      std::string("repl-diskless-sync ") +
          (options_.diskless_sync ? "yes" : "no"),
  };
  if (!options_.persistence) c.push_back("rdb-del-sync-files yes");
  if (!options_.password.empty()) {
    c.push_back("requirepass " + options_.password);
    c.push_back("masterauth " + options_.password);
  }
  c.insert(c.end(), options_.extra_redis_config.begin(),
           options_.extra_redis_config.end());
  return c;
}

std::vector<std::string> Lab::SentinelConfig() const {
  std::vector<std::string> c = {"sentinel resolve-hostnames no"};
  for (const auto& g : groups_) {
    c.push_back("sentinel monitor " + g.name + " " + kHost + " " +
                std::to_string(g.primary->port()) + " " +
                std::to_string(options_.quorum));
    c.push_back("sentinel down-after-milliseconds " + g.name + " " +
                std::to_string(options_.down_after.count()));
    c.push_back("sentinel failover-timeout " + g.name + " " +
                std::to_string(options_.failover_timeout.count()));
    if (!options_.password.empty()) {
      c.push_back("sentinel auth-pass " + g.name + " " + options_.password);
    }
  }
  c.insert(c.end(), options_.extra_sentinel_config.begin(),
           options_.extra_sentinel_config.end());
  return c;
}

Result<std::unique_ptr<Server>> Lab::StartServer(
    ServerKind kind, const std::string& name, std::vector<std::string> config) {
  auto server = std::make_unique<Server>(kind, FreePort(), dir_ / name,
                                         std::move(config));
  if (kind == ServerKind::kRedis) server->set_password(options_.password);
  for (int attempt = 1;; ++attempt) {
    if (server->port() <= 0)
      return MakeError(ErrorKind::kIo, "no free port for " + name);
    Status s = server->Start();
    if (s.ok()) return server;
    // Another process may have taken the port between FreePort() and the bind.
    if (attempt >= 3 || !Contains(server->LogTail(), "Address already in use"))
      return s.error();
    server->set_port(FreePort());
  }
}

Status Lab::Start() {
  if (dir_.empty())
    return MakeError(ErrorKind::kIo, "cannot create a temporary lab directory");
  if (!groups_.empty())
    return MakeError(ErrorKind::kConfig, "Lab::Start called twice");
  if (options_.groups < 1 || options_.replicas < 0 || options_.sentinels < 0 ||
      options_.quorum < 1) {
    return MakeError(ErrorKind::kConfig,
                     "bad LabOptions: need groups >= 1, replicas >= 0, "
                     "sentinels >= 0, quorum >= 1");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec)
    return MakeError(ErrorKind::kIo,
                     "mkdir " + dir_.string() + ": " + ec.message());
  const auto end = std::chrono::steady_clock::now() + options_.start_deadline;

  for (int g = 0; g < options_.groups; ++g) {
    Group group;
    group.name = group_name(g);
    auto p = StartServer(ServerKind::kRedis, group.name + "-0", RedisConfig());
    if (!p.ok()) return p.error();
    group.primary = std::move(p).value();
    groups_.push_back(std::move(group));
  }
  for (auto& group : groups_) {
    for (int r = 1; r <= options_.replicas; ++r) {
      auto config = RedisConfig();
      config.push_back("replicaof " + std::string(kHost) + " " +
                       std::to_string(group.primary->port()));
      auto s =
          StartServer(ServerKind::kRedis, group.name + "-" + std::to_string(r),
                      std::move(config));
      if (!s.ok()) return s.error();
      group.replicas.push_back(std::move(s).value());
    }
  }
  Status s = WaitForReplicationLinks(end);
  if (!s.ok()) return s;

  for (int i = 0; i < options_.sentinels; ++i) {
    auto sentinel =
        StartServer(ServerKind::kSentinel, "sentinel-" + std::to_string(i),
                    SentinelConfig());
    if (!sentinel.ok()) return sentinel.error();
    sentinels_.push_back(std::move(sentinel).value());
  }
  return WaitForSentinelDiscovery(end);
}

Status Lab::WaitForReplicationLinks(std::chrono::steady_clock::time_point end) {
  const int min_replicas =
      std::min(options_.min_replicas_to_write, options_.replicas);
  std::string problem;
  auto ready = [&] {
    for (auto& g : groups_) {
      for (auto& r : g.replicas) {
        auto info = r->Info("replication");
        if (!info.ok()) {
          problem = r->address() + ": " + info.error().message;
          return false;
        }
        if (InfoField(*info, "master_link_status") != "up") {
          problem = "replica " + r->address() + " master_link_status:" +
                    InfoField(*info, "master_link_status");
          return false;
        }
      }
      auto info = g.primary->Info("replication");
      if (!info.ok()) {
        problem = g.primary->address() + ": " + info.error().message;
        return false;
      }
      int online = 0;
      for (int i = 0; i < options_.replicas; ++i) {
        if (Contains(InfoField(*info, "slave" + std::to_string(i)),
                     "state=online"))
          ++online;
      }
      if (online != options_.replicas) {
        problem = "primary " + g.primary->address() + " has " +
                  std::to_string(online) + " of " +
                  std::to_string(options_.replicas) + " replicas online";
        return false;
      }
      if (min_replicas > 0 &&
          std::atoi(InfoField(*info, "min_slaves_good_slaves").c_str()) <
              min_replicas) {
        problem = "primary " + g.primary->address() +
                  " min_slaves_good_slaves:" +
                  InfoField(*info, "min_slaves_good_slaves");
        return false;
      }
    }
    return true;
  };
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      end - std::chrono::steady_clock::now());
  if (WaitFor(ready, std::max(left, 0ms), 50ms)) return Status::Ok();
  return MakeError(ErrorKind::kTimeout,
                   "lab: replication not ready: " + problem);
}

Status Lab::WaitForSentinelDiscovery(
    std::chrono::steady_clock::time_point end) {
  std::string problem;
  // Entries of a SENTINEL REPLICAS/SENTINELS reply that are connected and not down
  // (-1: not a table). With `promotable`, only replicas Sentinel could promote: it also has
  // their INFO (info-refresh counts from 0 until the first one) and they report their link
  // to the primary up; until then SENTINEL FAILOVER answers NOGOODSLAVE.
  auto count = [](const Reply& r, bool promotable) {
    if (!r.is_array()) return -1;
    int n = 0;
    for (const auto& e : r.elements) {
      const std::string flags = ReplyField(e, "flags");
      if (Contains(flags, "disconnected") || Contains(flags, "s_down")) continue;
      if (promotable) {
        const std::string refresh = ReplyField(e, "info-refresh");
        if (ReplyField(e, "master-link-status") != "ok" || refresh.empty() ||
            refresh.size() > 5) {  // at most 99999 ms ago
          continue;
        }
      }
      ++n;
    }
    return n;
  };
  auto ready = [&] {
    for (auto& s : sentinels_) {
      for (auto& g : groups_) {
        auto reps = s->Command({"SENTINEL", "REPLICAS", g.name});
        if (!reps.ok()) {
          problem = s->address() + ": " + reps.error().message;
          return false;
        }
        if (const int n = count(*reps, /*promotable=*/true); n != options_.replicas) {
          problem = "sentinel " + s->address() + " sees " + std::to_string(n) +
                    " promotable replicas of " + g.name + ": " +
                    redis::DebugString(*reps, 300);
          return false;
        }
        auto peers = s->Command({"SENTINEL", "SENTINELS", g.name});
        if (!peers.ok()) {
          problem = s->address() + ": " + peers.error().message;
          return false;
        }
        if (const int n = count(*peers, /*promotable=*/false); n != options_.sentinels - 1) {
          problem = "sentinel " + s->address() + " sees " + std::to_string(n) +
                    " other Sentinels for " + g.name;
          return false;
        }
      }
    }
    return true;
  };
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      end - std::chrono::steady_clock::now());
  if (WaitFor(ready, std::max(left, 0ms), 50ms)) return Status::Ok();
  return MakeError(ErrorKind::kTimeout, "lab: Sentinels not ready: " + problem);
}

Result<Reply> Lab::SentinelCommand(const std::vector<std::string>& args,
                                   std::chrono::milliseconds timeout) {
  Error last = MakeError(ErrorKind::kConnect, "lab: no Sentinel running");
  for (auto& s : sentinels_) {
    if (!s->Running() || s->paused()) continue;
    auto r = s->Command(args, timeout);
    if (r.ok()) return r;
    last = r.error();
  }
  return last;
}

std::string Lab::CurrentPrimary(const std::string& group) {
  if (sentinels_.empty()) {
    const int g = GroupIndex(group);
    return g < 0 ? "" : groups_[g].primary->address();
  }
  std::map<std::string, int> votes;
  std::vector<std::string> order;
  for (auto& s : sentinels_) {
    if (!s->Running() || s->paused()) continue;
    auto r = s->Command({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", group}, 1s);
    if (!r.ok() || !r->is_array() || r->elements.size() != 2) continue;
    const std::string addr = r->elements[0].str + ":" + r->elements[1].str;
    if (votes[addr]++ == 0) order.push_back(addr);
  }
  std::string best;
  for (const auto& addr : order) {
    if (best.empty() || votes[addr] > votes[best]) best = addr;
  }
  return best;
}

Status Lab::WaitForFailover(const std::string& group,
                            const std::string& old_primary,
                            std::chrono::milliseconds deadline) {
  std::string problem = "no Sentinel answered";
  auto done = [&] {
    std::set<std::string> answers;
    std::string all;
    for (auto& s : sentinels_) {
      if (!s->Running() || s->paused()) continue;
      auto r = s->Command({"SENTINEL", "GET-MASTER-ADDR-BY-NAME", group}, 1s);
      std::string addr = "?";
      if (r.ok() && r->is_array() && r->elements.size() == 2) {
        addr = r->elements[0].str + ":" + r->elements[1].str;
      }
      answers.insert(addr);
      all += " " + s->address() + "=>" + addr;
    }
    if (answers.size() != 1 || *answers.begin() == "?" ||
        *answers.begin() == old_primary) {
      problem =
          "Sentinels name" + (all.empty() ? std::string(" nothing") : all);
      return false;
    }
    Server* p = FindNode(*answers.begin());
    if (p == nullptr) {
      problem = "Sentinels name an unknown node " + *answers.begin();
      return false;
    }
    auto info = p->Info("replication", 1s);
    if (!info.ok() || InfoField(*info, "role") != "master") {
      problem =
          "new primary " + p->address() + " does not report role:master yet";
      return false;
    }
    return true;
  };
  if (WaitFor(done, deadline, 50ms)) return Status::Ok();
  return MakeError(ErrorKind::kTimeout, "lab: no failover of " + group +
                                            " away from " + old_primary + ": " +
                                            problem);
}

Status Lab::WaitForReplicasInSync(const std::string& group,
                                  std::chrono::milliseconds deadline) {
  const int g = GroupIndex(group);
  if (g < 0)
    return MakeError(ErrorKind::kConfig, "lab: unknown group " + group);
  std::string problem;
  auto done = [&] {
    const std::string primary_addr = CurrentPrimary(group);
    Server* primary = FindNode(primary_addr);
    if (primary == nullptr) {
      problem = "no current primary (" + primary_addr + ")";
      return false;
    }
    auto pinfo = primary->Info("replication", 1s);
    if (!pinfo.ok()) {
      problem = primary_addr + ": " + pinfo.error().message;
      return false;
    }
    const long long target =
        std::atoll(InfoField(*pinfo, "master_repl_offset").c_str());
    for (Server* n : data_nodes(g)) {
      if (n == primary || !n->Running() || n->paused()) continue;
      auto info = n->Info("replication", 1s);
      if (!info.ok()) {
        problem = n->address() + ": " + info.error().message;
        return false;
      }
      if (InfoField(*info, "role") != "slave" ||
          InfoField(*info, "master_port") != std::to_string(primary->port()) ||
          InfoField(*info, "master_link_status") != "up" ||
          std::atoll(InfoField(*info, "slave_repl_offset").c_str()) < target) {
        problem =
            n->address() + " role:" + InfoField(*info, "role") +
            " master_port:" + InfoField(*info, "master_port") +
            " master_link_status:" + InfoField(*info, "master_link_status") +
            " slave_repl_offset:" + InfoField(*info, "slave_repl_offset") +
            " (primary " + primary_addr + " at " + std::to_string(target) + ")";
        return false;
      }
    }
    return true;
  };
  if (WaitFor(done, deadline, 50ms)) return Status::Ok();
  return MakeError(ErrorKind::kTimeout,
                   "lab: replicas of " + group + " not in sync: " + problem);
}

Status Lab::WriteKeys(const std::string& group, int n,
                      const std::string& prefix) {
  const std::string addr = CurrentPrimary(group);
  Server* primary = FindNode(addr);
  if (primary == nullptr) {
    return MakeError(ErrorKind::kConfig, "lab: no current primary for " +
                                             group + " (" + addr + ")");
  }
  auto c = Connect(kHost, primary->port(), 5s);
  if (!c.ok()) return c.error();
  constexpr int kChunk = 1000;
  int commands = 0;
  if (!options_.password.empty()) {
    AppendArgv(c->get(), {"AUTH", options_.password});
    ++commands;
  }
  for (int start = 0; start < n; start += kChunk) {
    std::vector<std::string> args = {"MSET"};
    for (int i = start; i < std::min(n, start + kChunk); ++i) {
      args.push_back(prefix + std::to_string(i));
      args.push_back("value-" + std::to_string(i));
    }
    AppendArgv(c->get(), args);
    ++commands;
  }
  for (int i = 0; i < commands; ++i) {
    void* raw = nullptr;
    if (redisGetReply(c->get(), &raw) != REDIS_OK || raw == nullptr) {
      return ContextError(c->get(), addr + " MSET", /*connecting=*/false);
    }
    ReplyPtr reply(static_cast<redisReply*>(raw));
    if (reply->type == REDIS_REPLY_ERROR) {
      return MakeError(ErrorKind::kReply,
                       addr + " MSET: " + std::string(reply->str, reply->len));
    }
  }
  return Status::Ok();
}

}  // namespace redis_ha::lab
