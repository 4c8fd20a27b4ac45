#!/usr/bin/env python3
"""Fleet benchmark (issue 7): redis_ha_exporter against redis_exporter and the floor.

For each fleet size G it starts a real fleet on loopback (bench_fleet: 3 Sentinels watching
G groups of 1 primary + 2 replicas, a writer keeping every primary busy) and then, on that
same fleet, runs the contenders one at a time, alternating, repeated:

  baseline        nothing but the fleet (its own Sentinel/replication/writer traffic)
  ours            redis_ha_exporter, 1 s poll interval, /metrics scraped once a second
  redis_exporter  prometheus-redis-exporter, every node and Sentinel scraped once a second
                  through /scrape?target= (this harness plays Prometheus: all at once)
  floor           bench_floor: our per-cycle commands, pipelined and concurrent, replies
                  ignored

Then the floor once against the data nodes alone and once against the Sentinels alone
(which of the two a cycle waits for), the gate at 1000 requests/s while polling, and
detection latency (kill a primary).
Every figure of a phase is taken over one window [t1, t2] after a warm-up: CPU from
/proc/<pid>/stat and schedstat, peak RSS (VmHWM), fds, TCP connections per server, and
the servers' own INFO stats/commandstats deltas minus the baseline's.

Writes results.json, RESULTS.md and cost.png (gnuplot) into --out-dir.
  make bench                         # G = 1, 10, 100
  bench/bench.py --groups 1,10,100,300 --exporter build/redis_ha_exporter --tools build/bench
  bench/bench.py --smoke ...         # G = 3, short phases; checks every figure was produced
Python 3 standard library only.
"""

