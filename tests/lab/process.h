// Process: an RAII child process for the test lab (fork + exec, output to a log
// file).
//
// The child gets its own process group (a Ctrl-C in the terminal reaches only
// the lab, which then stops its children in order), an empty signal mask and
// default signal dispositions (a parent that blocks SIGINT/SIGTERM for sigwait
// must not hand that to redis-server), stdin from /dev/null, stdout+stderr
// appended to the log file, no other inherited descriptors, and
// PR_SET_PDEATHSIG=SIGKILL so nothing outlives the test process even when it is
// killed -9. Caveat of PR_SET_PDEATHSIG: it fires when the *thread* that forked
// exits, so spawn from a thread that lives as long as the child (the main
// thread or the test body).
//
// The destructor kills (SIGKILL) and reaps the child. Only this object ever
// waits for its pid (never waitpid(-1)), so it does not interfere with other
// children of the process.
//
// Thread-safety: not thread-safe; one owner.
#ifndef REDIS_HA_TESTS_LAB_PROCESS_H_
#define REDIS_HA_TESTS_LAB_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace redis_ha::lab {

using std::chrono_literals::operator""ms;
using std::chrono_literals::operator""s;

// Polls `cond` every `step` until it returns true (=> true) or `deadline` has
// passed
// (=> false; `cond` is evaluated one last time at the deadline).
bool WaitFor(const std::function<bool()>& cond,
             std::chrono::milliseconds deadline,
             std::chrono::milliseconds step = 20ms);

class Process {
 public:
  // Starts argv[0] (looked up in PATH if it has no slash) with argv, in
  // `working_dir` if not empty. Output goes to `log_path` (appended, created if
  // missing), or to this process's stdout/stderr if `log_path` is empty. Fails
  // if the log cannot be opened or fork fails; an exec failure shows up as exit
  // code 127 plus a line in the log.
  static Result<Process> Spawn(const std::vector<std::string>& argv,
                               const std::filesystem::path& log_path,
                               const std::filesystem::path& working_dir = {});

  Process() = default;  // An empty handle: pid() == -1, Running() == false.
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();  // Kill().

  pid_t pid() const { return pid_; }
  const std::filesystem::path& log_path() const { return log_path_; }

  // True while the child has not exited (a stopped child is running). Reaps it
  // if it has.
  bool Running();
  // True if stopped by Pause() (and not resumed).
  bool paused() const { return paused_; }

  // Sends `sig` to the child. False if it has exited or kill() failed.
  bool Signal(int sig);
  // SIGSTOP / SIGCONT, each waiting (up to 1 s) until /proc shows the new
  // state.
  bool Pause();
  bool Resume();

  // SIGKILL and reap. No-op once exited.
  void Kill();
  // SIGTERM (after SIGCONT if paused), wait up to `grace`, then SIGKILL.
  // Returns true if the child exited within `grace`.
  bool Terminate(std::chrono::milliseconds grace = 2s);
  // Waits up to `deadline` for the child to exit on its own. True if it has
  // exited.
  bool Wait(std::chrono::milliseconds deadline);

  // After exit: the exit code, or 128 + signal number if killed by a signal.
  std::optional<int> exit_code() const { return exit_code_; }
  // After exit: the terminating signal, if it died from one.
  std::optional<int> term_signal() const { return term_signal_; }

 private:
  // Non-blocking reap; records the status. True if the child has exited.
  bool Reap(bool block);

  pid_t pid_ = -1;
  bool paused_ = false;
  std::filesystem::path log_path_;
  std::optional<int> exit_code_;
  std::optional<int> term_signal_;
};

}  // namespace redis_ha::lab

#endif  // REDIS_HA_TESTS_LAB_PROCESS_H_
