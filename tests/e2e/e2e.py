#!/usr/bin/env python3
"""End to end: the lab, the exporter and a real Prometheus with the rule pack loaded.

  tests/e2e/e2e.py --exporter build/redis_ha_exporter --lab build/redis_ha_lab [--keep]

1. Starts redis_ha_lab (1 primary, 2 replicas, 3 Sentinels, no persistence, down-after 3 s) with
   the exporter, and `prometheus` on a free port (scrape and evaluation every 1 s) loading
   rules/recording.yml and rules/alerts.yml rendered with every `for` clamped to a few seconds.
2. Healthy: every rule loads and evaluates without error, no critical alert is pending or firing.
3. Empty primary: keys written through the primary and replicated, the primary SIGKILLed and
   restarted on the same port and config within down-after (Sentinel does not fail over), the
   replicas full-sync from it and are wiped: RedisHANodeRestarted, RedisHAEmptyPrimaryRiskImminent
   and RedisHADatasetWiped must go firing.
4. Quorum loss: two of the three Sentinels killed: RedisHASentinelDown and RedisHAQuorumUnreachable
   must go firing.
5. Every dashboard query (variables substituted) and every recording rule returns data, in the
   healthy lab or after the faults.

Every wait polls with a deadline; everything started is stopped on exit. Prints one line per
expectation and a summary naming what failed (e.g. a metric the exporter does not export yet).
Python standard library only.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
JOB = "redis_ha"
GROUP = "mymaster"
START = time.monotonic()


def log(msg):
    print("[e2e %5.1fs] %s" % (time.monotonic() - START, msg), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(what, fn, timeout, interval=0.2):
    """Polls fn() until it returns a truthy value; returns it, or None at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            v = fn()
        except Exception:  # noqa: BLE001 - a probe that fails is "not yet"
            v = None
        if v:
            return v
        if time.monotonic() >= deadline:
            log("timed out after %.0fs waiting for %s" % (timeout, what))
            return None
        time.sleep(interval)


def redis_cli(port, *args, timeout=5):
    r = subprocess.run(["redis-cli", "-p", str(port)] + list(args), capture_output=True,
                       text=True, timeout=timeout)
    return r.stdout.strip()


class Results:
    def __init__(self):
        self.items = []

    def add(self, name, ok, detail=""):
        self.items.append((name, ok, detail))
        log("%s %s%s" % ("PASS" if ok else "FAIL", name, (": " + detail) if detail else ""))

    def failed(self):
        return [i for i in self.items if not i[1]]


class Processes:
    """Everything the test starts, stopped in reverse order on exit."""

    def __init__(self):
        self.procs = []

    def start(self, name, cmd, stop_signal=signal.SIGTERM, **kw):
        p = subprocess.Popen(cmd, start_new_session=True, **kw)
        self.procs.append((name, p, stop_signal))
        return p

    def stop_all(self):
        for name, p, sig in reversed(self.procs):
            if p.poll() is not None:
                continue
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                continue
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log("%s did not stop on signal %d: SIGKILL" % (name, sig))
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(timeout=5)


class Prometheus:
    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port

    def get(self, path, **params):
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.load(r)

    def query(self, expr):
        body = self.get("/api/v1/query", query=expr)
        if body.get("status") != "success":
            raise RuntimeError("query failed: %s: %s" % (expr, body))
        return body["data"]["result"]

    def alerts(self):
        return self.get("/api/v1/alerts")["data"]["alerts"]

    def firing(self, name):
        """The labels of every firing instance of the alert, now or in the last 10 minutes
        (the ALERTS series catches alerts that fired and resolved between two polls)."""
        now = [a["labels"] for a in self.alerts()
               if a["labels"].get("alertname") == name and a["state"] == "firing"]
        if now:
            return now
        past = self.query('max_over_time(ALERTS{alertname="%s", alertstate="firing"}[10m])' % name)
        return [s["metric"] for s in past]


