// The lab: real redis-server and redis-sentinel processes on free loopback
// ports, for integration tests and `make run`.
//
//   lab::LabOptions opts;
//   opts.down_after = 1000ms;
//   lab::Lab lab(opts);
//   ASSERT_TRUE(lab.Start().ok());
//   lab.primary().Kill();
//   ASSERT_TRUE(lab.WaitForFailover("mymaster", old, 20s).ok());
//
// Every server lives in its own directory under the lab directory with its own
// config file (Sentinel and CONFIG REWRITE rewrite them, Restart() reuses
// them). Everything is stopped (SIGKILL) by the destructors; children also die
// with the test process (PR_SET_PDEATHSIG).
//
// Thread-safety: Lab and Server are not thread-safe; drive them from the test
// thread (the one that called Start(), see process.h about PR_SET_PDEATHSIG).
// Server::Command() and the other const queries only open their own connection,
// so another thread may call them concurrently.
#ifndef REDIS_HA_TESTS_LAB_LAB_H_
#define REDIS_HA_TESTS_LAB_LAB_H_

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lab/process.h"
#include "redis/reply.h"
#include "util/status.h"

namespace redis_ha::lab {

// A TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it
// back). Never the same port twice in one process.
int FreePort();
// True if 127.0.0.1:port can be bound right now (does not reserve it).
bool PortIsFree(int port);

// One command on a fresh connection with a connect+read timeout (so a paused
// server cannot hang the caller). Errors: kConnect, kTimeout, kProtocol (EOF).
// An error *reply* is a successful Result holding a kError Reply.
// With a non-empty `password`, AUTH is sent first.
Result<redis::Reply> RunCommand(const std::string& host, int port,
                                const std::vector<std::string>& args,
                                std::chrono::milliseconds timeout = 2s,
                                const std::string& password = "");

// "key:value" lines of an INFO text: the value of `key`, or "" if absent.
std::string InfoField(const std::string& info, const std::string& key);
// Field/value pairs of a flat array reply (SENTINEL MASTER/REPLICAS entries):
// the value of `key`, or "".
std::string ReplyField(const redis::Reply& flat, const std::string& key);

enum class ServerKind { kRedis, kSentinel };

// One redis-server or redis-sentinel on 127.0.0.1:<port>, in `dir` (created if
// missing), with config `dir/redis.conf` or `dir/sentinel.conf` and log
// `dir/redis.log` or `dir/sentinel.log` (stdout+stderr, appended across
// restarts). Both kinds run the redis-server binary (Sentinel as `redis-server
// <conf> --sentinel`); set REDIS_HA_LAB_SERVER to use another binary (e.g.
// valkey-server).
class Server {
 public:
  // `config` lines are written after the lab's own (port, bind, dir, logfile,
  // ...) lines.
  Server(ServerKind kind, int port, std::filesystem::path dir,
         std::vector<std::string> config);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server() = default;  // The Process member kills and reaps.

  ServerKind kind() const { return kind_; }
  bool is_sentinel() const { return kind_ == ServerKind::kSentinel; }
  int port() const { return port_; }
  std::string address() const;  // "127.0.0.1:<port>"
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path config_path() const;
  std::filesystem::path log_path() const;
  pid_t pid() const { return process_.pid(); }
  bool Running() { return process_.Running(); }
  bool paused() const { return process_.paused(); }

  // Writes the config file on the first start (later starts reuse the possibly
  // rewritten file), starts the process and waits until it answers PING (any
  // reply counts, so a node still loading its data set with -LOADING is
  // "started"). On failure the process is killed and the error carries the tail
  // of the log.
  Status Start(std::chrono::milliseconds deadline = 10s);
  // SHUTDOWN NOSAVE, wait up to `deadline` for the exit, then SIGKILL. Resumes
  // a paused server.
  Status Stop(std::chrono::milliseconds deadline = 5s);
  // SIGKILL: a crash, nothing saved.
  void Kill();
  // Stop() if running, then Start() with the same port, dir and config file.
  // Without persistence a data node comes back empty.
  Status Restart(std::chrono::milliseconds deadline = 10s);
  // Password sent with AUTH before every command of Command()/Info() (data nodes of a
  // lab started with LabOptions::password).
  void set_password(std::string password) { password_ = std::move(password); }

  // SIGSTOP / SIGCONT (the server keeps its socket: connects succeed, replies
  // never come).
  bool Pause() { return process_.Pause(); }
  bool Resume() { return process_.Resume(); }

  // One command on a fresh connection (see RunCommand).
  Result<redis::Reply> Command(const std::vector<std::string>& args,
                               std::chrono::milliseconds timeout = 2s) const;
  // INFO [section] text; an error reply becomes a kReply error.
  Result<std::string> Info(const std::string& section = "",
                           std::chrono::milliseconds timeout = 2s) const;
  // DBSIZE, or -1 if it failed.
  int64_t DbSize() const;
  // The last `max_bytes` of the log file.
  std::string LogTail(size_t max_bytes = 2000) const;

  // Only before the first successful Start() (used to retry on "Address already
  // in use"): the config file is written again with the new port.
  void set_port(int port) {
    port_ = port;
    config_written_ = false;
  }

 private:
  Status WriteConfig() const;

