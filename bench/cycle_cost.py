#!/usr/bin/env python3
"""Poll cost per cycle of one or more exporter binaries against one fleet: a repeatable A/B.

The CPU figures of `make bench` move by +-10 % from run to run on a shared 2-core VM. This
tool measures what poll work costs in a way that moves much less: the user-space
instructions per poll cycle, counted by callgrind (valgrind; within about 5 % from run to
run), next to the user and system CPU time per cycle read from /proc (which move with the
load, and say how much of the cost is the kernel's).

  bench/cycle_cost.py --tools build/bench --groups 100 OLD_BINARY NEW_BINARY ...

For each binary, against the same fleet (bench_fleet, G groups, the writer on):
  1. /proc: the exporter at a 1 s interval, `--seconds` measured after a warm-up; user and
     system milliseconds per cycle (clock ticks of /proc/PID/stat over cycles counted in
     /metrics).
  2. callgrind: the exporter under valgrind at a 2 s interval (valgrind slows it ~50x);
     after three cycles the counts are zeroed, `--cg-seconds` later dumped; instructions of
     every thread per cycle in that window. No /metrics scrapes are made inside the window
     except the one that counts cycles at its end.
Needs valgrind (`apt-get install valgrind`). Prints a table; writes nothing else.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (the fleet and helpers of bench.py)


def cycles(port):
    """Poll cycles so far, from the exporter's own histogram count."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("redis_ha_exporter_poll_duration_seconds_count "):
                return int(float(line.split()[1]))
    raise RuntimeError("no poll_duration count in /metrics")


def wait_cycles(port, n, deadline_s):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            if cycles(port) >= n:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the exporter did not complete %d cycles in %d s" % (n, deadline_s))


def ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])  # utime, stime


def proc_split(binary, fleet, seconds):
    port = bench.free_port()
    p = subprocess.Popen([binary, "--sentinel", fleet.sentinels[0]["addr"], "--poll.interval",
                          "1s", "--web.listen-address", "127.0.0.1:%d" % port, "--log.level",
                          "warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_cycles(port, 5, 60)
        c1, (u1, s1) = cycles(port), ticks(p.pid)
        time.sleep(seconds)
        c2, (u2, s2) = cycles(port), ticks(p.pid)
    finally:
        p.terminate()
        p.wait(timeout=30)
    hz = os.sysconf("SC_CLK_TCK")
    n = max(1, c2 - c1)
    return {"cycles": c2 - c1, "user_ms": (u2 - u1) * 1000.0 / hz / n,
            "sys_ms": (s2 - s1) * 1000.0 / hz / n}


def callgrind(binary, fleet, seconds, workdir):
    port = bench.free_port()
    out = os.path.join(workdir, "cg.%s" % os.path.basename(binary))
    for f in glob.glob(out + "*"):
        os.remove(f)
    p = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                          binary, "--sentinel", fleet.sentinels[0]["addr"], "--poll.interval",
                          "2s", "--poll.timeout", "2s", "--web.listen-address",
                          "127.0.0.1:%d" % port, "--log.level", "warn"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_cycles(port, 3, 300)
        c1 = cycles(port)
        subprocess.run(["callgrind_control", "-z", str(p.pid)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(seconds)
        subprocess.run(["callgrind_control", "-d", str(p.pid)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        c2 = cycles(port)
    finally:
        p.terminate()
        p.wait(timeout=120)
    # The dump taken by -d (events since -z) is the file with suffix .1.
    with open(out + ".1") as f:
        total = next(int(line.split()[1]) for line in f if line.startswith("summary:"))
    n = max(1, c2 - c1)
    return {"cycles": c2 - c1, "instructions_m": total / n / 1e6}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--tools", required=True, help="directory with bench_fleet")
    ap.add_argument("--groups", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=30.0, help="/proc window")
    ap.add_argument("--cg-seconds", type=float, default=40.0, help="callgrind window")
    ap.add_argument("--writes-per-second", type=int, default=10)
    ap.add_argument("--down-after-ms", type=int, default=5000)
    args = ap.parse_args()
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        print("cycle_cost: valgrind not found (apt-get install valgrind)", file=sys.stderr)
        return 2
    for b in args.binaries:
        if not os.access(b, os.X_OK):
            print("cycle_cost: %s is not an executable" % b, file=sys.stderr)
            return 2
    workdir = tempfile.mkdtemp(prefix="redis-ha-cycle-cost-")
    rows = []
    try:
        fleet = bench.Fleet(args, args.groups, workdir)
        try:
            time.sleep(5)
            for b in args.binaries:
                bench.log("%s: /proc" % b)
                split = proc_split(b, fleet, args.seconds)
                bench.log("%s: callgrind" % b)
                cg = callgrind(b, fleet, args.cg_seconds, workdir)
                rows.append((b, split, cg))
        finally:
            fleet.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\nG = %d, per poll cycle" % args.groups)
    print("| binary | instructions (callgrind) | user ms | system ms | cycles (proc / cg) |")
    print("| --- | --- | --- | --- | --- |")
    base = rows[0][2]["instructions_m"]
    for b, split, cg in rows:
        rel = "" if b == rows[0][0] else " (%+.1f %%)" % ((cg["instructions_m"] / base - 1) * 100)
        print("| %s | %.1f M%s | %.2f | %.2f | %d / %d |" % (
            b, cg["instructions_m"], rel, split["user_ms"], split["sys_ms"], split["cycles"],
            cg["cycles"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
