// redis_ha_lab: starts a throwaway Sentinel lab on loopback (and optionally the
// exporter watching it) and runs until Ctrl-C. Used by `make run`.
//
//   redis_ha_lab [--groups N] [--replicas N] [--sentinels N] [--quorum N]
//                [--down-after MS] [--no-persistence] [--keep-dir]
//                [--exporter PATH] [--listen HOST:PORT] [-- EXTRA EXPORTER
//                ARGS...]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "lab/lab.h"

namespace redis_ha::lab {
namespace {

constexpr char kUsage[] =
    "usage: redis_ha_lab [--groups N] [--replicas N] [--sentinels N] [--quorum "
    "N]\n"
    "                    [--down-after MS] [--no-persistence] [--keep-dir]\n"
    "                    [--exporter PATH] [--listen HOST:PORT] [-- EXTRA "
    "EXPORTER ARGS...]\n"
    "\n"
    "Starts redis-server primaries and replicas and redis-sentinel processes "
    "on free loopback\n"
    "ports in a temporary directory, prints their addresses, and runs until "
    "Ctrl-C.\n"
    "  --groups N        monitored groups (mymaster, mymaster-2, ...), default "
    "1\n"
    "  --replicas N      replicas per group, default 2\n"
    "  --sentinels N     Sentinels watching every group, default 3\n"
    "  --quorum N        default: a majority of the Sentinels\n"
    "  --down-after MS   down-after-milliseconds, default 5000 (suffix ms or s "
    "allowed)\n"
    "  --no-persistence  save \"\" and appendonly no (a restarted primary "
    "comes back empty)\n"
    "  --keep-dir        keep the lab directory on exit\n"
    "  --exporter PATH   also run PATH --sentinel <first Sentinel> "
    "--web.listen-address LISTEN\n"
    "                    plus the arguments after --; the lab ends when it "
    "exits\n"
    "  --listen H:P      exporter listen address, default 127.0.0.1:9479 (or a "
    "free port)\n";

struct Flags {
  LabOptions lab;
  std::optional<int> quorum;
  std::string exporter;
  std::string listen;
  std::vector<std::string> exporter_args;
};

// Exit code 2 with a message naming the flag.
struct FlagError {
  std::string message;
};

bool ParseInt(std::string_view s, int& out) {
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseMillis(std::string_view s, std::chrono::milliseconds& out) {
  int scale = 1;
  if (s.size() > 2 && s.substr(s.size() - 2) == "ms") {
    s.remove_suffix(2);
  } else if (s.size() > 1 && s.back() == 's') {
    s.remove_suffix(1);
    scale = 1000;
  }
  int v = 0;
  if (!ParseInt(s, v) || v < 0) return false;
  out = std::chrono::milliseconds(static_cast<int64_t>(v) * scale);
  return true;
}

// HOST:PORT with a numeric port; HOST may be empty or a bracketed IPv6 address.
bool SplitHostPort(const std::string& s, std::string& host, int& port) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  host = s.substr(0, colon);
  return ParseInt(std::string_view(s).substr(colon + 1), port) && port > 0 &&
         port < 65536;
}

std::optional<FlagError> ParseFlags(int argc, char** argv, Flags& f) {
  std::vector<std::string> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    if (name == "--") {
      f.exporter_args.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                             args.end());
      break;
    }
    std::optional<std::string> inline_value;
    if (const auto eq = name.find('=');
        name.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto value = [&]() -> std::optional<std::string> {
      if (inline_value) return inline_value;
      if (i + 1 < args.size()) return args[++i];
      return std::nullopt;
    };
    auto int_flag = [&](int& out, int min,
                        int max) -> std::optional<FlagError> {
      const auto v = value();
      if (!v) return FlagError{name + " needs a value"};
      if (!ParseInt(*v, out) || out < min || out > max) {
        return FlagError{name + ": '" + *v + "' is not a whole number from " +
                         std::to_string(min) + " to " + std::to_string(max)};
      }
      return std::nullopt;
    };
    std::optional<FlagError> err;
    if (name == "--groups") {
      err = int_flag(f.lab.groups, 1, 20);
    } else if (name == "--replicas") {
      err = int_flag(f.lab.replicas, 0, 10);
    } else if (name == "--sentinels") {
      err = int_flag(f.lab.sentinels, 0, 15);
    } else if (name == "--quorum") {
      int q = 0;
      err = int_flag(q, 1, 15);
      f.quorum = q;
    } else if (name == "--down-after") {
      const auto v = value();
      if (!v) return FlagError{name + " needs a value"};
      if (!ParseMillis(*v, f.lab.down_after) || f.lab.down_after < 100ms) {
        return FlagError{name + ": '" + *v +
                         "' is not a duration of at least 100 ms"};
      }
    } else if (name == "--no-persistence" && !inline_value) {
      f.lab.persistence = false;
    } else if (name == "--keep-dir" && !inline_value) {
      f.lab.keep_dir_on_success = true;
    } else if (name == "--exporter") {
      const auto v = value();
      if (!v || v->empty()) return FlagError{name + " needs a path"};
      f.exporter = *v;
    } else if (name == "--listen") {
      const auto v = value();
      if (!v) return FlagError{name + " needs HOST:PORT"};
      std::string host;
      int port = 0;
      if (!SplitHostPort(*v, host, port)) {
        return FlagError{name + ": '" + *v + "' is not HOST:PORT"};
      }
      f.listen = *v;
    } else {
      return FlagError{"unknown flag " + args[i]};
    }
    if (err) return err;
  }
  if (f.quorum) {
    if (f.lab.sentinels > 0 && *f.quorum > f.lab.sentinels) {
      return FlagError{"--quorum " + std::to_string(*f.quorum) +
                       " is more than --sentinels " +
                       std::to_string(f.lab.sentinels)};
    }
    f.lab.quorum = *f.quorum;
  } else {
    f.lab.quorum = f.lab.sentinels / 2 + 1;
  }
  if (!f.exporter.empty()) {
    if (f.lab.sentinels == 0)
      return FlagError{"--exporter needs --sentinels of at least 1"};
    if (f.exporter.find('/') != std::string::npos &&
        ::access(f.exporter.c_str(), X_OK) != 0) {
      return FlagError{"--exporter: " + f.exporter +
                       " is not an executable file"};
    }
  } else if (!f.listen.empty() || !f.exporter_args.empty()) {
    return FlagError{
        (f.listen.empty() ? std::string("arguments after --") : "--listen") +
        " need --exporter"};
  }
  return std::nullopt;
}

// True if a TCP connection to host:port (IPv4 literal; empty or 0.0.0.0 means
// 127.0.0.1) succeeds. An address this cannot probe counts as reachable.
bool CanConnect(std::string host, int port) {
  if (host.empty() || host == "0.0.0.0" || host == "*") host = "127.0.0.1";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) return true;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool ok =
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

std::string Port(const Server& s) { return std::to_string(s.port()); }

void PrintBanner(Lab& lab, std::chrono::milliseconds took) {
  const LabOptions& o = lab.options();
  std::ostringstream out;
  out << "\nredis_ha_lab: up in " << took.count() << " ms; directory "
      << lab.dir().string()
      << (o.keep_dir_on_success ? " (kept on exit)" : " (removed on exit)")
      << "\n";
  out << "  persistence "
      << (o.persistence ? "on (appendonly, save 3600 1)" : "off")
      << ", min-replicas-to-write "
      << std::min(o.min_replicas_to_write, o.replicas) << "\n\n";
  for (int g = 0; g < lab.groups(); ++g) {
    out << "  group " << lab.group_name(g);
    if (o.sentinels > 0) {
      out << "  (quorum " << o.quorum << " of " << o.sentinels
          << " Sentinels, down-after " << o.down_after.count() << " ms)";
    }
    out << "\n";
    out << "    primary   " << lab.primary(g).address() << "  pid "
        << lab.primary(g).pid() << "\n";
    for (Server* r : lab.replicas(g)) {
      out << "    replica   " << r->address() << "  pid " << r->pid() << "\n";
    }
  }
  if (o.sentinels > 0) {
    out << "  Sentinels\n";
    for (Server* s : lab.sentinels()) {
      out << "    sentinel  " << s->address() << "  pid " << s->pid() << "\n";
    }
  }
  const std::string g0 = lab.group_name(0);
  const Server& p = lab.primary(0);
  out << "\nTry:\n";
  if (o.sentinels > 0) {
    const std::string s0 = Port(*lab.sentinels()[0]);
    out << "  redis-cli -p " << s0 << " SENTINEL MASTERS\n"
        << "  redis-cli -p " << s0 << " SENTINEL GET-MASTER-ADDR-BY-NAME " << g0
        << "\n"
        << "  redis-cli -p " << s0 << " SENTINEL REPLICAS " << g0 << "\n"
        << "  redis-cli -p " << s0
        << " PSUBSCRIBE '*'          # watch Sentinel events\n";
  }
  out << "  redis-cli -p " << Port(p) << " INFO replication\n"
      << "  redis-cli -p " << Port(p)
      << " EVAL \"for i=1,10000 do redis.call('SET','key:'..i,i) end\" 0"
         "    # add keys (replicated; DEBUG POPULATE is not)\n";
  if (o.sentinels > 0) {
    const std::string s0 = Port(*lab.sentinels()[0]);
    const auto pause_s = o.down_after.count() / 1000 + 3;
    out << "  kill -9 " << p.pid()
        << "    # crash the primary: failover after down-after ("
        << o.down_after.count() << " ms)\n"
        << "  kill -STOP " << p.pid() << "; sleep " << pause_s
        << "; kill -CONT " << p.pid()
        << "    # pause past down-after: failover, then two primaries for a "
           "while\n"
        << "  redis-cli -p " << s0 << " SENTINEL FAILOVER " << g0
        << "    # planned failover\n";
  }
  std::cout << out.str() << std::flush;
}

int Run(int argc, char** argv) {
  // Before any thread exists: Ctrl-C, SIGTERM, SIGHUP and SIGCHLD are handled
  // by sigwait in this thread. Children get an empty mask back (see Process).
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") break;
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    }
  }
  Flags flags;
  if (auto err = ParseFlags(argc, argv, flags)) {
    std::cerr << "redis_ha_lab: " << err->message << "\n\n" << kUsage;
    return 2;
  }

  std::cerr << "redis_ha_lab: starting " << flags.lab.groups
            << " group(s) x (1 primary + " << flags.lab.replicas
            << " replicas) and " << flags.lab.sentinels << " Sentinels...\n";
  const auto start = std::chrono::steady_clock::now();
  Lab lab(flags.lab);
  if (Status s = lab.Start(); !s.ok()) {
    std::cerr << "redis_ha_lab: the lab did not start: " << s.error().message
              << "\n";
    lab.KeepDir();
    return 1;
  }
  PrintBanner(lab, std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - start));

  Process exporter;
  if (!flags.exporter.empty()) {
    // An exporter argument --web.listen-address wins (make run ARGS=...): show its URLs.
    for (size_t i = 0; i < flags.exporter_args.size(); ++i) {
      const std::string& a = flags.exporter_args[i];
      if (a == "--web.listen-address" && i + 1 < flags.exporter_args.size()) {
        flags.listen = flags.exporter_args[i + 1];
      } else if (a.rfind("--web.listen-address=", 0) == 0) {
        flags.listen = a.substr(a.find('=') + 1);
      }
    }
    if (!flags.listen.empty() && flags.listen[0] == ':') flags.listen = "127.0.0.1" + flags.listen;
    if (flags.listen.empty()) {
      flags.listen = PortIsFree(9479)
                         ? "127.0.0.1:9479"
                         : "127.0.0.1:" + std::to_string(FreePort());
    }
    std::string host;
    int port = 0;
    SplitHostPort(flags.listen, host, port);
    std::vector<std::string> cmd = {flags.exporter, "--sentinel",
                                    lab.sentinels()[0]->address(),
                                    "--web.listen-address", flags.listen};
    cmd.insert(cmd.end(), flags.exporter_args.begin(),
               flags.exporter_args.end());
    std::string shown;
    for (const auto& a : cmd) shown += (shown.empty() ? "" : " ") + a;
    std::cout << "\nExporter: " << shown << "\n" << std::flush;
    auto p = Process::Spawn(
        cmd, /*log_path=*/{});  // Its output goes to this terminal.
    if (!p.ok()) {
      std::cerr << "redis_ha_lab: cannot start the exporter: "
                << p.error().message << "\n";
      return 1;
    }
    exporter = std::move(p).value();
    WaitFor([&] { return !exporter.Running() || CanConnect(host, port); }, 10s,
            50ms);
    if (exporter.Running()) {
      const std::string base = "http://" + flags.listen;
      std::cout << "  " << base << "/metrics\n"
                << "  " << base << "/api/v1/groups\n"
                << "  " << base << "/healthz\n"
                << "  " << base << "/\n";
      if (!CanConnect(host, port)) {
        std::cout << "  (nothing accepts connections on " << flags.listen
                  << " yet)\n";
      }
    }
  }
  std::cout << "\nCtrl-C stops everything.\n" << std::flush;

  bool user_stop = false;
  while (true) {
    if (exporter.pid() > 0 && !exporter.Running()) break;
    timespec tick{1, 0};
    siginfo_t info;
    const int sig = sigtimedwait(&signals, &info, &tick);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
      user_stop = true;
      break;
    }
    // SIGCHLD (the exporter or a lab node exited; nodes may be killed on
    // purpose) or the one-second tick: loop and check the exporter.
  }

  int code = 0;
  if (exporter.pid() > 0) {
    if (user_stop) {
      std::cerr << "\nredis_ha_lab: stopping the exporter and the lab...\n";
      exporter.Terminate(2s);
      // Killed by our SIGTERM/SIGKILL: not its failure. Its own nonzero exit
      // code: report it.
      if (!exporter.term_signal()) code = exporter.exit_code().value_or(0);
    } else {
      code = exporter.exit_code().value_or(1);
      std::cerr << "\nredis_ha_lab: the exporter exited"
                << (exporter.term_signal()
                        ? " on signal " +
                              std::to_string(*exporter.term_signal())
                        : " with code " + std::to_string(code))
                << "; stopping the lab...\n";
    }
  } else {
    std::cerr << "\nredis_ha_lab: stopping the lab...\n";
  }
  lab.Stop();
  return code;
}

}  // namespace
}  // namespace redis_ha::lab

int main(int argc, char** argv) { return redis_ha::lab::Run(argc, argv); }