class Lab:
    """redis_ha_lab with the exporter; parses the addresses and pids it prints."""

    def __init__(self, procs, lab_bin, exporter_bin, exporter_port, logdir):
        self.lines = []
        self.ready = threading.Event()
        self.logf = open(os.path.join(logdir, "lab.log"), "w", encoding="utf-8")
        cmd = [lab_bin, "--no-persistence", "--down-after", "3000", "--exporter", exporter_bin,
               "--listen", "127.0.0.1:%d" % exporter_port, "--", "--poll.interval=500ms"]
        log("starting " + " ".join(cmd))
        # The lab stops its servers and the exporter on SIGINT (Ctrl-C).
        self.proc = procs.start("redis_ha_lab", cmd, stop_signal=signal.SIGINT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.logf.write(line)
            self.logf.flush()
            self.lines.append(line.rstrip("\n"))
            if "Ctrl-C stops everything" in line:
                self.ready.set()

    def parse(self):
        text = "\n".join(self.lines)
        m = re.search(r"directory (\S+)", text)
        self.dir = m.group(1) if m else None
        self.primary = None
        self.replicas = []
        self.sentinels = []
        for kind, host, port, pid in re.findall(r"^\s+(primary|replica|sentinel)\s+(\S+):(\d+)\s+pid (\d+)",
                                                text, re.M):
            entry = (int(port), int(pid))
            if kind == "primary":
                self.primary = entry
            elif kind == "replica":
                self.replicas.append(entry)
            else:
                self.sentinels.append(entry)
        return self.dir and self.primary and len(self.replicas) == 2 and len(self.sentinels) == 3

    def config_of(self, port):
        for sub in sorted(os.listdir(self.dir)):
            path = os.path.join(self.dir, sub, "redis.conf")
            if os.path.exists(path):
                with open(path, encoding="utf-8") as f:
                    if re.search(r"^port %d$" % port, f.read(), re.M):
                        return path
        return None


# ---------------------------------------------------------------------------------------------


def dashboard_queries():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "dashboards", "generate.py"), "--queries"],
                         capture_output=True, text=True, check=True).stdout
    qs = []
    for line in out.splitlines():
        q = json.loads(line)
        q["expr"] = (q["expr"].replace("$__rate_interval", "5s").replace("$__range", "5m")
                     .replace("$job", JOB).replace("$instance", ".+").replace("$group", GROUP))
        qs.append(q)
    return qs


def recording_rules(rules_dir):
    with open(os.path.join(rules_dir, "recording.yml"), encoding="utf-8") as f:
        return re.findall(r"^\s+- record: (\S+)$", f.read(), re.M)


def empty_queries(prom, dash, records):
    empty = []
    for q in dash:
        if q["panel"].startswith("annotation "):
            continue  # Event markers: empty until a failover happens (syntax checked by the lint).
        if not prom.query(q["expr"]):
            empty.append("dashboard %s / %s: %s" % (q["uid"], q["panel"], q["expr"]))
    for r in records:
        if not prom.query(r):
            empty.append("recording rule %s" % r)
    return empty


def explain_missing(prom, expr_list):
    """Which redis_ha_ metrics used by the expressions the exporter does not export."""
    names = set()
    for e in expr_list:
        names |= set(re.findall(r"\b(redis_ha_[a-z0-9_]+)(?=\s*[{\[)])", e))
    missing = sorted(n for n in names if not prom.query('count({__name__="%s"})' % n))
    return missing


