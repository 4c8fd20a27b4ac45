#!/usr/bin/env python3
"""Soak: the exporter against a real Sentinel lab while faults rotate; fails on resource growth.

  tests/soak/soak.py --exporter build/redis_ha_exporter [--duration 60s] [--out DIR]

Starts its own lab on free loopback ports (1 primary, 2 replicas, 3 Sentinels, quorum 2,
down-after 1.5 s, failover-timeout 10 s, no persistence) and the exporter watching it
(--poll.interval 250ms --poll.timeout 200ms). After a warm-up it rotates faults until the
duration is over:

  replica-kill       SIGKILL a current replica, restart it 2 s later from its config file
  primary-pause      SIGSTOP the current primary past down-after (Sentinel fails over), SIGCONT
  sentinel-failover  SENTINEL FAILOVER mymaster
  sentinel-restart   SIGTERM a Sentinel and start it again from its (rewritten) config file

each followed by a wait for the lab to settle. Every second it records the exporter's VmRSS,
open fds (/proc/PID/fd), threads, poll cycles and the mean poll duration over the second
(from redis_ha_exporter_poll_duration_seconds_sum/_count), and the /metrics scrape time.

Then the faults stop, the lab is left to heal, and the last samples are compared with the
samples taken right after warm-up (both with a healthy lab):

  RSS      end median <= base median + max(--rss-tolerance-mb (16), 25 % of base)
  fds      end max    <= base max + --fd-tolerance (4)
  threads  end max    <= base max + --thread-tolerance (2)
  latency  end mean poll duration <= 3 x base + 50 ms
  and: the exporter never exits, every scrape answers (HTTP 200 within 5 s).

RSS also gets a least-squares slope over the whole post-warm-up run (MiB/hour), reported for the
long runs documented in docs/soak.md. The samples are written to DIR/samples.csv and the
verdict to DIR/summary.json. Exit 0 pass, 1 fail, 2 could not run. Python standard library only.
"""

import argparse
import csv
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

GROUP = "mymaster"
START = time.monotonic()


def log(msg):
    print("[soak %7.1fs] %s" % (time.monotonic() - START, msg), flush=True)


def parse_duration(s):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", s)
    if not m:
        raise argparse.ArgumentTypeError("not a duration: %r (e.g. 60s, 20m, 1h)" % s)
    scale = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]
    return float(m.group(1)) * scale


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- A minimal RESP client (one command per connection).

def encode(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def read_reply(f):
    line = f.readline()
    if not line:
        raise ConnectionError("closed")
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        return RuntimeError(rest.decode())
    if t == b":":
        return int(rest)
    if t == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2].decode(errors="replace")
    if t == b"*":
        n = int(rest)
        return None if n < 0 else [read_reply(f) for _ in range(n)]
    raise ConnectionError("bad reply %r" % line)