import argparse
import concurrent.futures
import json
import math
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def log(*args):
    print("[bench %s]" % time.strftime("%H:%M:%S"), *args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------
# A tiny RESP client (one command per connection is plenty for INFO snapshots).

def _read_reply(f):
    line = f.readline()
    if not line:
        raise ConnectionError("closed")
    t, rest = line[:1], line[1:-2]
    if t == b"+":
        return rest.decode()
    if t == b"-":
        raise RuntimeError(rest.decode())
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
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise RuntimeError("bad reply %r" % line)


def redis_cmd(addr, *args, timeout=5.0):
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(out)
        with s.makefile("rb") as f:
            return _read_reply(f)


def server_stats(addr):
    """Counters of one server: commands by name, bytes, read/write events."""
    text = redis_cmd(addr, "INFO", "stats", "commandstats")  # Sentinels have no commandstats
    out = {"cmds": {}, "t": time.monotonic()}
    for line in text.splitlines():
        if ":" not in line or line.startswith("#"):
            continue
        k, v = line.split(":", 1)
        if k.startswith("cmdstat_"):
            m = re.search(r"calls=(\d+)", v)
            out["cmds"][k[8:]] = int(m.group(1)) if m else 0
        elif k in ("total_net_input_bytes", "total_net_output_bytes", "total_reads_processed",
                   "total_writes_processed", "total_connections_received",
                   "total_commands_processed"):
            out[k] = int(v)
    return out


def snapshot_servers(addrs):
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as ex:
        res = list(ex.map(lambda a: (a, _safe(server_stats, a)), addrs))
    return dict(res)


def _safe(fn, *a):
    try:
        return fn(*a)
    except Exception as e:  # a server being failed over, say
        return {"error": str(e)}


def stats_delta(s1, s2):
    """Per-server deltas of every counter; None if either side failed."""
    out = {}
    for addr, a in s1.items():
        b = s2.get(addr)
        if not b or "error" in a or "error" in b:
            out[addr] = None
            continue
        d = {k: b[k] - a[k] for k in a if k != "cmds"}
        d["cmds"] = {c: b["cmds"].get(c, 0) - a["cmds"].get(c, 0) for c in b["cmds"]}
        d["cmds_total"] = d.pop("total_commands_processed", 0)
        d["dt"] = d.pop("t")
        out[addr] = d
    return out


# ---------------------------------------------------------------------------------------
# /proc

def proc_cpu(pid):
    """(utime+stime seconds from /proc/pid/stat, on-CPU seconds summed over live threads
    from schedstat, {thread name: seconds})."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    sched = 0.0
    threads = {}
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    ns = int(f.read().split()[0])
                with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                    name = f.read().strip()
            except OSError:
                continue
            sched += ns / 1e9
            threads[tid] = (name, ns / 1e9)
    except OSError:
        pass
    return ticks / CLK_TCK, sched, threads


def proc_status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    return 0


def proc_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


def _tcp_table():
    table = {}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    p = line.split()
                    if p[3] != "01":  # ESTABLISHED
                        continue
                    rport = int(p[2].rsplit(":", 1)[1], 16)
                    table[p[9]] = rport
        except OSError:
            pass
    return table


def proc_connections(pid, ports):
    """{server port: established connections from pid}, for ports of the fleet."""
    table = _tcp_table()
    out = {}
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return out
    for fd in fds:
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]", link)
        if not m:
            continue
        port = table.get(m.group(1))
        if port in ports:
            out[port] = out.get(port, 0) + 1
    return out


def proc_tcp_segments(pid, ports):
    """{(local, peer): data segments sent} for pid's TCP connections to the fleet's ports,
    from the kernel's own per-socket counters (`ss -ti`, tcpi_data_segs_out). Every request
    batch a client writes leaves in at least one data segment, so the delta over a window is
    an upper bound on the round trips the client made on that connection. None when `ss`
    cannot say."""
    try:
        res = subprocess.run(["ss", "-tinpH", "state", "established"], capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0:
        return None
    out, key = {}, None
    tag = "pid=%d," % pid
    for line in res.stdout.splitlines():
        if not line.startswith((" ", "\t")):
            f = line.split()
            key = None
            # State is filtered, so the columns are Recv-Q Send-Q Local Peer Process.
            if len(f) >= 4 and tag in line:
                peer_port = int(f[3].rsplit(":", 1)[1])
                if peer_port in ports:
                    key = (f[2], f[3])
            continue
        if key is not None:
            m = re.search(r"\bdata_segs_out:(\d+)", line)
            out[key] = int(m.group(1)) if m else 0
            key = None
    return out


def segments_per_server(before, after):
    """{peer port: data segments sent in the window}, summed over the connections to it.
    A connection opened in the window counts all its segments; one closed in the window is
    missed (so this is for clients that keep their connections)."""
    out = {}
    for key, n in after.items():
        port = int(key[1].rsplit(":", 1)[1])
        out[port] = out.get(port, 0) + n - before.get(key, 0)
    return out


# ---------------------------------------------------------------------------------------
# Small helpers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, deadline=15.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def http_get(url, timeout=10.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode(errors="replace")


def pct(values, q):
    """Quantile q (0..100) with linear interpolation; None for no values."""
    v = sorted(values)
    if not v:
        return None
    if len(v) == 1:
        return v[0]
    pos = (len(v) - 1) * q / 100.0
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def med(values):
    v = [x for x in values if x is not None]
    return statistics.median(v) if v else None


def spread(values):
    v = [x for x in values if x is not None]
    return (min(v), max(v)) if v else (None, None)


def fit_line(xs, ys):
    """Least squares y = a + b x: (a, b, r2)."""
    n = len(xs)
    if n < 2:
        return None, None, None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    if sxx == 0:
        return None, None, None
    b = sxy / sxx
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys))
    r2 = 1 - ss_res / ss_tot if ss_tot > 0 else 1.0
    return a, b, r2


# ---------------------------------------------------------------------------------------
# The fleet

class Fleet:
    def __init__(self, args, groups, workdir):
        self.topology_path = os.path.join(workdir, "topology-%d.txt" % groups)
        cmd = [os.path.join(args.tools, "bench_fleet"), "--groups", str(groups),
               "--topology", self.topology_path, "--down-after-ms", str(args.down_after_ms),
               "--writes-per-second", str(args.writes_per_second)]
        if args.fleet_nice:
            # Every server of the fleet inherits it; the contenders run at the default 0.
            cmd = ["nice", "-n", str(args.fleet_nice)] + cmd
        log("starting fleet: G=%d (%d data nodes + 3 Sentinels)" % (groups, 3 * groups))
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError("fleet did not start (G=%d): %r" % (groups, line))
        log("fleet up:", line.strip())
        self.load()

    def load(self):
        self.sentinels, self.nodes, self.groups = [], [], {}
        with open(self.topology_path) as f:
            for line in f:
                p = line.split()
                if p[0] == "sentinel":
                    self.sentinels.append({"addr": p[1], "pid": int(p[2])})
                elif p[0] == "node":
                    n = {"group": p[1], "addr": p[2], "pid": int(p[3]), "role": p[4]}
                    self.nodes.append(n)
                    self.groups.setdefault(p[1], []).append(n)

    def command(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().strip()
        self.load()
        return reply

    def addrs(self):
        return [s["addr"] for s in self.sentinels] + [n["addr"] for n in self.nodes]

    def ports(self):
        return {int(a.rsplit(":", 1)[1]) for a in self.addrs()}

    def pids(self):
        return [s["pid"] for s in self.sentinels] + [n["pid"] for n in self.nodes]

    def stop(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=60)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def fleet_cpu_share(fleet, seconds=3.0):
    """CPU of the whole fleet (all servers) as a share of one core, over `seconds`."""
    def total():
        t = 0.0
        for pid in fleet.pids():
            try:
                t += proc_cpu(pid)[0]
            except OSError:
                pass
        return t
    a = total()
    time.sleep(seconds)
    return (total() - a) / seconds * 100.0


# ---------------------------------------------------------------------------------------
# Phases

def start_ours(args, fleet, workdir):
    """redis_ha_exporter watching the fleet from its first Sentinel at the run's interval,
    listening on a free port: (process, port) once it listens."""
    port = free_port()
    proc = subprocess.Popen(
        [args.exporter, "--sentinel", fleet.sentinels[0]["addr"], "--poll.interval",
         "%dms" % args.interval_ms, "--web.listen-address", "127.0.0.1:%d" % port,
         "--log.level", "warn"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "ours.log"), "a"))
    if not wait_port(port):
        proc.kill()
        proc.wait()
        raise RuntimeError("redis_ha_exporter did not listen")
    return proc, port


class Contender:
    """A running contender: its process (if any) and the driver playing Prometheus."""

    def __init__(self, kind, args, fleet, workdir, duration):
        self.kind, self.proc, self.driver, self.port = kind, None, None, None
        self.driver_out = os.path.join(workdir, "driver-%s.json" % kind)
        self.floor_out = os.path.join(workdir, "floor.json")
        http = os.path.join(args.tools, "bench_http")
        if kind == "ours":
            self.proc, self.port = start_ours(args, fleet, workdir)
            urls = os.path.join(workdir, "urls-ours.txt")
            with open(urls, "w") as f:
                f.write("http://127.0.0.1:%d/metrics\n" % self.port)
            self.driver = subprocess.Popen(
                [http, "scrape", "--urls", urls, "--interval-ms", str(args.interval_ms), "--duration-s",
                 str(duration), "--grep", "redis_ha_exporter_poll_duration_seconds_sum",
                 "--grep", "redis_ha_exporter_poll_duration_seconds_count",
                 "--grep", "redis_ha_exporter_connections",
                 "--grep", "redis_ha_exporter_sent_bytes_total",
                 "--grep", "redis_ha_exporter_received_bytes_total",
                 "--out", self.driver_out])
        elif kind == "redis_exporter":
            self.port = free_port()
            self.proc = subprocess.Popen(
                [args.redis_exporter, "-web.listen-address", "127.0.0.1:%d" % self.port,
                 "-redis.addr", "", "-log-format", "txt"], stdout=subprocess.DEVNULL,
                stderr=open(os.path.join(workdir, "redis_exporter.log"), "a"))
            if not wait_port(self.port):
                raise RuntimeError("redis_exporter did not listen")
            urls = os.path.join(workdir, "urls-re.txt")
            with open(urls, "w") as f:
                for a in fleet.addrs():
                    f.write("http://127.0.0.1:%d/scrape?target=redis://%s\n" % (self.port, a))
            self.driver = subprocess.Popen(
                [http, "scrape", "--urls", urls, "--interval-ms", str(args.interval_ms), "--duration-s",
                 str(duration), "--out", self.driver_out])
        elif kind == "floor":
            self.proc = subprocess.Popen(
                [os.path.join(args.tools, "bench_floor"), "--topology", fleet.topology_path,
                 "--interval-ms", str(args.interval_ms), "--out", self.floor_out])

    def pid(self):
        return self.proc.pid if self.proc else None

    def finish(self, stop_driver=False):
        """Waits for the driver to finish its run (or stops it: `stop_driver`), then stops
        the contender and returns the driver's (or the floor's) figures."""
        if self.driver:
            if stop_driver:
                self.driver.terminate()
            self.driver.wait(timeout=120)
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        out = None
        path = self.driver_out if self.driver else (self.floor_out if self.kind == "floor"
                                                    else None)
        if path and os.path.exists(path):
            with open(path) as f:
                out = json.load(f)
            os.unlink(path)
        return out


def run_phase(kind, args, fleet, workdir):
    warm, length = args.warmup, args.phase
    # The driver runs a little past the window (up to two cycles) so that the window's last
    # cycle is scraped.
    c = Contender(kind, args, fleet, workdir, warm + length + min(1.5, 2 * args.interval_ms / 1000.0))
    ports = fleet.ports()
    sentinel_ports = {int(s["addr"].rsplit(":", 1)[1]) for s in fleet.sentinels}
    time.sleep(warm)
    pid = c.pid()
    addrs = fleet.addrs()
    s1 = snapshot_servers(addrs)
    t1 = time.monotonic()
    cpu1 = proc_cpu(pid) if pid else None
    segs1 = proc_tcp_segments(pid, ports) if pid else None
    fds_max, conn_samples = 0, []
    while time.monotonic() < t1 + length:
        time.sleep(min(1.0, max(0.0, t1 + length - time.monotonic())))
        if pid:
            fds_max = max(fds_max, proc_fds(pid))
            conn_samples.append(proc_connections(pid, ports))
    cpu2 = proc_cpu(pid) if pid else None
    segs2 = proc_tcp_segments(pid, ports) if pid else None
    t2 = time.monotonic()
    s2 = snapshot_servers(addrs)
    hwm = proc_status(pid, "VmHWM") if pid else None
    raw = c.finish()
    r = {"kind": kind, "t1": t1, "t2": t2, "window_s": t2 - t1,
         "servers": stats_delta(s1, s2)}
    if pid:
        stat_s = cpu2[0] - cpu1[0]
        sched_s = cpu2[1] - cpu1[1]
        # schedstat has ns precision but forgets threads that exited; stat has 10 ms ticks
        # but keeps them. Trust schedstat unless stat says clearly more.
        r["cpu_s"] = sched_s if sched_s > 0 and stat_s <= sched_s + 0.03 else stat_s
        r["cpu_stat_s"], r["cpu_sched_s"] = stat_s, sched_s
        per_name = {}
        for tid, (name, sec) in cpu2[2].items():
            before = cpu1[2].get(tid, (name, 0.0))[1]
            per_name[name] = per_name.get(name, 0.0) + sec - before
        r["cpu_by_thread"] = per_name
        r["rss_hwm_kb"], r["fds_max"] = hwm, fds_max
        per_server_max = {}
        for sample in conn_samples:
            for port, n in sample.items():
                per_server_max[port] = max(per_server_max.get(port, 0), n)
        node_ports = ports - sentinel_ports
        r["conns_per_node_max"] = max([per_server_max.get(p, 0) for p in node_ports] or [0])
        r["conns_per_sentinel_max"] = max([per_server_max.get(p, 0) for p in sentinel_ports]
                                          or [0])
        r["conns_total_max"] = max([sum(s.values()) for s in conn_samples] or [0])
        # redis_exporter opens a connection per scrape: the counters of sockets closed in
        # the window are gone, so it gets no such figure.
        if segs1 is not None and segs2 is not None and kind != "redis_exporter":
            per = segments_per_server(segs1, segs2)
            r["segments_out"] = {
                "node": [per.get(p, 0) for p in sorted(node_ports)],
                "sentinel": [per.get(p, 0) for p in sorted(sentinel_ports)]}
    r["driver"] = raw
    return r


def summarize_phase(r, t1, t2):
    """Cycles, cycle times and scrape figures of one phase, inside [t1, t2]."""
    kind, raw = r["kind"], r.get("driver")
    out = {}
    if kind == "ours" and raw:
        pts = []
        for g in raw["grep"]:
            vals = dict(line.rsplit(" ", 1) for line in g["lines"].splitlines() if " " in line)
            pts.append((g["t"], float(vals.get("redis_ha_exporter_poll_duration_seconds_count",
                                               "nan")),
                        float(vals.get("redis_ha_exporter_poll_duration_seconds_sum", "nan")),
                        float(vals.get("redis_ha_exporter_connections", "nan"))))
        inside = [p for p in pts if t1 - 0.5 <= p[0] <= t2 + 0.5]
        durations = []
        for a, b in zip(inside, inside[1:]):
            dn, ds = b[1] - a[1], b[2] - a[2]
            if dn >= 1:
                durations += [ds / dn * 1000.0] * int(dn)
        if len(inside) >= 2:
            rate = (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])
            out["cycles"] = rate * (t2 - t1)
        out["cycle_ms"] = durations
        lat = raw["latencies_ms"]
        rounds = [x for x in raw["rounds"] if t1 <= x["start"] <= t2]
        out["metrics_ms"] = [x["wall_ms"] for x in rounds] or lat
        out["metrics_bytes"] = med([x["bytes"] for x in rounds])
        out["exporter_connections_gauge"] = max([p[3] for p in inside] or [0])
    elif kind == "redis_exporter" and raw:
        rounds = [x for x in raw["rounds"] if t1 <= x["start"] <= t2]
        out["cycles"] = len(rounds)
        out["cycle_ms"] = [x["wall_ms"] for x in rounds]
        out["scrape_ms"] = raw["latencies_ms"]
        out["errors"] = sum(x["errors"] for x in rounds)
        out["overruns"] = raw["overruns"]
        out["sweep_bytes"] = med([x["bytes"] for x in rounds])
    elif kind == "floor" and raw:
        cyc = [x for x in raw["cycles"] if t1 <= x["start"] <= t2]
        out["cycles"] = len(cyc)
        out["cycle_ms"] = [x["wall_ms"] for x in cyc]
        out["failures"] = raw["failures"]
    return out


def load_per_cycle(phase, base_rates, fleet, cycles):
    """Commands, bytes and read events per server per cycle, baseline subtracted."""
    if not cycles:
        return None
    T = phase["window_s"]
    kinds = {"node": [n["addr"] for n in fleet.nodes],
             "sentinel": [s["addr"] for s in fleet.sentinels]}
    out = {}
    for kind, addrs in kinds.items():
        rates = rates_of(phase, addrs)
        if rates is None or base_rates.get(kind) is None:
            out[kind] = None
            continue
        b = base_rates[kind]
        d = {k: (rates[k] - b.get(k, 0.0)) * T / cycles for k in rates if k != "cmds"}
        cmds = {c: (rates["cmds"].get(c, 0.0) - b["cmds"].get(c, 0.0)) * T / cycles
                for c in rates["cmds"]}
        d["by_command"] = {c: round(v, 3) for c, v in sorted(cmds.items()) if v > 0.05}
        out[kind] = d
    return out


def segments_per_cycle(segs, cycles):
    """Request segments a contender sent per server per cycle (client side, see
    proc_tcp_segments): mean and max over the servers of each kind, and the max count
    itself. A window's two edges can each cut a cycle, so a client making exactly one round
    trip per cycle shows up to cycles + 1 segments."""
    if not segs or not cycles:
        return None
    out = {"cycles": cycles}
    for kind, vals in segs.items():
        if not vals:
            continue
        out[kind] = sum(vals) / len(vals) / cycles
        out[kind + "_max"] = max(vals) / cycles
        out[kind + "_max_count"] = max(vals)
    return out


def rates_of(phase, addrs):
    """Mean per-server per-second rate of every counter over `addrs` (each server over the
    time between its own two reads)."""
    ds = [phase["servers"].get(a) for a in addrs]
    ds = [d for d in ds if d and d.get("dt", 0) > 0]
    if not ds:
        return None
    keys = ["cmds_total", "total_net_input_bytes", "total_net_output_bytes",
            "total_reads_processed", "total_writes_processed", "total_connections_received"]
    out = {k: sum(d.get(k, 0) / d["dt"] for d in ds) / len(ds) for k in keys}
    cmds = {}
    for d in ds:
        for c, v in d["cmds"].items():
            cmds[c] = cmds.get(c, 0) + v / d["dt"]
    out["cmds"] = {c: v / len(ds) for c, v in cmds.items()}
    return out


def run_gate(args, fleet, workdir):
    """Ours polling (and scraped each second) while the gate takes 1000 requests/s; then the
    same load on /healthz, which answers "ok" without reading anything: what an HTTP answer
    costs on this machine under this load, the floor for the gate's latency; then the two
    interleaved on the same connections (every second request is /healthz), so both see the
    same moments of the machine: separate phases differ by the machine's spread over time,
    which at the tail is larger than the gate's work; then, still under that load, how late
    a thread sleeping to 1000 deadlines a second wakes (no HTTP): the floor under all of
    them, since an HTTP answer needs at least two wake-ups."""
    length = args.gate_seconds
    c = Contender("ours", args, fleet, workdir, args.warmup + 4 * length + 8)
    time.sleep(args.warmup)
    group = sorted(fleet.groups)[0]
    out = {}
    gate_path = "/gate?group=%s&action=failover" % group

    def summary(lat, service):
        return {"samples": len(lat), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
                "max_ms": max(lat) if lat else None, "service_p50_ms": pct(service, 50),
                "service_p99_ms": pct(service, 99)}

    for variant, path, also in (("gate", gate_path, None), ("healthz", "/healthz", None),
                                ("interleaved", gate_path, "/healthz")):
        out_path = os.path.join(workdir, "gate.json")
        cmd = [os.path.join(args.tools, "bench_http"), "rate", "--url",
               "http://127.0.0.1:%d%s" % (c.port, path),
               "--rps", str(args.gate_rps), "--duration-s", str(length), "--conns",
               "8", "--quickack", "0", "--out", out_path]
        if also:
            cmd += ["--also-path", also]
        subprocess.run(cmd, check=True)
        with open(out_path) as f:
            g = json.load(f)
        r = {"rps_target": args.gate_rps, "requests": g["requests"], "errors": g["errors"],
             "unexpected_status": g["unexpected_status"],
             "achieved_rps": g["requests"] / g["elapsed_s"] if g["elapsed_s"] else None}
        r.update(summary(g["latencies_ms"], g["service_ms"]))
        if variant == "gate":
            out.update(r)
        elif variant == "healthz":
            out["healthz"] = r
        else:
            r["gate"] = summary(g["latencies_ms"], g["service_ms"])
            r["healthz"] = summary(g["also_latencies_ms"], g["also_service_ms"])
            for k in ("samples", "p50_ms", "p99_ms", "max_ms", "service_p50_ms",
                      "service_p99_ms"):
                del r[k]
            out["interleaved"] = r
    wake_path = os.path.join(workdir, "wake.json")
    subprocess.run([os.path.join(args.tools, "bench_http"), "wake", "--rps", str(args.gate_rps),
                    "--duration-s", str(length), "--out", wake_path], check=True)
    with open(wake_path) as f:
        lat = json.load(f)["latencies_ms"]
    out["wake"] = {"samples": len(lat), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
                   "max_ms": max(lat) if lat else None}
    c.finish(stop_driver=True)
    return out


def run_floor_split(args, fleet, workdir):
    """The floor against the data nodes alone, then the Sentinels alone (one phase each):
    which of the two a cycle's wall time waits for on this machine."""
    out = {}
    for only in ("node", "sentinel"):
        path = os.path.join(workdir, "floor-%s.json" % only)
        proc = subprocess.Popen(
            [os.path.join(args.tools, "bench_floor"), "--topology", fleet.topology_path,
             "--interval-ms", str(args.interval_ms), "--duration-s",
             str(args.warmup + args.phase), "--only", only, "--out", path])
        try:
            proc.wait(timeout=args.warmup + args.phase + 60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.returncode != 0 or not os.path.exists(path):
            log("bench_floor --only %s failed (exit %s)" % (only, proc.returncode))
            out[only] = {}
            continue
        with open(path) as f:
            raw = json.load(f)
        os.unlink(path)
        cycles = raw.get("cycles", [])
        t0 = cycles[0]["start"] if cycles else 0.0
        wall = [c["wall_ms"] for c in cycles if c["start"] >= t0 + args.warmup]
        out[only] = {"cycles": len(wall), "cycle_p50_ms": pct(wall, 50),
                     "cycle_p99_ms": pct(wall, 99), "failures": raw.get("failures")}
    return out


def detection_summary(trials):
    """Medians (and worsts) over detection trials, times relative to the kill or stop."""
    def diff(t, a, b):
        return t[a] - t[b] if t.get(a) is not None and t.get(b) is not None else None

    out = {"trials": trials}
    for k in ("sdown_ms", "switch_ms", "gate_sdown_ms", "gate_switch_ms", "api_down_ms",
              "api_switch_ms", "api_view_switch_ms", "gate_mean_ms", "api_mean_ms"):
        out[k] = med([t.get(k) for t in trials])
    sd = [diff(t, "gate_sdown_ms", "sdown_ms") for t in trials]
    sw = [diff(t, "api_view_switch_ms", "switch_ms") for t in trials]
    out["sdown_to_gate_ms"] = med(sd)
    out["switch_to_gate_ms"] = med(sw)
    out["sdown_to_gate_max_ms"] = max([x for x in sd if x is not None] or [None])
    out["switch_to_gate_max_ms"] = max([x for x in sw if x is not None] or [None])
    return out


def empty_summary(trials):
    """Medians (and worsts) over empty-primary trials, times relative to the restart (the
    restarted primary's first answer), and how many trials warned before the wipe."""
    def since_restart(t, k):
        return (t[k] - t["restart_ms"] if t.get(k) is not None and t.get("restart_ms") is not None
                else None)

    out = {"trials": trials, "restart_ms": med([t.get("restart_ms") for t in trials]),
           "primary_keys_after": med([t.get("primary_keys_after") for t in trials]),
           "replica_keys_before": med([t.get("replica_keys_before") for t in trials])}
    for k in ("gate_empty_ms", "api_fewer_keys_ms", "api_syncing_ms", "api_wiped_ms", "wipe_ms",
              "reboot_ms", "sdown_ms"):
        xs = [since_restart(t, k) for t in trials]
        out[k] = med(xs)
        out[k.replace("_ms", "_max_ms")] = max([x for x in xs if x is not None] or [None])
        out[k.replace("_ms", "_seen")] = sum(1 for x in xs if x is not None)
    out["warned_before_wipe"] = sum(
        1 for t in trials if t.get("gate_empty_ms") is not None and
        (t.get("wipe_ms") is None or t["gate_empty_ms"] < t["wipe_ms"]))
    return out


def empty_text(e):
    """The empty-restart trials in one paragraph (RESULTS.md and --detect-only)."""
    n = len(e.get("trials", []))
    reboot = ("Sentinel's own `+reboot` came %s ms after it answered (%d of %d trials within "
              "the trial's 30 s)" % (fmt(e.get("reboot_ms"), 0), e.get("reboot_seen", 0), n)
              if e.get("reboot_seen") else "Sentinel published no `+reboot` within 30 s")
    return (
        "A primary restarted empty (%d trials in other groups: its replicas got 2000 more keys, "
        "~%s in all; SIGKILL, then started again at once without persistence; it answered %s ms "
        "after the kill, holding %s keys): the gate named `empty_primary_risk` **%s ms after it "
        "answered** (worst %s), `/api/v1/groups` showed `primary_restarted_with_fewer_keys` at "
        "%s ms and `replica_syncing_from_empty_primary` at %s ms. A replica's data was gone "
        "(DBSIZE under half) %s ms after it answered (the fleet syncs without "
        "`repl-diskless-sync`: no 5 s delay); the gate had warned before that in **%d of %d** "
        "trials, and `replica_wiped` showed %s ms after it answered. %s; no `+sdown` (%d of %d): "
        "for Sentinel nothing went wrong." % (
            n, fmt(e.get("replica_keys_before"), 0), fmt(e.get("restart_ms"), 0),
            fmt(e.get("primary_keys_after"), 0), fmt(e.get("gate_empty_ms"), 1),
            fmt(e.get("gate_empty_max_ms"), 1), fmt(e.get("api_fewer_keys_ms"), 0),
            fmt(e.get("api_syncing_ms"), 0), fmt(e.get("wipe_ms"), 0),
            e.get("warned_before_wipe", 0), n, fmt(e.get("api_wiped_ms"), 0), reboot,
            e.get("sdown_seen", 0), n))


def detection_groups(names, repeats):
    """Kill, hang and empty-restart trial groups, each its own: one kind per group, since a
    trial leaves its group failed over, or wiped."""
    if len(names) < 3:
        return names[:1], names[1:2], []
    k = min(repeats, len(names) // 3)
    return names[:k], names[k:2 * k], names[2 * k:3 * k]


def run_detection(args, fleet, workdir, repeats):
    """With ours running: first a primary stopped (SIGSTOP, a hung primary that the exporter's
    cycles keep waiting for; continued after the trial) in each of `repeats` groups, then a
    primary killed and started again at once, empty (no persistence), after its replicas got
    2000 keys, in each of `repeats` other groups, then a primary killed (SIGKILL, restarted
    after the trial) in each of `repeats` other groups. Fewer groups than 3 x repeats: as many
    of each as fit; with one group only the kill, with two no empty restart."""
    proc, port = start_ours(args, fleet, workdir)
    kill_trials, hang_trials, empty_trials = [], [], []
    try:
        time.sleep(args.warmup + args.interval_ms / 1000.0)
        names = sorted(fleet.groups, key=lambda g: (len(g), g))[::-1]
        kills, hangs, empties = detection_groups(names, repeats)
        for signal, groups, trials in (("stop", hangs, hang_trials),
                                       ("restart-empty", empties, empty_trials),
                                       ("kill", kills, kill_trials)):
            for g in groups:
                prim = next(n for n in fleet.groups[g] if n["role"] == "primary")
                cmd = [os.path.join(args.tools, "bench_detect"), "--sentinels",
                       ",".join(s["addr"] for s in fleet.sentinels), "--group", g, "--primary",
                       prim["addr"], "--pid", str(prim["pid"]), "--exporter", "127.0.0.1:%d" % port,
                       "--timeout-s", "30" if signal == "restart-empty" else "60", "--quickack",
                       "1" if args.detect_quickack else "0", "--signal", signal]
                if signal == "restart-empty":
                    cmd += ["--replicas", ",".join(n["addr"] for n in fleet.groups[g]
                                                   if n["role"] != "primary"),
                            "--seed-keys", "2000"]
                    d = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True)
                    first = d.stdout.readline().strip()
                    if first == "killed":
                        reply = fleet.command("restart " + prim["addr"])
                        if not reply.startswith("ok"):
                            log("restart of %s: %s" % (prim["addr"], reply))
                    try:
                        out_text, err_text = d.communicate(timeout=120)
                    except subprocess.TimeoutExpired:
                        d.kill()
                        out_text, err_text = d.communicate()
                    res = subprocess.CompletedProcess(cmd, d.returncode,
                                                      out_text if first == "killed" else first,
                                                      err_text)
                else:
                    res = subprocess.run(cmd, capture_output=True, text=True)
                if res.returncode != 0:
                    log("detection trial failed:", res.stderr.strip())
                    continue
                t = json.loads(res.stdout)
                log("detection (%s) %s: %s" % (signal, g, res.stdout.strip()))
                trials.append(t)
                if signal == "kill" and g == groups[-1]:
                    break  # the fleet is stopped next: no need to restart the last one
                if signal == "restart-empty":
                    continue  # started again within the trial
                    reply = fleet.command("restart " + prim["addr"])
                    if not reply.startswith("ok"):
                        log("restart of %s: %s" % (prim["addr"], reply))
                time.sleep(3)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    out = detection_summary(kill_trials)
    if hang_trials:
        out["hung"] = detection_summary(hang_trials)
    if empty_trials:
        out["empty"] = empty_summary(empty_trials)
    return out


# ---------------------------------------------------------------------------------------
# One fleet size

def bench_size(args, G, workdir):
    fleet = Fleet(args, G, workdir)
    res = {"groups": G, "servers": len(fleet.addrs()), "load_before": os.getloadavg()}
    if args.detect_only:
        try:
            time.sleep(args.settle)
            res["detection"] = run_detection(args, fleet, workdir, min(args.detect_repeats, G))
        finally:
            fleet.stop()
        return res
    try:
        time.sleep(args.settle)
        res["fleet_cpu_pct"] = fleet_cpu_share(fleet, 1.0 if args.smoke else 3.0)
        res["fleet_rss_mb"] = sum(proc_status(p, "VmRSS") for p in fleet.pids()) / 1024.0
        kinds = ["baseline", "ours", "redis_exporter", "floor"]
        if not args.redis_exporter:
            kinds.remove("redis_exporter")
        phases = []
        for rep in range(args.reps):
            order = kinds[rep % len(kinds):] + kinds[:rep % len(kinds)]
            for kind in order:
                log("G=%d rep %d/%d: %s" % (G, rep + 1, args.reps, kind))
                ph = run_phase(kind, args, fleet, workdir)
                ph["rep"] = rep
                ph["summary"] = summarize_phase(ph, ph["t1"], ph["t2"])
                phases.append(ph)
        log("G=%d: the floor against data nodes alone, then Sentinels alone" % G)
        res["floor_split"] = run_floor_split(args, fleet, workdir)
        log("G=%d: gate at %d rps" % (G, args.gate_rps))
        res["gate"] = run_gate(args, fleet, workdir)
        log("G=%d: detection" % G)
        res["detection"] = run_detection(args, fleet, workdir, min(args.detect_repeats, G))
        res["load_after"] = os.getloadavg()
    finally:
        fleet.stop()
    # Baseline rates: mean over the baseline phases.
    base = {}
    for kind, addrs in (("node", [n["addr"] for n in fleet.nodes]),
                        ("sentinel", [s["addr"] for s in fleet.sentinels])):
        rs = [rates_of(p, addrs) for p in phases if p["kind"] == "baseline"]
        rs = [r for r in rs if r]
        if not rs:
            base[kind] = None
            continue
        keys = [k for k in rs[0] if k != "cmds"]
        b = {k: sum(r[k] for r in rs) / len(rs) for k in keys}
        names = set().union(*[r["cmds"] for r in rs])
        b["cmds"] = {c: sum(r["cmds"].get(c, 0) for r in rs) / len(rs) for c in names}
        base[kind] = b
    res["contenders"] = {}
    for kind in ("ours", "redis_exporter", "floor"):
        reps = []
        for p in phases:
            if p["kind"] != kind:
                continue
            s = p["summary"]
            cyc = s.get("cycles")
            x = {"cycles_per_s": cyc / p["window_s"] if cyc else None,
                 "cycle_p50_ms": pct(s.get("cycle_ms", []), 50),
                 "cycle_p99_ms": pct(s.get("cycle_ms", []), 99),
                 "cpu_ms_per_cycle": p["cpu_s"] * 1000.0 / cyc if cyc else None,
                 "cpu_pct": p["cpu_s"] / p["window_s"] * 100.0,
                 "rss_mb": p["rss_hwm_kb"] / 1024.0, "fds": p["fds_max"],
                 "conns_per_node": p["conns_per_node_max"],
                 "conns_per_sentinel": p["conns_per_sentinel_max"],
                 "conns_total": p["conns_total_max"],
                 "cpu_by_thread": p["cpu_by_thread"],
                 "load": load_per_cycle(p, base, fleet, cyc),
                 "segments": segments_per_cycle(p.get("segments_out"), cyc)}
            if kind == "ours":
                http_s = sum(v for k, v in p["cpu_by_thread"].items() if k.startswith("http"))
                x["cpu_ms_per_cycle_poll_only"] = ((p["cpu_s"] - http_s) * 1000.0 / cyc
                                                   if cyc else None)
                x["cpu_pct_poll_only"] = (p["cpu_s"] - http_s) / p["window_s"] * 100.0
                x["metrics_p50_ms"] = pct(s.get("metrics_ms", []), 50)
                x["metrics_p99_ms"] = pct(s.get("metrics_ms", []), 99)
                x["metrics_bytes"] = s.get("metrics_bytes")
                x["connections_gauge"] = s.get("exporter_connections_gauge")
            if kind == "redis_exporter":
                x["scrape_p50_ms"] = pct(s.get("scrape_ms", []), 50)
                x["scrape_p99_ms"] = pct(s.get("scrape_ms", []), 99)
                x["errors"] = s.get("errors")
                x["overruns"] = s.get("overruns")
                x["sweep_bytes"] = s.get("sweep_bytes")
            if kind == "floor":
                x["failures"] = s.get("failures")
            reps.append(x)
        res["contenders"][kind] = {"reps": reps}
    res["baseline"] = base
    return res


# ---------------------------------------------------------------------------------------
# Figures, targets and the report

def figure(res, kind, key, sub=None):
    reps = res["contenders"].get(kind, {}).get("reps", [])
    vals = []
    for r in reps:
        v = r.get(key)
        if sub is not None:
            for s in sub:
                v = v.get(s) if isinstance(v, dict) else None
        vals.append(v)
    return med(vals), spread(vals)


def fmt(v, digits=2):
    if v is None:
        return "—"
    if isinstance(v, float):
        if abs(v) >= 100:
            return "%.0f" % v
        return ("%%.%df" % digits) % v
    return str(v)


def fmt_spread(m, sp, digits=2):
    if m is None:
        return "—"
    lo, hi = sp
    if lo is None or lo == hi:
        return fmt(m, digits)
    return "%s (%s–%s)" % (fmt(m, digits), fmt(lo, digits), fmt(hi, digits))


ROWS = [
    # label, key, sub, digits
    ("poll cycles per second", "cycles_per_s", None, 2),
    ("cycle wall time p50, ms", "cycle_p50_ms", None, 2),
    ("cycle wall time p99, ms", "cycle_p99_ms", None, 2),
    ("CPU per cycle, ms", "cpu_ms_per_cycle", None, 3),
    ("CPU per cycle without /metrics, ms", "cpu_ms_per_cycle_poll_only", None, 3),
    ("CPU, % of one core", "cpu_pct", None, 2),
    ("CPU without /metrics, % of one core", "cpu_pct_poll_only", None, 2),
    ("peak RSS (VmHWM), MB", "rss_mb", None, 1),
    ("open fds (max)", "fds", None, 0),
    ("TCP connections per data node (max)", "conns_per_node", None, 0),
    ("TCP connections per Sentinel (max)", "conns_per_sentinel", None, 0),
    ("data node: commands per cycle", "load", ("node", "cmds_total"), 2),
    ("data node: bytes in per cycle", "load", ("node", "total_net_input_bytes"), 0),
    ("data node: bytes out per cycle", "load", ("node", "total_net_output_bytes"), 0),
    ("data node: read events (round trips) per cycle", "load", ("node", "total_reads_processed"), 2),
    ("data node: request segments sent per cycle (client side; mean)", "segments", ("node",), 2),
    ("data node: request segments sent per cycle (client side; max)", "segments", ("node_max",), 2),
    ("data node: connections accepted per cycle", "load", ("node", "total_connections_received"), 2),
    ("Sentinel: commands per cycle", "load", ("sentinel", "cmds_total"), 1),
    ("Sentinel: bytes in per cycle", "load", ("sentinel", "total_net_input_bytes"), 0),
    ("Sentinel: bytes out per cycle", "load", ("sentinel", "total_net_output_bytes"), 0),
    ("Sentinel: read events (round trips) per cycle", "load", ("sentinel", "total_reads_processed"), 2),
    ("Sentinel: request segments sent per cycle (client side; mean)", "segments", ("sentinel",), 2),
    ("Sentinel: request segments sent per cycle (client side; max)", "segments", ("sentinel_max",), 2),
    ("/metrics (ours) or one target's scrape (redis_exporter) p50, ms", None, None, 2),
    ("/metrics (ours) or one target's scrape (redis_exporter) p99, ms", None, None, 2),
]


def targets(res):
    """[(target, measured text, pass bool or None)] at this fleet size."""
    def f(kind, key, sub=None):
        return figure(res, kind, key, sub)[0]

    out = []

    def add(name, value, ok, text=None, floor=None):
        out.append((name, text if text is not None else fmt(value), ok, floor))

    def verdict(ok):
        return "PASS" if ok else "FAIL"

    cpu_pct = f("ours", "cpu_pct")
    add("CPU < 3 % of one core at 1 s (poll + one /metrics scrape a second)", cpu_pct,
        cpu_pct is not None and cpu_pct < 3, "%s %% (poll alone %s %%)" % (
            fmt(cpu_pct), fmt(f("ours", "cpu_pct_poll_only"))),
        None if f("floor", "cpu_pct") is None else "the floor's poll: %s %%, %s" % (
            fmt(f("floor", "cpu_pct")), verdict(f("floor", "cpu_pct") < 3)))
    ours_cpu = f("ours", "cpu_ms_per_cycle")
    re_cpu = f("redis_exporter", "cpu_ms_per_cycle")
    ratio = re_cpu / ours_cpu if ours_cpu and re_cpu else None
    add(">= 5x less CPU per full sweep than redis_exporter", ratio,
        ratio is not None and ratio >= 5,
        "%sx (%s vs %s ms)" % (fmt(ratio, 1), fmt(re_cpu, 2), fmt(ours_cpu, 3)))
    poll_only = f("ours", "cpu_ms_per_cycle_poll_only")
    floor_cpu = f("floor", "cpu_ms_per_cycle")
    fr = poll_only / floor_cpu if poll_only and floor_cpu else None
    add("within 1.5x the floor (CPU per cycle, poll only)", fr, fr is not None and fr <= 1.5,
        "%sx (%s vs %s ms)" % (fmt(fr, 2), fmt(poll_only, 3), fmt(floor_cpu, 3)))
    p99 = f("ours", "cycle_p99_ms")
    fp99 = f("floor", "cycle_p99_ms")
    add("poll cycle p99 < 50 ms", p99, p99 is not None and p99 < 50, fmt(p99) + " ms",
        None if fp99 is None else "the floor's cycle p99: %s ms, %s" % (
            fmt(fp99), verdict(fp99 < 50)))
    m99 = f("ours", "metrics_p99_ms")
    add("/metrics < 25 ms (p99 of the scrapes)", m99, m99 is not None and m99 < 25,
        fmt(m99) + " ms")
    g = res.get("gate", {})
    add("gate p99 < 1 ms at 1000 requests/s", g.get("p99_ms"),
        g.get("p99_ms") is not None and g["p99_ms"] < 1 and not g.get("errors"),
        "%s ms (p50 %s ms, %s req/s achieved; /healthz under the same load: p99 %s ms; a "
        "thread's wake-up under it, no HTTP: p99 %s ms late)" % (
            fmt(g.get("p99_ms")), fmt(g.get("p50_ms")), fmt(g.get("achieved_rps"), 0),
            fmt(g.get("healthz", {}).get("p99_ms")), fmt(g.get("wake", {}).get("p99_ms"), 2)),
        None if g.get("healthz", {}).get("p99_ms") is None else
        "`/healthz` (reads nothing) p99: %s ms, %s%s" % (
            fmt(g["healthz"]["p99_ms"]), verdict(g["healthz"]["p99_ms"] < 1),
            "" if g.get("interleaved", {}).get("healthz", {}).get("p99_ms") is None else
            "; interleaved with the gate, same window: `/healthz` %s ms, gate %s ms" % (
                fmt(g["interleaved"]["healthz"]["p99_ms"]),
                fmt(g["interleaved"]["gate"]["p99_ms"]))))
    rss = f("ours", "rss_mb")
    add("peak RSS < 40 MB", rss, rss is not None and rss < 40, fmt(rss, 1) + " MB")
    cn, cs = f("ours", "conns_per_node"), f("ours", "conns_per_sentinel")
    add("one connection per server (+ one subscription per Sentinel)", None,
        cn is not None and cn <= 1 and cs is not None and cs <= 2,
        "%s per data node, %s per Sentinel" % (fmt(cn, 0), fmt(cs, 0)))
    # Counted where a round trip starts: the data segments the exporter's sockets sent
    # (kernel counters, each request batch is at least one). Server-side read events are
    # reported beside it but also count the fleet's own traffic, whose baseline subtracts
    # with noise.
    worst = None
    for r in res["contenders"].get("ours", {}).get("reps", []):
        sg = r.get("segments")
        if not sg or sg.get("node_max_count") is None or sg.get("sentinel_max_count") is None:
            worst = None
            break
        excess = max(sg["node_max_count"], sg["sentinel_max_count"]) - (sg["cycles"] + 1)
        worst = excess if worst is None else max(worst, excess)
    rn = f("ours", "segments", ("node_max",))
    rs = f("ours", "segments", ("sentinel_max",))
    rn_ev = f("ours", "load", ("node", "total_reads_processed"))
    rs_ev = f("ours", "load", ("sentinel", "total_reads_processed"))
    add("<= 1 round trip per server per cycle (request segments each connection sent, "
        "kernel counters)", None, worst is not None and worst <= 0,
        "max over servers %s per data node, %s per Sentinel (subscription included; a "
        "window's edges can add one: at most cycles + 1 in every repetition: %s); server "
        "read events, baseline subtracted: %s per data node, %s per Sentinel" % (
            fmt(rn), fmt(rs), "yes" if worst is not None and worst <= 0 else "no",
            fmt(rn_ev), fmt(rs_ev)))
    # Per server over the whole fleet (3G data nodes and 3 Sentinels), and per kind. Both
    # contenders ask each Sentinel the same SENTINEL commands for every group, so on the
    # Sentinel side the two are equal by construction and differ by noise.
    ok = True
    parts = []
    nodes, sentinels = 3 * res["groups"], 3
    for key, label in (("cmds_total", "cmds"), ("total_net_input_bytes", "B in"),
                       ("total_net_output_bytes", "B out")):
        per = {}
        for who in ("ours", "redis_exporter"):
            n = f(who, "load", ("node", key))
            sv = f(who, "load", ("sentinel", key))
            per[who] = (None if n is None or sv is None
                        else (n * nodes + sv * sentinels) / (nodes + sentinels))
        if per["ours"] is None or per["redis_exporter"] is None or \
                per["ours"] >= per["redis_exporter"]:
            ok = False
        parts.append("%s %s vs %s" % (label, fmt(per["ours"], 1), fmt(per["redis_exporter"], 1)))
    kinds = []
    for kind in ("node", "sentinel"):
        for key, label in (("cmds_total", "cmds"), ("total_net_input_bytes", "B in"),
                           ("total_net_output_bytes", "B out")):
            kinds.append("%s %s %s vs %s" % (kind, label, fmt(f("ours", "load", (kind, key)), 1),
                                             fmt(f("redis_exporter", "load", (kind, key)), 1)))
    add("fewer commands and bytes per server than redis_exporter", None, ok,
        "per server over the fleet: " + "; ".join(parts) + " (by kind: " + "; ".join(kinds) +
        "; Sentinels get the same SENTINEL commands from both)")
    d = res.get("detection", {})
    h = d.get("hung", {})
    figs = [d.get("sdown_to_gate_ms"), d.get("switch_to_gate_ms"), h.get("sdown_to_gate_ms"),
            h.get("switch_to_gate_ms")]
    add("+sdown / +switch-master in the snapshot < 100 ms after Sentinel publishes it", None,
        all(x is not None and x < 100 for x in figs),
        "primary killed: %s ms / %s ms (median; worst %s / %s); primary hung (SIGSTOP): %s ms / "
        "%s ms (worst %s / %s)" % (
            fmt(figs[0], 1), fmt(figs[1], 1), fmt(d.get("sdown_to_gate_max_ms"), 1),
            fmt(d.get("switch_to_gate_max_ms"), 1), fmt(figs[2], 1), fmt(figs[3], 1),
            fmt(h.get("sdown_to_gate_max_ms"), 1), fmt(h.get("switch_to_gate_max_ms"), 1)))
    return out


def growth(results):
    """Least-squares fits of cost against G for each contender."""
    xs = [r["groups"] for r in results]
    out = {}
    for kind in ("ours", "redis_exporter", "floor"):
        for key in ("cpu_ms_per_cycle", "cycle_p50_ms"):
            ys = [figure(r, kind, key)[0] for r in results]
            if len(xs) < 2 or any(y is None for y in ys):
                continue
            a, b, r2 = fit_line(xs, ys)
            out["%s/%s" % (kind, key)] = {"intercept": a, "slope_per_group": b, "r2": r2,
                                          "points": list(zip(xs, ys))}
    return out


def machine_facts():
    facts = {"nproc": os.cpu_count(), "kernel": platform.release()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    facts["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            facts["mem_total_mb"] = int(f.readline().split()[1]) // 1024
    except OSError:
        pass
    try:
        facts["redis"] = subprocess.run(["redis-server", "--version"], capture_output=True,
                                        text=True).stdout.strip()
    except OSError:
        pass
    try:
        facts["commit"] = subprocess.run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"],
                                         capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    return facts


def which_part(nodes_ms, sentinels_ms, q):
    """Which part of a cycle, the data nodes or the Sentinels, its wall time at quantile q
    mostly waits for (a clear difference only: half again as long)."""
    if nodes_ms is None or sentinels_ms is None:
        return ""
    if nodes_ms >= 1.5 * sentinels_ms:
        return ("At %s the wall time is mostly the data nodes: each is a process that needs "
                "its turn on a core to answer." % q)
    if sentinels_ms >= 1.5 * nodes_ms:
        return ("At %s the wall time is mostly the Sentinels: each builds every group's "
                "tables on one thread, sharing the cores with the rest of the fleet." % q)
    return "At %s neither part takes half again as long as the other." % q


def which_parts(nodes, sents):
    """which_part at p50 and at p99, said once for both when it is the same part."""
    p50 = which_part(nodes["cycle_p50_ms"], sents["cycle_p50_ms"], "p50")
    p99 = which_part(nodes["cycle_p99_ms"], sents["cycle_p99_ms"], "p99")
    if p50 and p50.replace("p50", "p99", 1) == p99:
        return p50.replace("At p50", "At p50 and at p99", 1), ""
    return p50, p99


def context_notes(res):
    """What this machine itself allows, measured in the same run, next to the targets that
    depend on it: the floor's cycle time, /healthz's latency, a scrape's own CPU."""
    def f(kind, key, sub=None):
        return figure(res, kind, key, sub)[0]
    out = ["What the same run measured of the machine itself, for the wall-time targets:\n"]
    busy = ("%s %% of one of the 2 cores" % fmt(res.get("fleet_cpu_pct"), 0)
            if res.get("fleet_cpu_pct") is not None else "the cores")
    line = ("- Poll cycle: the floor (replies read and dropped) has p50 %s ms and p99 %s ms "
            "on this fleet, which itself keeps %s busy." % (
                fmt(f("floor", "cycle_p50_ms")), fmt(f("floor", "cycle_p99_ms")), busy))
    split = res.get("floor_split", {})
    nodes, sents = split.get("node", {}), split.get("sentinel", {})
    if nodes.get("cycle_p50_ms") is not None and sents.get("cycle_p50_ms") is not None:
        n_nodes = res.get("servers", 0) - 3
        line += (" Polling only the %d data nodes it has p50 %s ms and p99 %s ms; only the 3 "
                 "Sentinels (every group's tables, ~%s KB from each), p50 %s ms and p99 %s ms "
                 "(%d and %d cycles). %s %s" % (
                     n_nodes, fmt(nodes["cycle_p50_ms"]), fmt(nodes["cycle_p99_ms"]),
                     fmt((f("ours", "load", ("sentinel", "total_net_output_bytes")) or 0)
                         / 1024, 0),
                     fmt(sents["cycle_p50_ms"]), fmt(sents["cycle_p99_ms"]),
                     nodes["cycles"], sents["cycles"], *which_parts(nodes, sents)))
    out.append(line)
    cpu, poll = f("ours", "cpu_ms_per_cycle"), f("ours", "cpu_ms_per_cycle_poll_only")
    if cpu is not None and poll is not None:
        pct = f("ours", "cpu_pct_poll_only")
        out.append("- /metrics: one scrape of %s bytes costs %s ms of CPU; its wall time is "
                   "that plus waiting for a core. Scraped every 15 s instead of every second, "
                   "the exporter would use %s %% of a core (poll alone plus a fifteenth of a "
                   "scrape; derived, not measured)." % (
                       fmt(f("ours", "metrics_bytes"), 0), fmt(cpu - poll, 1),
                       fmt(pct + (cpu - poll) / 15.0 / 10.0 if pct is not None else None)))
    h = res.get("gate", {}).get("healthz", {})
    il = res.get("gate", {}).get("interleaved", {})
    if h:
        hp, gp = h.get("p99_ms"), res["gate"].get("p99_ms")
        if il.get("gate", {}).get("p99_ms") is not None:
            why = "the two phases ran one after the other; for the same moments see below"
        elif hp is not None and gp is not None and hp >= 0.5 * gp:
            why = "the tail is the machine's scheduling, not the gate's work"
        else:
            why = "the difference is what the gate's own work adds at the tail"
        out.append("- Gate: `/healthz`, which reads nothing, has p99 %s ms under the same load, "
                   "against the gate's %s ms: %s (service time p50 %s ms)." % (
                       fmt(hp), fmt(gp), why, fmt(res["gate"].get("service_p50_ms"), 3)))
    if il.get("gate", {}).get("p99_ms") is not None:
        a, b = il["gate"], il["healthz"]
        out.append("- Gate and `/healthz` interleaved (every second request, the same "
                   "connections, %s requests/s in all, so both meet the same moments of the "
                   "machine): gate p50 %s ms, p99 %s ms; `/healthz` p50 %s ms, p99 %s ms. "
                   "Separate phases differ by how the machine varies over time; this is what "
                   "the gate's own work adds under the same conditions." % (
                       fmt(il.get("rps_target"), 0), fmt(a["p50_ms"], 3), fmt(a["p99_ms"], 2),
                       fmt(b["p50_ms"], 3), fmt(b["p99_ms"], 2)))
    w = res.get("gate", {}).get("wake", {})
    if w:
        out.append("- Wake-ups: under the same load, a thread that only sleeps to 1000 deadlines "
                   "a second (`bench_http wake`, no HTTP) woke p50 %s ms, p99 %s ms, worst %s ms "
                   "late. An HTTP answer waits for at least two wake-ups (the server's worker, "
                   "then the client), so its p99 cannot be below this one." % (
                       fmt(w.get("p50_ms"), 3), fmt(w.get("p99_ms"), 2), fmt(w.get("max_ms"), 1)))
    out.append("")
    return out


def write_report(path, results, fits, facts, args, started, finished):
    big = max(results, key=lambda r: r["groups"])
    at = next((r for r in results if r["groups"] == 100), big)
    L = []
    L.append("# Fleet benchmark: redis_ha_exporter vs redis_exporter vs the floor\n")
    L.append("Generated by `%s` (bench/bench.py) on %s, %s–%s UTC. Do not edit by hand.\n" % (
        args.command_line, facts.get("commit", "?"), time.strftime("%Y-%m-%d %H:%M", time.gmtime(started)),
        time.strftime("%H:%M", time.gmtime(finished))))
    L.append("## Machine\n")
    L.append("- %s cores (`nproc`), %s, %s MB RAM, Linux %s; %s" % (
        facts.get("nproc"), facts.get("cpu", "?"), facts.get("mem_total_mb", "?"),
        facts.get("kernel"), facts.get("redis", "")))
    L.append("- load average (1/5/15 min, `uptime`) before and after each fleet size: " + "; ".join(
        "G=%d %s → %s" % (r["groups"], "/".join("%.2f" % x for x in r["load_before"]),
                          "/".join("%.2f" % x for x in r.get("load_after", ())))
        for r in results))
    L.append("- the fleet runs at nice %d, the contenders at 0 (`--fleet-nice`; see "
             "bench/README.md)" % args.fleet_nice)
    L.append("- the fleet itself (all redis-server and Sentinel processes, writer on): " + "; ".join(
        "G=%d %.0f %% of a core, %.0f MB RSS" % (r["groups"], r["fleet_cpu_pct"], r["fleet_rss_mb"])
        for r in results))
    if args.interval_ms != 1000:
        L.append("- **every contender polled every %d ms, not every second**: per-cycle figures "
                 "hold, per-second ones (CPU %% of a core) are %.1fx what they would be at 1 s, "
                 "and the targets' PASS/FAIL do not apply" % (args.interval_ms,
                                                             1000.0 / args.interval_ms))
    L.append("- phases: %d repetitions of baseline/ours/redis_exporter/floor (order rotated), "
             "each %g s measured after %g s warm-up; medians, with (min–max) over the "
             "repetitions\n" % (args.reps, args.phase, args.warmup))
    L.append("## Targets at G = %d\n" % at["groups"])
    L.append("| target | measured | result | the same target for the machine's floor "
             "(same run) |")
    L.append("| --- | --- | --- | --- |")
    for name, text, ok, floor in targets(at):
        L.append("| %s | %s | %s | %s |" % (name, text, "PASS" if ok else "FAIL", floor or "—"))
    L.append("")
    L.extend(context_notes(at))
    for r in results:
        L.append("## G = %d (%d servers: %d data nodes + 3 Sentinels)\n" % (
            r["groups"], r["servers"], r["servers"] - 3))
        L.append("| figure | ours | redis_exporter | floor |")
        L.append("| --- | --- | --- | --- |")
        for label, key, sub, digits in ROWS:
            cells = []
            for kind in ("ours", "redis_exporter", "floor"):
                if key is None:
                    k = ("metrics_p50_ms" if "p50" in label else "metrics_p99_ms") \
                        if kind == "ours" else ("scrape_p50_ms" if "p50" in label
                                                else "scrape_p99_ms")
                    m, sp = figure(r, kind, k)
                    cells.append(fmt_spread(m, sp, digits) if kind != "floor" else "—")
                    continue
                m, sp = figure(r, kind, key, sub)
                cells.append(fmt_spread(m, sp, digits))
            L.append("| %s | %s |" % (label, " | ".join(cells)))
        mb = figure(r, "ours", "metrics_bytes")[0]
        sb = figure(r, "redis_exporter", "sweep_bytes")[0]
        L.append("| /metrics size (ours) or one sweep's bytes (redis_exporter) | %s | %s | — |" % (
            fmt(mb, 0), fmt(sb, 0)))
        g = r.get("gate", {})
        q = g.get("healthz", {})
        L.append("\nGate (`/gate?group=…&action=failover`, %d keep-alive connections, open loop "
                 "at %d/s, latency from when each request was due): p50 %s ms, p99 %s ms, max %s "
                 "ms; %s requests, %s errors, %s req/s achieved; service time p50 %s / p99 %s ms. "
                 "The same load on `/healthz` (answers `ok`, reads nothing: the machine's floor "
                 "for an HTTP answer under this load): p50 %s ms, p99 %s ms, max %s ms, %s req/s."
                 % (8, g.get("rps_target", 0), fmt(g.get("p50_ms"), 3), fmt(g.get("p99_ms"), 3),
                    fmt(g.get("max_ms"), 1), g.get("requests"), g.get("errors"),
                    fmt(g.get("achieved_rps"), 0), fmt(g.get("service_p50_ms"), 3),
                    fmt(g.get("service_p99_ms"), 3), fmt(q.get("p50_ms"), 3),
                    fmt(q.get("p99_ms"), 3), fmt(q.get("max_ms"), 1),
                    fmt(q.get("achieved_rps"), 0)))
        il = g.get("interleaved", {})
        if il.get("gate"):
            L.append("Interleaved, every second request `/healthz` (%s/s in all, same "
                     "connections and window): gate p50 %s ms, p99 %s ms; `/healthz` p50 %s "
                     "ms, p99 %s ms." % (
                         fmt(il.get("rps_target"), 0), fmt(il["gate"].get("p50_ms"), 3),
                         fmt(il["gate"].get("p99_ms"), 3), fmt(il["healthz"].get("p50_ms"), 3),
                         fmt(il["healthz"].get("p99_ms"), 3)))
        w = g.get("wake", {})
        if w:
            L.append("A thread sleeping to 1000 deadlines a second under the same load (no HTTP) "
                     "woke p50 %s ms, p99 %s ms, worst %s ms late." % (
                         fmt(w.get("p50_ms"), 3), fmt(w.get("p99_ms"), 3),
                         fmt(w.get("max_ms"), 1)))
        d = r.get("detection", {})
        L.append(
            "\nDetection (%d trials, a primary SIGKILLed, down-after-milliseconds %d; medians, "
            "times from the kill): Sentinel published `+sdown` at %s ms and the exporter's gate "
            "showed `primary_down` at %s ms: **%s ms after `+sdown`** (worst %s). Sentinel "
            "published `+switch-master` at %s ms and `/api/v1/groups?group=G` showed that Sentinel's new "
            "primary at %s ms: **%s ms after** (worst %s); the group's majority primary changed "
            "at %s ms. Our own poll showed the killed node down at %s ms (before Sentinel's "
            "`+sdown`, which waits down-after-milliseconds). Each time includes one request: "
            "gate %s ms, /api/v1/groups?group=G %s ms on average%s.\n" % (
                len(d.get("trials", [])), args.down_after_ms, fmt(d.get("sdown_ms"), 0),
                fmt(d.get("gate_sdown_ms"), 0), fmt(d.get("sdown_to_gate_ms"), 1),
                fmt(d.get("sdown_to_gate_max_ms"), 1), fmt(d.get("switch_ms"), 0),
                fmt(d.get("api_view_switch_ms"), 0), fmt(d.get("switch_to_gate_ms"), 1),
                fmt(d.get("switch_to_gate_max_ms"), 1), fmt(d.get("api_switch_ms"), 0),
                fmt(d.get("api_down_ms"), 0), fmt(d.get("gate_mean_ms"), 2),
                fmt(d.get("api_mean_ms"), 2),
                " (the probe acknowledges at once, TCP_QUICKACK)" if args.detect_quickack else ""))
        h = d.get("hung")
        if h:
            L.append(
                "A primary hung instead (%d trials in other groups, SIGSTOP: its sockets accept and "
                "nothing answers, so every poll cycle waits `--poll.timeout` for it): `+sdown` at "
                "%s ms, the gate's `primary_down` **%s ms after** (worst %s); `+switch-master` at "
                "%s ms, that Sentinel's new primary in `/api/v1/groups?group=G` **%s ms after** "
                "(worst %s). Our own poll showed it down (timeout) at %s ms.\n" % (
                    len(h.get("trials", [])), fmt(h.get("sdown_ms"), 0),
                    fmt(h.get("sdown_to_gate_ms"), 1), fmt(h.get("sdown_to_gate_max_ms"), 1),
                    fmt(h.get("switch_ms"), 0), fmt(h.get("switch_to_gate_ms"), 1),
                    fmt(h.get("switch_to_gate_max_ms"), 1), fmt(h.get("api_down_ms"), 0)))
        e = d.get("empty", {})
        if e:
            L.append(empty_text(e) + "\n")
        for kind in ("ours", "redis_exporter"):
            reps = r["contenders"][kind]["reps"]
            if reps and reps[0].get("load"):
                for node_kind in ("node", "sentinel"):
                    ld = reps[0]["load"].get(node_kind)
                    if ld:
                        L.append("- %s, commands per %s per cycle by name (first repetition): %s" % (
                            kind, "data node" if node_kind == "node" else "Sentinel",
                            ", ".join("%s %s" % (c, v) for c, v in ld["by_command"].items())
                            or "none"))
        L.append("")
    if fits:
        L.append("## Growth with G (least squares, y = a + b·G over the medians)\n")
        L.append("| contender / figure | slope b per group | intercept a | R² | points (G, y) |")
        L.append("| --- | --- | --- | --- | --- |")
        for k, v in fits.items():
            L.append("| %s | %.4g | %.4g | %.4f | %s |" % (
                k, v["slope_per_group"], v["intercept"], v["r2"],
                ", ".join("(%d, %.3g)" % p for p in v["points"])))
        o = fits.get("ours/cpu_ms_per_cycle")
        if o:
            L.append("\nOurs: CPU per cycle grows by %.3f ms per group; R² = %.4f, so the cost is "
                     "%s in G over %d–%d groups." % (
                         o["slope_per_group"], o["r2"],
                         "linear" if o["r2"] >= 0.98 else "NOT clearly linear (R² < 0.98)",
                         results[0]["groups"], big["groups"]))
        L.append("\n![cost against G](cost.png)\n")
    L.append("## How each figure is measured\n")
    L.append(MEASURE_NOTES)
    L.append("\nRegenerate: `make bench` (or `%s`).\n" % args.command_line)
    with open(path, "w") as f:
        f.write("\n".join(L))


MEASURE_NOTES = """\
- **Fleet**: `bench_fleet` (the test lab) starts G groups of 1 primary + 2 replicas and 3
  Sentinels (quorum 2) on loopback, no persistence; a writer SETs a 64-byte value on every
  primary 10 times a second (following failovers). The fleet runs at nice 19 (`--fleet-nice`):
  the servers stand in for machines the monitor does not share its cores with, so a contender
  that wants a core gets it while the fleet takes all the rest. At nice 0 every wall time
  below is mostly the run queue of ~300 server processes on 2 cores.
- **Contenders** run one at a time against that same fleet, order rotated per repetition.
  *Ours*: `redis_ha_exporter --poll.interval 1s`, with `/metrics` scraped once a second (the
  harness plays Prometheus). *redis_exporter*: `prometheus-redis-exporter` (Debian 1.45,
  defaults), every data node and Sentinel scraped once a second through
  `/scrape?target=redis://…`, all at once; a sweep is one such round. *Floor*: `bench_floor`,
  hiredis, our per-cycle commands to every server pipelined and concurrently, replies read and
  dropped (no subscription).
- **Cycle wall time**: ours from the `redis_ha_exporter_poll_duration_seconds` sum/count
  deltas between consecutive scrapes (exact when one cycle fell between two scrapes);
  redis_exporter: the wall time of a whole sweep; floor: its own clock.
- **CPU**: on-CPU time of every thread (`/proc/<pid>/task/*/schedstat`, checked against
  `utime+stime` of `/proc/<pid>/stat`) over the window, per cycle (or sweep) and per second.
  *Without /metrics* leaves out the HTTP server's threads (`http-accept`, `http-worker`).
- **Load on Redis**: each server's own `INFO stats commandstats` before and after the window;
  per-server means, minus the same from the baseline phases (fleet alone), divided by the
  contender's cycles. *Read events* is `total_reads_processed`: one per batch a client sends
  (one round trip), plus one per connection close, and the fleet's own traffic (writer,
  replication, Sentinel) which the baseline only subtracts up to its noise.
- **Round trips**: counted on the client side, where a round trip starts: the kernel's
  count of data segments each of the contender's sockets sent (`ss -ti`, `data_segs_out`),
  before and after the window, per server (a Sentinel's subscription included), divided by
  the cycles. Each request batch leaves in at least one segment, so this bounds the round
  trips from above; a cycle cut by the window's edges can add one. Not for redis_exporter,
  whose per-scrape connections close within the window.
- **Connections**: established TCP sockets of the contender's process to each fleet port,
  sampled every second (max); fds from `/proc/<pid>/fd`; peak RSS is `VmHWM`.
- **Gate**: `bench_http rate`, open loop at 1000 requests/s on 8 keep-alive connections while
  the exporter polls and is scraped; latency from when each request was due. Then the same
  load on `/healthz`, which reads nothing; then both interleaved on the same connections
  (every second request `/healthz`), so both meet the same moments of the machine: the
  difference there is what the gate itself costs. Separate phases also differ by how the
  machine varies from one 20 s window to the next.
- **Detection**: `bench_detect` subscribes to every Sentinel, SIGKILLs a primary (in other
  groups, SIGSTOPs one: a hung primary, continued after the trial) and polls the
  exporter's `/gate?group=G&action=failover` (≈1 ms apart) and `/api/v1/groups?group=G` (every 50 ms
  until our poll shows the node down, back to back once `+switch-master` is out):
  `primary_down` in the gate means a Sentinel's s_down/o_down flag is in the published
  snapshot; a Sentinel view in /api/v1/groups naming the primary of the `+switch-master`
  message means the switch is. Times are response arrivals, so each includes one request's
  latency (given). In other groups, a primary restarted empty: `bench_detect` writes 2000
  keys to it and waits until the replicas and the exporter have them, SIGKILLs it, and the
  fleet starts it again at once (no persistence); then it probes the primary every 2 ms for
  its first answer, the replicas' DBSIZE every 5 ms for the wipe, the gate for
  `empty_primary_risk` and `/api/v1/groups` every 20 ms for the factors.
"""


def write_plot(out_dir, results):
    if not shutil.which("gnuplot") or len(results) < 1:
        return False
    data = os.path.join(out_dir, "cost.dat")
    with open(data, "w") as f:
        f.write("# G ours_cpu_ms ours_poll_only_ms redis_exporter_cpu_ms floor_cpu_ms\n")
        for r in results:
            vals = [figure(r, "ours", "cpu_ms_per_cycle")[0],
                    figure(r, "ours", "cpu_ms_per_cycle_poll_only")[0],
                    figure(r, "redis_exporter", "cpu_ms_per_cycle")[0],
                    figure(r, "floor", "cpu_ms_per_cycle")[0]]
            f.write("%d %s\n" % (r["groups"], " ".join("NaN" if v is None else "%.6f" % v
                                                        for v in vals)))
    script = """
set terminal pngcairo size 900,560 font "sans,10"
set output '%s'
set title 'CPU time per full sweep of the fleet (1 s interval), median of repetitions'
set xlabel 'groups G (3 data nodes each, + 3 Sentinels)'
set ylabel 'CPU ms per cycle / sweep'
set logscale xy
set grid
set key top left
plot '%s' using 1:4 with linespoints lw 2 title 'redis\\_exporter (scrape every target)', \\
     '%s' using 1:2 with linespoints lw 2 title 'ours (poll + /metrics)', \\
     '%s' using 1:3 with linespoints lw 2 dt 2 title 'ours (poll only)', \\
     '%s' using 1:5 with linespoints lw 2 title 'floor (hiredis, replies ignored)'
""" % (os.path.join(out_dir, "cost.png"), data, data, data, data)
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        log("gnuplot failed:", r.stderr.strip())
        return False
    return True


def missing_figures(results, have_redis_exporter, have_plot):
    """Every figure the report shows must have been produced (the smoke check)."""
    missing = []
    kinds = ("ours", "redis_exporter", "floor") if have_redis_exporter else ("ours", "floor")
    for r in results:
        G = r["groups"]
        for label, key, sub, _ in ROWS:
            for kind in kinds:
                if key is None:
                    if kind == "floor":
                        continue
                    k = ("metrics_p99_ms" if kind == "ours" else "scrape_p99_ms")
                    if figure(r, kind, k)[0] is None:
                        missing.append("G=%d %s %s" % (G, kind, k))
                    continue
                if key in ("cpu_ms_per_cycle_poll_only", "cpu_pct_poll_only") and kind != "ours":
                    continue
                if key == "load" and kind == "floor":
                    continue
                if key == "segments" and kind == "redis_exporter":
                    continue  # it reconnects every scrape: closed sockets' counters are gone
                if figure(r, kind, key, sub)[0] is None:
                    missing.append("G=%d %s %s %s" % (G, kind, key, sub or ""))
        g = r.get("gate", {})
        for k in ("p50_ms", "p99_ms"):
            if g.get(k) is None:
                missing.append("G=%d gate %s" % (G, k))
            for part in ("healthz", "wake"):
                if g.get(part, {}).get(k) is None:
                    missing.append("G=%d gate %s %s" % (G, part, k))
            for part in ("gate", "healthz"):
                if g.get("interleaved", {}).get(part, {}).get(k) is None:
                    missing.append("G=%d gate interleaved %s %s" % (G, part, k))
        for only in ("node", "sentinel"):
            if r.get("floor_split", {}).get(only, {}).get("cycle_p50_ms") is None:
                missing.append("G=%d floor against %s alone cycle_p50_ms" % (G, only))
        d = r.get("detection", {})
        parts = [("", d)]
        if G >= 2:  # one group or more for each kind of trial
            parts.append(("hung ", d.get("hung", {})))
        if G >= 3:
            e = d.get("empty", {})
            for k in ("restart_ms", "gate_empty_ms", "api_fewer_keys_ms", "wipe_ms",
                      "api_wiped_ms"):
                if e.get(k) is None:
                    missing.append("G=%d detection empty %s" % (G, k))
        for label, part in parts:
            for k in ("sdown_ms", "switch_ms", "gate_sdown_ms", "api_view_switch_ms",
                      "api_down_ms", "api_switch_ms"):
                if part.get(k) is None:
                    missing.append("G=%d detection %s%s" % (G, label, k))
    return missing


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--groups", default="1,10,100", help="fleet sizes, comma separated")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--phase", type=float, default=20.0, help="measured seconds per phase")
    ap.add_argument("--warmup", type=float, default=4.0)
    ap.add_argument("--settle", type=float, default=10.0, help="after the fleet is up")
    ap.add_argument("--gate-seconds", type=float, default=20.0)
    ap.add_argument("--gate-rps", type=int, default=1000)
    ap.add_argument("--interval-ms", type=int, default=1000,
                    help="every contender's poll (and scrape) interval; the targets are "
                         "stated at 1000")
    ap.add_argument("--detect-repeats", type=int, default=5)
    ap.add_argument("--down-after-ms", type=int, default=2000)
    ap.add_argument("--detect-quickack", action="store_true",
                    help="detection client with TCP_QUICKACK (a diagnostic for servers "
                         "that leave Nagle on)")
    ap.add_argument("--detect-only", action="store_true",
                    help="only the detection trials (a diagnostic; no report)")
    ap.add_argument("--report-from", default="",
                    help="rewrite RESULTS.md and cost.png from a results.json, running nothing")
    ap.add_argument("--writes-per-second", type=int, default=10)
    ap.add_argument("--fleet-nice", type=int, default=19,
                    help="niceness of the fleet's processes (the contenders run at 0): on one "
                         "machine the fleet stands in for the servers a monitor does not share "
                         "its cores with; 0 puts them on an equal footing")
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--tools", required=True, help="directory with bench_fleet etc.")
    ap.add_argument("--redis-exporter", default=shutil.which("prometheus-redis-exporter") or "")
    ap.add_argument("--out-dir", default=HERE)
    ap.add_argument("--commit", default="", help="what was measured (default: git HEAD)")
    ap.add_argument("--smoke", action="store_true",
                    help="G=3, short phases; exit 1 unless every figure was produced")
    args = ap.parse_args()
    args.command_line = "bench/bench.py " + " ".join(sys.argv[1:])
    if args.smoke:
        # Only that every figure is produced is checked, so each phase is as short as still
        # gives a figure: a 250 ms interval gives four cycles a second. About 20 s in all,
        # most of it the fleet starting and a Sentinel failing over.
        args.groups, args.reps, args.phase, args.warmup = "3", 1, 1.0, 0.5
        args.settle, args.gate_seconds, args.detect_repeats = 0.5, 0.5, 1
        args.down_after_ms, args.interval_ms = 1000, 250
        # Under a loaded `make test` (ctest -j4 beside the sanitizer build), a fleet at
        # nice 19 got almost no CPU: its Sentinels missed each other at start or never
        # failed over. Nothing is judged here, so the fleet runs at the contenders' nice.
        args.fleet_nice = 0
    if not args.redis_exporter or not os.path.exists(args.redis_exporter):
        if not args.smoke:
            log("prometheus-redis-exporter not found: scripts/install-deps.sh bench")
            return 2
        log("prometheus-redis-exporter not installed: the smoke run leaves it out")
        args.redis_exporter = ""
    os.makedirs(args.out_dir, exist_ok=True)
    if args.report_from:
        with open(args.report_from) as f:
            stored = json.load(f)
        results, facts = stored["results"], stored["facts"]
        # What was measured is described as it was run.
        args.command_line = facts.get("command_line", args.command_line)
        args.fleet_nice = 0  # runs before the option existed had the fleet at nice 0
        for k in ("reps", "phase", "warmup", "gate_rps", "down_after_ms", "detect_quickack",
                  "fleet_nice", "interval_ms"):
            if k in facts.get("args", {}):
                setattr(args, k, facts["args"][k])
        fits = growth(results)
        write_plot(args.out_dir, results)
        write_report(os.path.join(args.out_dir, "RESULTS.md"), results, fits, facts, args,
                     facts.get("started", 0), facts.get("finished", 0))
        print("Report: %s" % os.path.join(args.out_dir, "RESULTS.md"))
        return 0
    sizes = [int(x) for x in args.groups.split(",") if x]
    started = time.time()
    facts = machine_facts()
    if args.commit:
        facts["commit"] = args.commit
    workdir = tempfile.mkdtemp(prefix="redis-ha-bench-")
    results = []
    try:
        for G in sizes:
            results.append(bench_size(args, G, workdir))
            # Keep what we have, in case a later size fails.
            with open(os.path.join(args.out_dir, "results.json"), "w") as f:
                json.dump({"facts": facts, "results": results}, f, indent=1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.detect_only:
        for r in results:
            d = r["detection"]
            print("G=%d detection (%d trials): +sdown -> gate %s ms (worst %s), +switch-master -> "
                  "snapshot %s ms (worst %s); requests gate %s ms, api %s ms" % (
                      r["groups"], len(d["trials"]), fmt(d["sdown_to_gate_ms"], 1),
                      fmt(d["sdown_to_gate_max_ms"], 1), fmt(d["switch_to_gate_ms"], 1),
                      fmt(d["switch_to_gate_max_ms"], 1), fmt(d["gate_mean_ms"], 2),
                      fmt(d["api_mean_ms"], 2)))
            h = d.get("hung")
            if h:
                print("G=%d hung primary (%d trials): +sdown -> gate %s ms (worst %s), "
                      "+switch-master -> snapshot %s ms (worst %s)" % (
                          r["groups"], len(h["trials"]), fmt(h["sdown_to_gate_ms"], 1),
                          fmt(h["sdown_to_gate_max_ms"], 1), fmt(h["switch_to_gate_ms"], 1),
                          fmt(h["switch_to_gate_max_ms"], 1)))
            if d.get("empty"):
                print("G=%d " % r["groups"] + empty_text(d["empty"]))
        return 0
    fits = growth(results)
    finished = time.time()
    facts["started"], facts["finished"] = started, finished
    facts["command_line"] = args.command_line
    facts["args"] = {k: getattr(args, k) for k in ("reps", "phase", "warmup", "gate_rps",
                                                   "fleet_nice", "down_after_ms",
                                                   "detect_quickack", "interval_ms")}
    with open(os.path.join(args.out_dir, "results.json"), "w") as f:
        json.dump({"facts": facts, "results": results, "growth": fits}, f, indent=1)
    plotted = write_plot(args.out_dir, results)
    write_report(os.path.join(args.out_dir, "RESULTS.md"), results, fits, facts, args, started,
                 finished)
    # The table on stdout.
    at = next((r for r in results if r["groups"] == 100), max(results, key=lambda r: r["groups"]))
    print("\nTargets at G = %d" % at["groups"])
    for name, text, ok, floor in targets(at):
        print("  %-4s %-75s %s%s" % ("PASS" if ok else "FAIL", name, text,
                                     " [%s]" % floor if floor else ""))
    print("\nReport: %s" % os.path.join(args.out_dir, "RESULTS.md"))
    if args.smoke:
        missing = missing_figures(results, bool(args.redis_exporter), plotted)
        if shutil.which("gnuplot") and not plotted:
            missing.append("cost.png")
        if missing:
            print("smoke: figures missing:\n  " + "\n  ".join(missing))
            return 1
        print("smoke: every figure produced")
    return 0


if __name__ == "__main__":
    sys.exit(main())