def run(args, procs, tmp, results):
    # Rules rendered with short `for`s: the pack's expressions, minutes shortened to seconds.
    rules_dir = os.path.join(tmp, "rules")
    subprocess.run([sys.executable, os.path.join(ROOT, "rules", "generate.py"), "--max-for", "3s",
                    "--out-dir", rules_dir], check=True)
    exporter_port = free_port()
    lab = Lab(procs, args.lab, args.exporter, exporter_port, tmp)
    if not wait_for("the lab to start", lambda: lab.ready.is_set() or lab.proc.poll() is not None, 60):
        results.add("lab starts", False, "no banner within 60 s")
        return
    if lab.proc.poll() is not None or not lab.parse():
        results.add("lab starts", False, "lab exited or printed no addresses; see %s/lab.log" % tmp)
        return
    results.add("lab starts", True, "primary %d, replicas %s, Sentinels %s" % (
        lab.primary[0], [r[0] for r in lab.replicas], [s[0] for s in lab.sentinels]))

    prom_port = free_port()
    config = os.path.join(tmp, "prometheus.yml")
    with open(config, "w", encoding="utf-8") as f:
        f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n  evaluation_interval: 1s\n"
                "rule_files:\n  - %s\n  - %s\n" % (os.path.join(rules_dir, "recording.yml"),
                                                    os.path.join(rules_dir, "alerts.yml")) +
                "scrape_configs:\n  - job_name: %s\n    static_configs:\n"
                "      - targets: ['127.0.0.1:%d']\n" % (JOB, exporter_port))
    prom_log = open(os.path.join(tmp, "prometheus.log"), "w", encoding="utf-8")
    procs.start("prometheus", ["prometheus", "--config.file=" + config,
                               "--storage.tsdb.path=" + os.path.join(tmp, "data"),
                               "--web.listen-address=127.0.0.1:%d" % prom_port, "--log.level=warn"],
                stdout=prom_log, stderr=subprocess.STDOUT)
    prom = Prometheus(prom_port)
    ok = wait_for("prometheus ready", lambda: prom.get("/api/v1/status/buildinfo"), 30)
    up = ok and wait_for("the exporter target up",
                         lambda: prom.query('up{job="%s"} == 1' % JOB), 20)
    results.add("prometheus scrapes the exporter", bool(up), "" if up else "see %s/prometheus.log" % tmp)
    if not up:
        return

    # Rules: all loaded; after a few evaluations, none in error (e.g. many-to-many matching).
    groups = prom.get("/api/v1/rules")["data"]["groups"]
    loaded = sum(len(g["rules"]) for g in groups)
    results.add("all rules loaded", loaded > 0, "%d rules in %d groups" % (loaded, len(groups)))
    wait_for("four scrapes and rule evaluations",
             lambda: prom.query('count_over_time(up{job="%s"}[1m]) >= 4' % JOB), 20)
    errors = ["%s: %s" % (r.get("name"), r.get("lastError"))
              for g in prom.get("/api/v1/rules")["data"]["groups"] for r in g["rules"]
              if r.get("health") == "err"]
    results.add("no rule evaluation errors", not errors, "; ".join(errors))

    # Wait for the exporter's first poll to be scraped, then look at the healthy state.
    wait_for("group metrics", lambda: prom.query('redis_ha_node_keys{group="%s"}' % GROUP), 15)
    critical = [a["labels"]["alertname"] for a in prom.alerts()
                if a["labels"].get("severity") == "critical"]
    results.add("healthy lab: no critical alert pending or firing", not critical, ", ".join(critical))

    dash = dashboard_queries()
    records = recording_rules(rules_dir)
    empty_healthy = empty_queries(prom, dash, records)
    log("healthy lab: %d of %d dashboard queries and recording rules return no data yet"
        % (len(empty_healthy), len(dash) + len(records)))

    # ---- Empty primary --------------------------------------------------------------------
    p_port, p_pid = lab.primary
    conf = lab.config_of(p_port)
    # DEBUG POPULATE is not replicated: write through the primary so the replicas hold the keys.
    redis_cli(p_port, "EVAL", "for i=1,2000 do redis.call('SET','key:'..i,i) end return 2000", "0")
    synced = wait_for("replicas to hold 2000 keys",
                      lambda: all(redis_cli(r[0], "DBSIZE") == "2000" for r in lab.replicas), 15)
    seen = synced and wait_for("prometheus to see 2000 keys on every node", lambda: len(prom.query(
        'redis_ha_node_keys{group="%s"} == 2000' % GROUP)) == 3, 15)
    results.add("2000 keys replicated and scraped", bool(seen))
    if seen and conf:
        log("SIGKILL primary pid %d (port %d), restart it from %s" % (p_pid, p_port, conf))
        os.kill(p_pid, signal.SIGKILL)
        wait_for("the primary's port to close", lambda: not port_open(p_port), 5, 0.02)
        # Redis 7's default full sync (diskless, 5 s delay) instead of the lab's disk-based one,
        # which wipes the replicas within a second: the window the imminent alert is for.
        restarted = procs.start("restarted primary", ["redis-server", conf, "--repl-diskless-sync", "yes",
                                                      "--repl-diskless-sync-delay", "5"],
                                stdout=open(os.path.join(tmp, "restarted-primary.log"), "w"),
                                stderr=subprocess.STDOUT)
        pong = wait_for("the restarted primary to answer", lambda: redis_cli(p_port, "PING") == "PONG",
                        10, 0.05)
        results.add("primary restarted empty within down-after", bool(pong) and restarted.poll() is None,
                    "keys now %s" % redis_cli(p_port, "DBSIZE"))
        wiped = wait_for("the replicas to be wiped by the full sync",
                         lambda: all(redis_cli(r[0], "DBSIZE") == "0" for r in lab.replicas), 20)
        results.add("replicas wiped by the full sync (the failure reproduced)", bool(wiped))
        for name in ("RedisHANodeRestarted", "RedisHAEmptyPrimaryRiskImminent", "RedisHADatasetWiped"):
            got = wait_for(name + " firing", lambda: prom.firing(name), 20, 0.25)
            detail = ", ".join("%s" % {k: v for k, v in l.items() if k in ("group", "node")}
                               for l in got) if got else "not firing"
            if not got:
                seen = prom.query("max by (factor) (max_over_time(redis_ha_empty_primary_risk_factor[2m])) > 0"
                                  " or max(max_over_time(redis_ha_empty_primary_risk[2m]))")
                detail += "; seen in the last 2m: " + ", ".join(
                    "%s=%s" % (x["metric"].get("factor", "level"), x["value"][1]) for x in seen)
                missing = explain_missing(prom, [r["query"] for g in prom.get("/api/v1/rules")["data"]["groups"]
                                                 for r in g["rules"] if r.get("name") == name])
                if missing:
                    detail += "; the exporter does not export " + ", ".join(missing)
            results.add("alert %s fires" % name, bool(got), detail)
    else:
        results.add("empty-primary scenario ran", False, "keys not replicated or config not found")

    # ---- Quorum loss ----------------------------------------------------------------------
    # The exporter was given the first Sentinel; kill the other two.
    for port, pid in lab.sentinels[1:]:
        log("SIGKILL Sentinel pid %d (port %d)" % (pid, port))
        os.kill(pid, signal.SIGKILL)
    for name in ("RedisHASentinelDown", "RedisHAQuorumUnreachable"):
        got = wait_for(name + " firing", lambda: prom.firing(name), 30, 0.25)
        detail = ", ".join("%s" % {k: v for k, v in l.items() if k in ("group", "sentinel")}
                           for l in got) if got else "not firing"
        results.add("alert %s fires" % name, bool(got), detail)

    # ---- Every dashboard query and recording rule returns data ----------------------------
    # A query passes if it returned data in the healthy lab or after the faults (some series,
    # e.g. the failover candidate, exist only in one of the two states).
    empty = [e for e in empty_queries(prom, dash, records) if e in empty_healthy]
    for e in empty:
        log("no data: " + e)
    detail = ""
    if empty:
        missing = explain_missing(prom, [q["expr"] for q in dash] + [
            r["query"] for g in prom.get("/api/v1/rules")["data"]["groups"] for r in g["rules"]
            if r.get("name") in records])
        detail = "%d without data" % len(empty)
        if missing:
            detail += "; metrics the exporter does not export: " + ", ".join(missing)
    results.add("every dashboard query and recording rule returns data (%d queries, %d rules)"
                % (len(dash), len(records)), not empty, detail)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--lab", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = ap.parse_args()
    return run_harness("e2e", ("prometheus", "redis-server", "redis-cli"), args.keep,
                       lambda procs, tmp, results, cleanup: run(args, procs, tmp, results))