  ServerKind kind_;
  int port_;
  std::filesystem::path dir_;
  std::vector<std::string> config_;
  bool config_written_ = false;
  std::string password_;
  Process process_;
};

struct LabOptions {
  // Groups are named group, group-2, group-3, ...; each has its own primary and
  // replicas, and every Sentinel monitors every group.
  std::string group = "mymaster";
  int groups = 1;
  int replicas = 2;   // per group
  int sentinels = 3;  // 0 is allowed: data nodes only
  int quorum = 2;
  std::chrono::milliseconds down_after = 5000ms;
  std::chrono::milliseconds failover_timeout = 60000ms;
  // true: appendonly yes + save "3600 1". false: save "" + appendonly no +
  // rdb-del-sync-files yes (so the RDB written for a full sync does not bring
  // data back).
  bool persistence = true;
  // Written as min(min_replicas_to_write, replicas): a primary without enough
  // replicas could not take writes at all.
  int min_replicas_to_write = 1;
  int min_replicas_max_lag = 10;
  bool diskless_sync =
      false;  // repl-diskless-sync (the delay keeps its default of 5 s)
  std::vector<std::string>
      extra_redis_config;  // lines appended to every data node
  std::vector<std::string>
      extra_sentinel_config;  // lines appended to every Sentinel
  // Non-empty: data nodes get requirepass + masterauth, Sentinels auth-pass for every
  // group, and the lab's own commands to data nodes authenticate.
  std::string password;
  // Empty: a fresh mkdtemp under $TMPDIR (or /tmp), removed by the destructor.
  // Given: used as is (created if missing) and never removed.
  std::filesystem::path base_dir;
  bool keep_dir_on_success = false;  // never remove the directory
  // Lab::Start() budget for replication links plus Sentinel discovery.
  std::chrono::milliseconds start_deadline = 20s;
};

class Lab {
 public:
  explicit Lab(LabOptions options);
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;
  // Kills every process (SIGKILL) and removes the directory unless kept (then
  // prints its path to stderr).
  ~Lab();

  // Starts the primaries, then the replicas (replicaof) and waits until every
  // replica has master_link_status:up and every primary lists its replicas
  // online; then the Sentinels and waits until each knows, for every group,
  // every replica (connected) and every other Sentinel. Typically 3-5 s.
  Status Start();
  // Kills everything (the directory stays until destruction).
  void Stop();

  const LabOptions& options() const { return options_; }
  const std::filesystem::path& dir() const { return dir_; }
  // Keep the directory (e.g. a test failed); the destructor prints its path.
  void KeepDir() { keep_dir_ = true; }

  int groups() const { return options_.groups; }
  std::string group_name(int group_index = 0) const;
  // The data node started as the primary of the group (its role may have
  // changed since).
  Server& primary(int group_index = 0);
  // The data nodes started as replicas of the group.
  std::vector<Server*> replicas(int group_index = 0);
  // primary + replicas of the group, as started.
  std::vector<Server*> data_nodes(int group_index = 0);
  std::vector<Server*> sentinels();
  // The server listening on `address` ("127.0.0.1:port"); aborts if there is
  // none.
  Server& node(const std::string& address);
  // nullptr if no server of the lab listens on `address`.
  Server* FindNode(const std::string& address);

  // `args` sent to the first Sentinel that answers (running, not paused).
  Result<redis::Reply> SentinelCommand(const std::vector<std::string>& args,
                                       std::chrono::milliseconds timeout = 2s);
  // The address most reachable Sentinels give for GET-MASTER-ADDR-BY-NAME, ""
  // if none. With no Sentinels: the started primary's address.
  std::string CurrentPrimary(const std::string& group);
  std::string CurrentPrimary(int group_index = 0) {
    return CurrentPrimary(group_name(group_index));
  }

  // Waits until every reachable Sentinel names the same primary other than
  // `old_primary` and that node reports role:master.
  Status WaitForFailover(const std::string& group,
                         const std::string& old_primary,
                         std::chrono::milliseconds deadline = 30s);
  // Waits until every running, unpaused data node of the group other than the
  // current primary is a replica of it with master_link_status:up and an offset
  // equal to the primary's master_repl_offset.
  Status WaitForReplicasInSync(const std::string& group,
                               std::chrono::milliseconds deadline = 10s);

  // Writes keys <prefix>0 .. <prefix>(n-1) (value "value-<i>") to the current
  // primary with pipelined MSETs of 1000 keys.
  Status WriteKeys(const std::string& group, int n,
                   const std::string& prefix = "key:");

 private:
  struct Group {
    std::string name;
    std::unique_ptr<Server> primary;
    std::vector<std::unique_ptr<Server>> replicas;
  };

  int GroupIndex(const std::string& group) const;
  std::vector<std::string> RedisConfig() const;
  std::vector<std::string> SentinelConfig() const;
  // Creates the server on a free port and starts it, retrying with another port
  // if the chosen one was taken in the meantime.
  Result<std::unique_ptr<Server>> StartServer(ServerKind kind,
                                              const std::string& name,
                                              std::vector<std::string> config);
  Status WaitForReplicationLinks(std::chrono::steady_clock::time_point end);
  Status WaitForSentinelDiscovery(std::chrono::steady_clock::time_point end);

  LabOptions options_;
  std::filesystem::path dir_;
  bool owns_dir_ = false;
  bool keep_dir_ = false;
  std::vector<Group> groups_;
  std::vector<std::unique_ptr<Server>> sentinels_;
};

}  // namespace redis_ha::lab

#endif  // REDIS_HA_TESTS_LAB_LAB_H_
