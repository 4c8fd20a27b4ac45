#include "lab/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>
#include <utility>

namespace redis_ha::lab {

bool WaitFor(const std::function<bool()>& cond,
             std::chrono::milliseconds deadline,
             std::chrono::milliseconds step) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (cond()) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= end) return false;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(step, end - now));
    if (std::chrono::steady_clock::now() >= end) return cond();
  }
}

namespace {

// Writes a message from the forked child without allocating
// (async-signal-safe).
void ChildWrite(const char* a, const char* b) {
  auto put = [](const char* s) {
    size_t n = std::strlen(s);
    while (n > 0) {
      ssize_t w = ::write(STDERR_FILENO, s, n);
      if (w <= 0) return;
      s += w;
      n -= static_cast<size_t>(w);
    }
  };
  put(a);
  put(b);
  put("\n");
}

// The scheduler state letter from /proc/<pid>/stat ('R', 'S', 'T', 'Z', ...), 0
// if unknown.
char ProcState(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  // "pid (comm) S ...": comm may contain spaces and parentheses, so find the
  // last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return 0;
  return stat[close + 2];
}

}  // namespace

Result<Process> Process::Spawn(const std::vector<std::string>& argv,
                               const std::filesystem::path& log_path,
                               const std::filesystem::path& working_dir) {
  if (argv.empty())
    return MakeError(ErrorKind::kConfig, "Process::Spawn: empty argv");
  // Everything the child needs is prepared before fork: after fork only
  // async-signal-safe calls are allowed (the parent may have other threads
  // holding malloc locks).
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  cargv.reserve(args.size() + 1);
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const std::string log = log_path.string();
  const std::string wd = working_dir.string();

  const int log_fd =
      log.empty() ? -1
                  : ::open(log.c_str(),
                           O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (!log.empty() && log_fd < 0) {
    return MakeError(ErrorKind::kIo,
                     "open " + log + ": " + std::strerror(errno));
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    const int err = errno;
    if (log_fd >= 0) ::close(log_fd);
    return MakeError(ErrorKind::kIo,
                     std::string("open /dev/null: ") + std::strerror(err));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    if (log_fd >= 0) ::close(log_fd);
    ::close(null_fd);
    return MakeError(ErrorKind::kIo,
                     std::string("fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    // Child.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(126);  // The parent died before prctl took effect.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      ::sigaction(sig, &dfl, nullptr);
    }
    ::dup2(null_fd, STDIN_FILENO);
    if (log_fd >= 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
    }
    ::close_range(
        3, ~0U,
        0);  // Sockets of the parent (hiredis sets no CLOEXEC) stay there.
    if (!wd.empty() && ::chdir(wd.c_str()) != 0) {
      ChildWrite("lab: chdir failed: ", wd.c_str());
      ::_exit(127);
    }
    ::execvp(cargv[0], cargv.data());
    ChildWrite("lab: exec failed: ", cargv[0]);
    ::_exit(127);
  }
  if (log_fd >= 0) ::close(log_fd);
  ::close(null_fd);
  Process p;
  p.pid_ = pid;
  p.log_path_ = log_path;
  return p;
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      paused_(std::exchange(other.paused_, false)),
      log_path_(std::move(other.log_path_)),
      exit_code_(other.exit_code_),
      term_signal_(other.term_signal_) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    Kill();
    pid_ = std::exchange(other.pid_, -1);
    paused_ = std::exchange(other.paused_, false);
    log_path_ = std::move(other.log_path_);
    exit_code_ = other.exit_code_;
    term_signal_ = other.term_signal_;
  }
  return *this;
}

Process::~Process() { Kill(); }

bool Process::Reap(bool block) {
  if (pid_ <= 0) return true;
  if (exit_code_.has_value()) return true;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return false;
  if (r < 0) {
    // ECHILD: someone else reaped it (should not happen); treat as gone.
    exit_code_ = -1;
  } else if (WIFEXITED(status)) {
    exit_code_ = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    term_signal_ = WTERMSIG(status);
    exit_code_ = 128 + WTERMSIG(status);
  } else {
    return false;  // Stopped/continued are not reported without WUNTRACED; be
                   // safe.
  }
  paused_ = false;
  return true;
}

bool Process::Running() { return pid_ > 0 && !Reap(false); }

bool Process::Signal(int sig) { return Running() && ::kill(pid_, sig) == 0; }

bool Process::Pause() {
  if (!Signal(SIGSTOP)) return false;
  paused_ = true;
  return WaitFor([this] { return ProcState(pid_) == 'T'; }, 1s, 2ms);
}

bool Process::Resume() {
  if (!Signal(SIGCONT)) return false;
  paused_ = false;
  return WaitFor(
      [this] {
        const char s = ProcState(pid_);
        return s != 'T' && s != 't';
      },
      1s, 2ms);
}

void Process::Kill() {
  if (pid_ <= 0 || exit_code_.has_value()) return;
  ::kill(pid_, SIGKILL);  // Kills a stopped process too.
  Reap(true);
}

bool Process::Wait(std::chrono::milliseconds deadline) {
  return WaitFor([this] { return !Running(); }, deadline, 10ms);
}

bool Process::Terminate(std::chrono::milliseconds grace) {
  if (!Running()) return true;
  ::kill(pid_, SIGTERM);
  if (paused_) ::kill(pid_, SIGCONT);  // SIGTERM stays pending while stopped.
  paused_ = false;
  if (Wait(grace)) return true;
  Kill();
  return false;
}

}  // namespace redis_ha::lab