def run_harness(name, tools, keep, body, note=""):
    """The shared frame of the Python end-to-end tests: checks that `tools` exist, gives
    `body(procs, tmp, results, cleanup)` a process registry, a temporary directory and a
    result list, stops everything it started (also on a signal or an exception, then runs
    the `cleanup` callables it registered), prints every failed expectation and returns
    the exit code. The temporary directory (logs) is kept when `keep` or on failure."""
    for tool in tools:
        if not shutil.which(tool):
            print("%s: %s not found (scripts/install-deps.sh test)" % (name, tool))
            return 1
    procs = Processes()
    results = Results()
    cleanup = []
    tmp = tempfile.mkdtemp(prefix="redis_ha_%s." % name.replace(" ", "_"))

    def interrupted(signum, frame):
        raise KeyboardInterrupt()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, interrupted)
    try:
        body(procs, tmp, results, cleanup)
    except KeyboardInterrupt:
        results.add("not interrupted", False, "stopped by a signal")
    except Exception as e:  # noqa: BLE001 - report, then clean up
        traceback.print_exc()
        results.add("no unexpected error", False, "%s: %s" % (type(e).__name__, e))
    finally:
        for fn in cleanup:
            try:
                fn()
            except Exception as e:  # noqa: BLE001
                print("%s: cleanup: %s" % (name, e))
        procs.stop_all()
    failed = results.failed()
    keep = keep or failed
    if not keep:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n%s: %d expectations, %d failed (%.0f s)%s%s" % (
        name, len(results.items), len(failed), time.monotonic() - START, note,
        "; logs in " + tmp if keep else ""))
    for label, _, detail in failed:
        print("  FAILED %s%s" % (label, ": " + detail if detail else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