def command(port, *args, timeout=2.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(encode(args))
        with s.makefile("rb") as f:
            return read_reply(f)


def try_command(port, *args, timeout=1.0):
    try:
        return command(port, *args, timeout=timeout)
    except (OSError, ConnectionError, ValueError):
        return None


def info_field(text, key):
    if not isinstance(text, str):
        return None
    m = re.search(r"^%s:(.*?)\r?$" % re.escape(key), text, re.M)
    return m.group(1) if m else None


# ---- The lab.

class Server:
    def __init__(self, kind, port, base):
        self.kind, self.port = kind, port
        self.dir = os.path.join(base, "%s-%d" % (kind, port))
        os.makedirs(self.dir)
        self.conf = os.path.join(self.dir, "sentinel.conf" if kind == "sentinel" else "redis.conf")
        self.proc = None
        self.paused = False

    def write_config(self, lines):
        common = ["port %d" % self.port, "bind 127.0.0.1", "daemonize no",
                  "dir %s" % self.dir,
                  "logfile %s" % os.path.join(self.dir, self.kind + ".log")]
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write("\n".join(common + lines) + "\n")

    def start(self, deadline=10):
        args = ["redis-server", self.conf] + (["--sentinel"] if self.kind == "sentinel" else [])
        self.proc = subprocess.Popen(args, cwd=self.dir, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        self.paused = False
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if try_command(self.port, "PING") is not None:
                return True
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        return False

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        if self.running():
            if self.paused:
                os.kill(self.proc.pid, signal.SIGCONT)
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.paused = False

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)
        self.paused = False


class Lab:
    def __init__(self, base, down_after_ms=1500, failover_timeout_ms=10000):
        self.base = base
        self.down_after_ms = down_after_ms
        self.nodes = [Server("redis", free_port(), base) for _ in range(3)]
        self.sentinels = [Server("sentinel", free_port(), base) for _ in range(3)]
        p = self.nodes[0].port
        for i, n in enumerate(self.nodes):
            lines = ['save ""', "appendonly no", "repl-diskless-sync-delay 0"]
            if i > 0:
                lines.append("replicaof 127.0.0.1 %d" % p)
            n.write_config(lines)
        for s in self.sentinels:
            s.write_config(["sentinel monitor %s 127.0.0.1 %d 2" % (GROUP, p),
                            "sentinel down-after-milliseconds %s %d" % (GROUP, down_after_ms),
                            "sentinel failover-timeout %s %d" % (GROUP, failover_timeout_ms),
                            "sentinel parallel-syncs %s 1" % GROUP])

    def start(self):
        for s in self.nodes + self.sentinels:
            if not s.start():
                raise RuntimeError("%s on port %d did not start" % (s.kind, s.port))
        return self.wait_settled(30)

    def stop(self):
        for s in self.sentinels + self.nodes:
            s.kill()

    def primary_port(self):
        """The address most reachable Sentinels give for the group."""
        votes = {}
        for s in self.sentinels:
            if not s.running() or s.paused:
                continue
            r = try_command(s.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", GROUP)
            if isinstance(r, list) and len(r) == 2:
                votes[int(r[1])] = votes.get(int(r[1]), 0) + 1
        return max(votes, key=votes.get) if votes else None

    def node(self, port):
        return next(n for n in self.nodes if n.port == port)

    def settled(self):
        """Every process runs, Sentinels agree on a primary that says role:master, every other
        node is its replica with the link up, and every Sentinel knows 2 replicas and 2 peers."""
        if any(not s.running() or s.paused for s in self.nodes + self.sentinels):
            return False
        primary = self.primary_port()
        if primary is None:
            return False
        for s in self.sentinels:
            r = try_command(s.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", GROUP)
            if not (isinstance(r, list) and len(r) == 2 and int(r[1]) == primary):
                return False
            m = try_command(s.port, "SENTINEL", "MASTER", GROUP)
            if not isinstance(m, list):
                return False
            fields = dict(zip(m[::2], m[1::2]))
            if fields.get("flags") != "master" or fields.get("num-slaves") != "2" or \
                    fields.get("num-other-sentinels") != "2":
                return False
        for n in self.nodes:
            info = try_command(n.port, "INFO", "replication")
            if n.port == primary:
                if info_field(info, "role") != "master":
                    return False
            elif info_field(info, "role") != "slave" or \
                    info_field(info, "master_port") != str(primary) or \
                    info_field(info, "master_link_status") != "up":
                return False
        return True

    def wait_settled(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.settled():
                return True
            time.sleep(0.25)
        return False

    # ---- Faults. Each returns a short description.

    def replica_kill(self):
        primary = self.primary_port()
        victim = random.choice([n for n in self.nodes if n.port != primary])
        victim.kill()
        time.sleep(2)
        victim.start()
        return "replica %d killed and restarted" % victim.port

    def primary_pause(self):
        primary = self.primary_port()
        victim = self.node(primary)
        victim.pause()
        end = time.monotonic() + self.down_after_ms / 1000 + 15
        new = primary
        while time.monotonic() < end:
            time.sleep(0.25)
            new = self.primary_port()
            if new is not None and new != primary:
                break
        time.sleep(1)
        victim.resume()
        return "primary %d paused, failover to %s" % (primary, new)

    def sentinel_failover(self):
        primary = self.primary_port()
        s = random.choice(self.sentinels)
        r = try_command(s.port, "SENTINEL", "FAILOVER", GROUP)
        end = time.monotonic() + 15
        new = primary
        while time.monotonic() < end and not isinstance(r, RuntimeError):
            time.sleep(0.25)
            new = self.primary_port()
            if new is not None and new != primary:
                break
        return "SENTINEL FAILOVER via %d: %s -> %s (%s)" % (s.port, primary, new, r)

    def sentinel_restart(self):
        s = random.choice(self.sentinels)
        s.kill(signal.SIGTERM)
        time.sleep(1)
        s.start()
        return "sentinel %d restarted" % s.port


# ---- The exporter and its measurements.

def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid, encoding="utf-8") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def scrape(port):
    t0 = time.monotonic()
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
        body = r.read().decode("utf-8")
        status = r.status
    return status, body, time.monotonic() - t0


def metric(body, name):
    m = re.search(r"^%s(?:\{\})? (\S+)$" % re.escape(name), body, re.M)
    return float(m.group(1)) if m else None


class Sampler(threading.Thread):
    def __init__(self, pid, port, path):
        super().__init__(daemon=True)
        self.pid, self.port = pid, port
        self.samples = []
        self.phase = "start"
        self.errors = []
        self.stop = threading.Event()
        self.csv = open(path, "w", newline="", encoding="utf-8")
        self.writer = csv.writer(self.csv)
        self.writer.writerow(["t", "phase", "rss_kib", "fds", "threads", "cycles",
                              "poll_mean_s", "scrape_s"])

    def run(self):
        last_sum = last_count = None
        while not self.stop.wait(1.0):
            t = time.monotonic() - START
            try:
                st = proc_status(self.pid)
                fds = len(os.listdir("/proc/%d/fd" % self.pid))
            except OSError as e:
                self.errors.append("t=%.1f: exporter gone (%s)" % (t, e))
                return
            try:
                status, body, took = scrape(self.port)
                if status != 200:
                    raise RuntimeError("HTTP %d" % status)
            except Exception as e:  # noqa: BLE001 - any failure to scrape counts
                self.errors.append("t=%.1f: scrape failed: %s" % (t, e))
                continue
            s_sum = metric(body, "redis_ha_exporter_poll_duration_seconds_sum")
            s_count = metric(body, "redis_ha_exporter_poll_duration_seconds_count")
            mean = None
            if last_count is not None and s_count is not None and s_count > last_count:
                mean = (s_sum - last_sum) / (s_count - last_count)
            last_sum, last_count = s_sum, s_count
            row = {"t": t, "phase": self.phase, "rss_kib": int(st["VmRSS"].split()[0]),
                   "fds": fds, "threads": int(st["Threads"]), "cycles": s_count,
                   "poll_mean_s": mean, "scrape_s": took}
            self.samples.append(row)
            self.writer.writerow([round(t, 2), row["phase"], row["rss_kib"], fds, row["threads"],
                                  s_count, "" if mean is None else round(mean, 5),
                                  round(took, 4)])
            self.csv.flush()


def slope_per_hour(points):
    """Least-squares slope of (t seconds, y) in y-units per hour."""
    if len(points) < 3:
        return 0.0
    mt = statistics.fmean(p[0] for p in points)
    my = statistics.fmean(p[1] for p in points)
    den = sum((p[0] - mt) ** 2 for p in points)
    if den == 0:
        return 0.0
    return sum((p[0] - mt) * (p[1] - my) for p in points) / den * 3600


def judge(samples, args):
    base = [s for s in samples if s["phase"] == "base"]
    end = [s for s in samples if s["phase"] == "end"]
    faults = [s for s in samples if s["phase"] in ("base", "faults", "heal", "end")]
    if len(base) < 3 or len(end) < 3:
        return False, {"error": "not enough samples (base %d, end %d)" % (len(base), len(end))}
    rss_base = statistics.median(s["rss_kib"] for s in base) / 1024
    rss_end = statistics.median(s["rss_kib"] for s in end) / 1024
    rss_allow = rss_base + max(args.rss_tolerance_mb, 0.25 * rss_base)
    fd_base, fd_end = max(s["fds"] for s in base), max(s["fds"] for s in end)
    th_base, th_end = max(s["threads"] for s in base), max(s["threads"] for s in end)
    lat = lambda ss: [s["poll_mean_s"] for s in ss if s["poll_mean_s"] is not None]
    lat_base = statistics.fmean(lat(base)) if lat(base) else 0.0
    lat_end = statistics.fmean(lat(end)) if lat(end) else 0.0
    lat_allow = 3 * lat_base + 0.05
    checks = {
        "rss_mib": {"base": round(rss_base, 2), "end": round(rss_end, 2),
                    "max": round(max(s["rss_kib"] for s in samples) / 1024, 2),
                    "allowed": round(rss_allow, 2), "ok": rss_end <= rss_allow},
        "fds": {"base": fd_base, "end": fd_end, "max": max(s["fds"] for s in samples),
                "allowed": fd_base + args.fd_tolerance, "ok": fd_end <= fd_base + args.fd_tolerance},
        "threads": {"base": th_base, "end": th_end, "max": max(s["threads"] for s in samples),
                    "allowed": th_base + args.thread_tolerance,
                    "ok": th_end <= th_base + args.thread_tolerance},
        "poll_mean_s": {"base": round(lat_base, 4), "end": round(lat_end, 4),
                        "max": round(max(lat(samples) or [0]), 4), "allowed": round(lat_allow, 4),
                        "ok": lat_end <= lat_allow},
        "rss_slope_mib_per_hour": round(slope_per_hour(
            [(s["t"], s["rss_kib"] / 1024) for s in faults]), 2),
        "fd_slope_per_hour": round(slope_per_hour([(s["t"], s["fds"]) for s in faults]), 2),
    }
    ok = all(c["ok"] for c in checks.values() if isinstance(c, dict))
    return ok, checks


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--duration", type=parse_duration, default=60.0,
                    help="time with rotating faults (default 60s; e.g. 20m, 1h)")
    ap.add_argument("--warmup", type=parse_duration, default=8.0)
    ap.add_argument("--base-window", type=parse_duration, default=5.0)
    ap.add_argument("--end-window", type=parse_duration, default=6.0)
    ap.add_argument("--fault-gap", type=parse_duration, default=4.0,
                    help="pause between faults after the lab settled")
    ap.add_argument("--rss-tolerance-mb", type=float, default=16.0)
    ap.add_argument("--fd-tolerance", type=int, default=4)
    ap.add_argument("--thread-tolerance", type=int, default=2)
    ap.add_argument("--out", help="directory for samples.csv, summary.json and logs "
                                  "(default: a temporary directory, removed on success)")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--keep", action="store_true", help="keep the lab directory")
    args = ap.parse_args()

    if not shutil.which("redis-server"):
        print("soak: redis-server not found", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else int(time.time())
    random.seed(seed)
    base = tempfile.mkdtemp(prefix="rha-soak-")
    out = args.out or base
    os.makedirs(out, exist_ok=True)
    os.makedirs(os.path.join(base, "lab"))
    lab = Lab(os.path.join(base, "lab"))
    exporter = None
    sampler = None
    verdict = 2
    try:
        log("lab in %s (seed %d), duration %.0fs" % (lab.base, seed, args.duration))
        if not lab.start():
            log("the lab did not settle")
            return 2
        port = free_port()
        exporter_log = open(os.path.join(out, "exporter.log"), "w", encoding="utf-8")
        exporter = subprocess.Popen(
            [args.exporter, "--sentinel", "127.0.0.1:%d" % lab.sentinels[0].port,
             "--poll.interval", "250ms", "--poll.timeout", "200ms",
             "--web.listen-address", "127.0.0.1:%d" % port],
            stdout=exporter_log, stderr=subprocess.STDOUT, start_new_session=True)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                if scrape(port)[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        sampler = Sampler(exporter.pid, port, os.path.join(out, "samples.csv"))
        sampler.phase = "warmup"
        sampler.start()
        time.sleep(args.warmup)
        sampler.phase = "base"
        time.sleep(args.base_window)
        sampler.phase = "faults"
        faults = [lab.replica_kill, lab.primary_pause, lab.sentinel_failover, lab.sentinel_restart]
        # SIGINT / SIGTERM end the fault phase early; the run is still judged.
        interrupted = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: interrupted.set())
        faults_start = time.monotonic()
        stop_at = faults_start + args.duration
        done = {}
        i = 0
        while time.monotonic() < stop_at and exporter.poll() is None and not interrupted.is_set():
            f = faults[i % len(faults)]
            i += 1
            what = f()
            done[f.__name__] = done.get(f.__name__, 0) + 1
            settled = lab.wait_settled(min(30, max(5, stop_at - time.monotonic() + 30)))
            log("%s%s" % (what, "" if settled else " (lab not settled yet)"))
            interrupted.wait(min(args.fault_gap, max(0, stop_at - time.monotonic())))
        faults_ran = time.monotonic() - faults_start
        if interrupted.is_set():
            log("interrupted after %.0fs of faults: healing and judging" % faults_ran)
        sampler.phase = "heal"
        if not lab.wait_settled(45):
            log("the lab did not settle after the faults; measuring anyway")
        time.sleep(2)  # a few poll cycles of the healed lab
        sampler.phase = "end"
        time.sleep(args.end_window)
        sampler.stop.set()
        sampler.join()
        if exporter.poll() is not None:
            sampler.errors.append("exporter exited with %d" % exporter.returncode)
        else:
            exporter.send_signal(signal.SIGTERM)
            try:
                rc = exporter.wait(timeout=10)
                if rc != 0:
                    sampler.errors.append("exporter exited with %d on SIGTERM" % rc)
            except subprocess.TimeoutExpired:
                sampler.errors.append("exporter did not stop within 10 s of SIGTERM")
        ok, checks = judge(sampler.samples, args)
        ok = ok and not sampler.errors
        version = subprocess.run([args.exporter, "--version"], capture_output=True,
                                 text=True).stdout.strip()
        summary = {"ok": ok, "seed": seed, "exporter": version, "duration_s": args.duration,
                   "faults_ran_s": round(faults_ran, 1), "interrupted": interrupted.is_set(),
                   "ran_s": round(time.monotonic() - START, 1), "faults": done,
                   "samples": len(sampler.samples), "errors": sampler.errors, "checks": checks}
        with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=2)
        for k, v in checks.items():
            log("%-24s %s" % (k, v))
        for e in sampler.errors:
            log("error: " + e)
        log("faults: %s" % done)
        kept = args.out or args.keep or not ok
        log("%s%s" % ("PASS" if ok else "FAIL",
                      "; samples in " + os.path.join(out, "samples.csv") if kept else ""))
        verdict = 0 if ok else 1
        return verdict
    finally:
        if sampler is not None:
            sampler.stop.set()
        if exporter is not None and exporter.poll() is None:
            exporter.send_signal(signal.SIGTERM)
            try:
                exporter.wait(timeout=5)
            except subprocess.TimeoutExpired:
                exporter.kill()
        lab.stop()
        if not args.keep:
            # The lab goes; the samples stay in --out, or in the temporary directory when the
            # run failed without --out.
            shutil.rmtree(lab.base, ignore_errors=True)
            if args.out or verdict == 0:
                shutil.rmtree(base, ignore_errors=True)
            else:
                log("samples kept in %s" % base)


if __name__ == "__main__":
    sys.exit(main())
