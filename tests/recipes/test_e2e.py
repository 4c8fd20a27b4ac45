#!/usr/bin/env python3
"""End to end: the rollout-gate recipes against a real lab and exporter.

  tests/recipes/test_e2e.py --exporter build/redis_ha_exporter --lab build/redis_ha_lab [--keep]

1. Starts redis_ha_lab (1 primary, 2 replicas, 3 Sentinels, persistence on: appendonly + RDB)
   with the exporter (--poll.interval 250ms --gate.failover-cooldown 10s).
2. The recipes on the healthy lab: the Argo web AnalysisTemplate's URL (rendered from its args)
   answers 200 and its successCondition holds on the JSON; the Argo Prometheus template's
   query selects exactly the exporter's series and they read 1; the Flagger webhook, POSTed
   like Flagger does, answers 200; the Helm test and the CI step scripts exit 0; the preStop
   hook on a replica exits 0.
3. A writer starts (raw RESP over a socket: SET rr:<n> <n> and INCR rr:counter, following the
   primary the Sentinels name, counting the acknowledged replies), then
   deploy/examples/rollout/rolling-restart.sh runs against the lab with a restart command that
   SIGTERMs a server by port and starts it again from its lab directory (lab_restart.sh).
   The script's gate URL is a recording proxy in front of the exporter, so the test sees every
   gate request and its answer independently of what the script logs.
   Expected: exit 0; every data node and Sentinel restarted once (new run_id), replicas first,
   then the old primary, then the Sentinels; before each restart the gate answered 200 for
   that action and node after the previous restart had finished, and after each restart it
   answered 200 again before the next one; the primary changed.
4. The preStop hook on the new primary hands it off (exit 0, another primary, the old one a
   replica of it) while the writer runs.
5. Right after that handoff (inside the 10 s cooldown) the script with GATE_TIMEOUT=1 must stop
   with exit 1 at the gate (recent_failover) and restart nothing. (With 5 s, a loaded machine
   once needed 3 s to start the script and the cooldown ran out during its 1 s wait.)
6. The writer stops; every acknowledged SET is on the final primary with its value, the counter
   is at least the highest acknowledged INCR, and the replicas hold the same number of keys.

Every wait polls with a deadline; everything started is stopped on exit. About 45 s.
Needs python3-yaml (the recipes are YAML), redis-server, redis-sentinel, redis-cli, curl.
"""

import argparse
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
import e2e  # noqa: E402  tests/e2e/e2e.py: lab banner parsing, process and result helpers
import recipes  # noqa: E402

GROUP = "mymaster"
START = time.monotonic()
LAB_RESTART = os.path.join(HERE, "lab_restart.sh")


def log(msg):
    print("[recipes %5.1fs] %s" % (time.monotonic() - START, msg), flush=True)


e2e.log = log  # e2e's helpers (wait_for, Results) log through this
wait_for = e2e.wait_for


# ---- RESP ---------------------------------------------------------------------------------------

class RespError(Exception):
    pass


class Resp:
    """A minimal RESP2 client: one connection, one command at a time."""

    def __init__(self, port, timeout=2.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.sock.makefile("rb")

    def close(self):
        try:
            self.f.close()
            self.sock.close()
        except OSError:
            pass

    def __call__(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self._read()

    def _read(self):
        line = self.f.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2].decode()
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ConnectionError("bad reply %r" % line)


def command(port, *args, timeout=2.0):
    c = Resp(port, timeout)
    try:
        return c(*args)
    finally:
        c.close()


def sentinel_primary(sentinel_ports):
    """The primary's port according to the first Sentinel that answers."""
    for p in sentinel_ports:
        try:
            r = command(p, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", GROUP, timeout=1)
            if isinstance(r, list) and len(r) == 2:
                return int(r[1])
        except (OSError, ConnectionError, ValueError):
            continue
    return None


def info(port, section):
    text = command(port, "INFO", section)
    return dict(l.split(":", 1) for l in text.splitlines() if ":" in l and not l.startswith("#"))


# ---- the writer -----------------------------------------------------------------------------------

class Writer(threading.Thread):
    """SET rr:<n> <n> and INCR rr:counter in a loop against the primary the Sentinels name,
    counting acknowledged replies. A command without a reply (timeout, closed connection) or
    with an error is not acknowledged; its key number is never reused."""

    def __init__(self, sentinel_ports):
        super().__init__(daemon=True)
        self.sentinels = sentinel_ports
        self.acked = []          # n of every acknowledged SET rr:<n> <n>
        self.incr_max = 0        # highest acknowledged INCR reply
        self.incr_replies = []   # every acknowledged INCR reply
        self.errors = {}         # reply or exception text -> count
        self.reconnects = 0
        self.longest_gap = 0.0   # longest time without an acknowledged write
        self.stop_event = threading.Event()
        self.n = 0

    def _error(self, what):
        key = what.split(" ")[0][:40]
        self.errors[key] = self.errors.get(key, 0) + 1

    def run(self):
        conn = None
        last_ack = time.monotonic()
        while not self.stop_event.is_set():
            if conn is None:
                port = sentinel_primary(self.sentinels)
                try:
                    conn = Resp(port, timeout=2.0) if port else None
                    role = conn("ROLE") if conn else None
                    if not (isinstance(role, list) and role and role[0] == "master"):
                        raise ConnectionError("not a primary")
                    self.reconnects += 1
                except (OSError, ConnectionError) as e:
                    self._error(type(e).__name__)
                    if conn:
                        conn.close()
                    conn = None
                    time.sleep(0.05)
                    continue
            self.n += 1
            n = self.n
            try:
                r = conn("SET", "rr:%d" % n, n)
                if r == "OK":
                    self.acked.append(n)
                    now = time.monotonic()
                    self.longest_gap = max(self.longest_gap, now - last_ack)
                    last_ack = now
                else:
                    raise RespError(str(r))
                r = conn("INCR", "rr:counter")
                if isinstance(r, int):
                    self.incr_max = max(self.incr_max, r)
                    self.incr_replies.append(r)
                else:
                    raise RespError(str(r))
            except (OSError, ConnectionError, RespError) as e:
                self._error(str(e) if isinstance(e, RespError) else type(e).__name__)
                conn.close()
                conn = None
                time.sleep(0.02)
                continue
            time.sleep(0.002)
        if conn:
            conn.close()

    def stop(self):
        self.stop_event.set()
        self.join(10)


# ---- the recording proxy in front of the gate ----------------------------------------------------

class GateProxy:
    """Forwards every request to the exporter and records (t_start, t_end, method, path,
    params, status)."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.records = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _forward(self):
                t0 = time.time()
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                req = urllib.request.Request(proxy.upstream + self.path, data=body, method=self.command)
                try:
                    with urllib.request.urlopen(req, timeout=10) as r:
                        status, data, ctype = r.status, r.read(), r.headers.get("Content-Type", "")
                except urllib.error.HTTPError as e:
                    status, data, ctype = e.code, e.read(), e.headers.get("Content-Type", "")
                except OSError as e:
                    status, data, ctype = 502, str(e).encode(), "text/plain"
                u = urllib.parse.urlsplit(self.path)
                params = {k: v[0] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
                with proxy.lock:
                    proxy.records.append((t0, time.time(), self.command, u.path, params, status))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _forward

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# ---- the lab ------------------------------------------------------------------------------------

class Lab(e2e.Lab):
    """redis_ha_lab with persistence on (the default) and the exporter's fast test settings;
    the banner parsing is tests/e2e's."""

    def __init__(self, procs, lab_bin, exporter_bin, exporter_port, logdir):  # noqa: D107 pylint: disable=super-init-not-called
        self.lines = []
        self.ready = threading.Event()
        self.logf = open(os.path.join(logdir, "lab.log"), "w", encoding="utf-8")
        cmd = [lab_bin, "--exporter", exporter_bin, "--listen", "127.0.0.1:%d" % exporter_port, "--",
               "--poll.interval=250ms", "--gate.failover-cooldown=10s"]
        log("starting " + " ".join(cmd))
        self.proc = procs.start("redis_ha_lab", cmd, stop_signal=signal.SIGINT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()


def http_get(url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def run_ids(ports):
    out = {}
    for p in ports:
        try:
            out[p] = info(p, "server").get("run_id")
        except (OSError, ConnectionError):
            out[p] = None
    return out


# ---- step 2: the recipes on the healthy lab -----------------------------------------------------

def eval_success_condition(cond, result):
    """Argo's `result.ready == true` (the only form the web template uses) on a JSON result."""
    m = re.fullmatch(r"\s*result\.([a-z_]+)\s*==\s*(true|false)\s*", cond)
    if not m:
        raise ValueError("unsupported successCondition %r" % cond)
    return result.get(m.group(1)) is (m.group(2) == "true")


def check_recipes_live(base, lab, results, tmp):
    data_ports = [lab.primary[0]] + [r[0] for r in lab.replicas]
    # Argo web: the rendered URL, against the live exporter.
    t, m = recipes.argo_web()
    for action, node in (("failover", ""), ("restart-replica", "127.0.0.1:%d" % lab.replicas[0][0])):
        url = recipes.render_args(m["provider"]["web"]["url"], t, {
            "group": GROUP, "action": action, "node": node, "exporter-url": "http://placeholder"})
        url = recipes.with_base(url, base)
        status, body = http_get(url)
        try:
            doc = json.loads(body)
            ok = status == 200 and eval_success_condition(m["successCondition"], doc)
        except ValueError as e:
            ok, doc = False, {"error": str(e)}
        results.add("argo web template (%s): 200 and `%s` holds on the healthy lab" % (action, m["successCondition"]),
                    ok, "" if ok else "status %d, body %s" % (status, body[:300]))
    # The same URL must give 200 (not 503) with ready=false when the gate says no: an unknown node.
    url = recipes.with_base(recipes.render_args(m["provider"]["web"]["url"], t, {
        "group": GROUP, "action": "restart-replica", "node": "127.0.0.1:1", "exporter-url": "http://x"}), base)
    status, body = http_get(url)
    results.add("argo web template: a 'no' is still 200 with the condition false", status == 200 and
                not eval_success_condition(m["successCondition"], json.loads(body)), "status %d" % status)

    # Argo prometheus: the selector picks exactly the exporter's series for the group/action/node,
    # at least one, and they read 1 on the healthy lab (min() of them is the one sample).
    t, m = recipes.argo_prometheus()
    _, metrics = http_get(base + "/metrics")
    for action, node in (("failover", ""), ("restart-sentinel", "127.0.0.1:%d" % lab.sentinels[1][0])):
        q = recipes.render_args(m["provider"]["prometheus"]["query"], t, {"group": GROUP, "action": action,
                                                                         "node": node})
        (metric, matchers), = recipes.selectors(q)
        values = []
        for line in metrics.splitlines():
            mm = re.match(r"^%s\{([^}]*)\} (\S+)$" % re.escape(metric), line)
            if not mm:
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', mm.group(1)))
            if all(op == "=" and labels.get(k, "") == v for k, op, v in matchers):
                values.append(float(mm.group(2)))
        results.add("argo prometheus template (%s): its selector matches the exporter's series, all 1" % action,
                    bool(values) and min(values) == 1, "values %s for %s" % (values, q.strip()))

    # Flagger: POST with a JSON body like Flagger's, to the webhook URL.
    for h in recipes.flagger_webhooks():
        payload = json.dumps({"name": "my-app", "namespace": "default", "phase": "Progressing",
                              "checksum": "0", "metadata": h.get("metadata", {})}).encode()
        status, body = http_get(recipes.with_base(h["url"], base), payload, {"Content-Type": "application/json"})
        results.add("flagger %s webhook: POST answers 200 on the healthy lab" % h["type"], status == 200,
                    "" if status == 200 else "status %d, body %s" % (status, body[:300]))

    # Helm test and CI step: their scripts, with the live exporter.
    env = dict(os.environ, GATE_URL=base, GROUP=GROUP)
    _, c = recipes.helm_test()
    r = subprocess.run(c["command"] + c["args"], env=env, capture_output=True, text=True, timeout=30)
    results.add("helm test script exits 0 on the healthy lab", r.returncode == 0,
                "" if r.returncode == 0 else (r.stdout + r.stderr)[-300:])
    _, _, step = recipes.ci_step()
    r = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, timeout=30)
    results.add("CI step exits 0 on the healthy lab", r.returncode == 0,
                "" if r.returncode == 0 else (r.stdout + r.stderr)[-300:])
    # ... and both fail on a group the exporter does not know (curl --fail on 404).
    bad = dict(env, GROUP="nosuchgroup")
    r = subprocess.run(["bash", "-e", "-c", step["run"].replace("seq 1 30", "seq 1 1").replace("sleep 10", "true")],
                       env=bad, capture_output=True, text=True, timeout=30)
    results.add("CI step fails for an unknown group (404)", r.returncode != 0 and "404" in r.stderr,
                (r.stdout + r.stderr)[-300:] if r.returncode == 0 else "")

    # preStop on a replica: the gate says ready, the hook returns at once.
    replica = lab.replicas[0][0]
    r = run_prestop(base, lab, replica, tmp)
    results.add("preStop hook on a replica exits 0", r.returncode == 0, "" if r.returncode == 0 else r.stderr[-400:])
    return data_ports


def run_prestop(base, lab, port, tmp, wait=20):
    env = dict(os.environ, GATE_URL=base, GROUP=GROUP, SELF_ADDR="127.0.0.1:%d" % port,
               SENTINEL_ADDR="127.0.0.1:%d" % lab.sentinels[0][0], REDIS_PORT=str(port),
               GATE_WAIT_SECONDS=str(wait), SWITCH_TIMEOUT="10")
    env.pop("REDISCLI_AUTH", None)
    r = subprocess.run(["sh", recipes.PRESTOP_SCRIPT], env=env, capture_output=True, text=True, timeout=wait + 30)
    for line in r.stderr.splitlines():
        log("  prestop| " + line)
    return r


# ---- step 3: the rolling restart ----------------------------------------------------------------

def run_script(args_env, logpath, timeout):
    env = dict(os.environ)
    env.update(args_env)
    env.pop("REDISCLI_AUTH", None)
    with open(logpath, "w", encoding="utf-8") as f:
        p = subprocess.Popen(["bash", recipes.ROLLING_RESTART], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True)
        deadline = time.monotonic() + timeout

        def pump():
            for line in p.stdout:
                f.write(line)
                f.flush()
                log("  script| " + line.rstrip()[:230])

        t = threading.Thread(target=pump, daemon=True)
        t.start()
        try:
            p.wait(max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log("rolling-restart.sh still running after %d s: SIGTERM" % timeout)
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(10)
        t.join(5)
    with open(logpath, encoding="utf-8") as f:
        return p.returncode, f.read()


def read_restarts(path):
    """[(kind, port, start, done)] from lab_restart.sh's log, in order."""
    out, open_ = [], {}
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as f:
        for line in f:
            what, t, kind, port, _pid = line.split()
            if what == "start":
                open_[port] = len(out)
                out.append([kind, int(port), float(t), None])
            elif port in open_:
                out[open_.pop(port)][3] = float(t)
    return [tuple(x) for x in out]


def check_gate_consulted(restarts, records, primary_port, results):
    """Before each restart, a 200 from the gate for that action and node after the previous
    restart had finished; after each, a fresh 200 before the next one (or the end)."""
    ready = [r for r in records if r[3] == "/gate" and r[5] == 200]
    prev_done = 0.0
    problems = []
    for i, (kind, port, start, done) in enumerate(restarts):
        node = "127.0.0.1:%d" % port
        action = ("restart-sentinel" if kind == "sentinel" else
                  "failover" if port == primary_port else "restart-replica")
        before = [r for r in ready if prev_done < r[1] <= start and r[4].get("action") == action and
                  r[4].get("node") == node]
        if not before:
            problems.append("no 200 for action=%s node=%s before its restart" % (action, node))
        if done is None:
            problems.append("restart of %s never finished" % node)
            break
        nxt = restarts[i + 1][2] if i + 1 < len(restarts) else float("inf")
        if not [r for r in ready if done < r[0] and r[1] <= nxt]:
            problems.append("no 200 from the gate after %s came back and before the next step" % node)
        prev_done = done
    results.add("the gate said ready (200) for each node before its restart and again after it",
                not problems and bool(restarts), "; ".join(problems))


def verify_writes(writer, sentinel_ports, data_ports, results):
    primary = wait_for("the Sentinels to agree on a primary", lambda: (
        lambda ps: ps[0] if len(set(ps)) == 1 and ps[0] else None)(
            [sentinel_primary([s]) for s in sentinel_ports]), 20)
    if not primary:
        results.add("the Sentinels agree on a final primary", False)
        return
    acked = writer.acked
    missing, wrong = [], []
    c = Resp(primary, timeout=10)
    try:
        for i in range(0, len(acked), 1000):
            batch = acked[i:i + 1000]
            vals = c("MGET", *["rr:%d" % n for n in batch])
            for n, v in zip(batch, vals):
                if v is None:
                    missing.append(n)
                elif v != str(n):
                    wrong.append(n)
        counter = int(c("GET", "rr:counter") or 0)
    finally:
        c.close()
    results.add("every acknowledged write is on the final primary (%d SETs, port %d)" % (len(acked), primary),
                not missing and not wrong and len(acked) > 0,
                "%d missing (e.g. %s), %d wrong" % (len(missing), missing[:10], len(wrong)) if missing or wrong else "")
    results.add("the counter is at least the highest acknowledged INCR", counter >= writer.incr_max,
                "counter %d, highest acknowledged %d" % (counter, writer.incr_max))
    # A lost increment hands the same value out again.
    dups = len(writer.incr_replies) - len(set(writer.incr_replies))
    results.add("no INCR reply was acknowledged twice (%d INCRs)" % len(writer.incr_replies), dups == 0,
                "%d values handed out twice" % dups)
    # The replicas converge on the same dataset.
    def synced():
        target = int(info(primary, "replication")["master_repl_offset"])
        return all(int(info(p, "replication").get("slave_repl_offset", -1)) >= target
                   for p in data_ports if p != primary)
    ok = wait_for("the replicas to reach the primary's offset", synced, 20)
    sizes = {p: command(p, "DBSIZE") for p in data_ports}
    results.add("all data nodes hold the same number of keys", bool(ok) and len(set(sizes.values())) == 1,
                str(sizes))


def run(args, procs, tmp, results, cleanup):
    exporter_port = e2e.free_port()
    base = "http://127.0.0.1:%d" % exporter_port
    lab = Lab(procs, args.lab, args.exporter, exporter_port, tmp)
    if not wait_for("the lab to start", lambda: lab.ready.is_set() or lab.proc.poll() is not None, 60):
        results.add("lab starts", False, "no banner within 60 s")
        return
    if lab.proc.poll() is not None or not lab.parse():
        results.add("lab starts", False, "lab exited or printed no addresses; see %s/lab.log" % tmp)
        return
    primary0 = lab.primary[0]
    replica_ports = [r[0] for r in lab.replicas]
    sentinel_ports = [s[0] for s in lab.sentinels]
    data_ports = [primary0] + replica_ports
    results.add("lab starts", True, "primary %d, replicas %s, Sentinels %s" % (primary0, replica_ports,
                                                                               sentinel_ports))
    ready = wait_for("the gate to say ready for failover", lambda: http_get(
        base + "/gate?group=%s&action=failover" % GROUP)[0] == 200, 30)
    results.add("the gate is ready for failover on the healthy lab", bool(ready))
    if not ready:
        return

    check_recipes_live(base, lab, results, tmp)

    # ---- the rolling restart under writes ----
    before = run_ids(data_ports + sentinel_ports)
    writer = Writer(sentinel_ports)
    cleanup.append(writer.stop)
    writer.start()
    wait_for("the writer's first acknowledged writes", lambda: len(writer.acked) >= 300, 20)
    proxy = GateProxy(base)
    cleanup.append(proxy.close)
    pids_file = os.path.join(tmp, "restarted.pids")
    restart_log = os.path.join(tmp, "restarts.log")
    cleanup.append(lambda: stop_restarted(pids_file))
    script_env = {
        "GROUP": GROUP, "SENTINELS": "127.0.0.1:%d" % sentinel_ports[0], "GATE_URL": proxy.url,
        "RESTART_CMD": "bash %s {kind} {port}" % LAB_RESTART, "POLL_INTERVAL": "0.25",
        "GATE_TIMEOUT": "60", "RESTART_TIMEOUT": "30", "SYNC_TIMEOUT": "30",
        "LAB_DIR": lab.dir, "PIDS_FILE": pids_file, "RESTART_LOG": restart_log}
    acked_before = len(writer.acked)
    t0 = time.monotonic()
    rc, out = run_script(script_env, os.path.join(tmp, "rolling-restart.log"), 150)
    took = time.monotonic() - t0
    results.add("rolling-restart.sh exits 0 (%.0f s)" % took, rc == 0,
                "" if rc == 0 else "exit code %s; see %s/rolling-restart.log" % (rc, tmp))
    results.add("the writer kept writing during the run", len(writer.acked) - acked_before > 500,
                "%d writes acknowledged during the run" % (len(writer.acked) - acked_before))

    after = run_ids(data_ports + sentinel_ports)
    unchanged = [p for p in before if not after.get(p) or after[p] == before[p]]
    results.add("every node restarted (new run_id on all %d)" % len(before), not unchanged,
                "unchanged or not answering: %s" % unchanged if unchanged else "")
    restarts = read_restarts(restart_log)
    order = [(k, p) for k, p, _, _ in restarts]
    expected_data = sorted(replica_ports)
    ok_order = (len(order) == 6 and sorted(p for _, p in order[:2]) == expected_data and
                order[2] == ("redis", primary0) and sorted(p for _, p in order[3:]) == sorted(sentinel_ports) and
                all(k == "sentinel" for k, _ in order[3:]))
    results.add("restart order: replicas, then the old primary, then each Sentinel, once each", ok_order,
                str(order))
    check_gate_consulted(restarts, proxy.records, primary0, results)
    logged = re.findall(r'msg="gate ready" action=(\S+) node=(\S*)', out)
    restarted_lines = re.findall(r'msg="restarting" kind=\S+ role=\S+ node=(\S+) gate=(\S+)', out)
    results.add("the script logs a gate verdict before each restart",
                len(restarted_lines) == 6 and all((g, n) in logged for n, g in restarted_lines),
                "%d restarts, %d gate-ready lines" % (len(restarted_lines), len(logged)))
    new_primary = sentinel_primary(sentinel_ports)
    results.add("the primary was handed off to a replica", new_primary in replica_ports,
                "primary now %s" % new_primary)
    m = re.search(r'writes_paused=([0-9.]+)s', out)
    log("gate requests seen by the proxy: %d (%d answered 200); writes paused %s s; writer: %d acknowledged,"
        " longest gap %.2f s, errors %s" % (len(proxy.records), sum(1 for r in proxy.records if r[5] == 200),
                                            m.group(1) if m else "?", len(writer.acked), writer.longest_gap,
                                            writer.errors))

    # ---- preStop on the primary: the hand-off while the writer runs ----
    if new_primary:
        wait_for("the gate to say ready for failover again", lambda: http_get(
            base + "/gate?group=%s&action=failover" % GROUP)[0] == 200, 30)
        r = run_prestop(base, lab, new_primary, tmp)
        handed = wait_for("Sentinel to name another primary", lambda: (
            lambda p: p if p and p != new_primary else None)(sentinel_primary(sentinel_ports)), 10)
        role = info(new_primary, "replication")
        results.add("preStop hook on the primary hands it off (exit 0, old primary now a replica of the new)",
                    r.returncode == 0 and bool(handed) and role.get("role") == "slave" and
                    role.get("master_port") == str(handed),
                    "exit %d, primary now %s, old primary role %s -> %s" % (
                        r.returncode, handed, role.get("role"), role.get("master_port")))

        # ---- inside the cooldown: the script must stop at the gate ----
        # Right after the switch the Sentinels still disagree for a moment; start once the
        # exporter has recorded the failover, so the cooldown is what stops the script.
        wait_for("the gate to report the failover cooldown", lambda: "recent_failover" in http_get(
            base + "/api/v1/gate?group=%s&action=failover" % GROUP)[1], 10)
        n_restarts = len(read_restarts(restart_log))
        rc2, out2 = run_script(dict(script_env, STEPS="replicas", GATE_TIMEOUT="1"),
                               os.path.join(tmp, "rolling-restart-blocked.log"), 30)
        results.add("inside the failover cooldown the script stops at the gate with exit 1 and restarts nothing",
                    rc2 == 1 and "timed out waiting for the gate" in out2 and "recent_failover" in out2 and
                    len(read_restarts(restart_log)) == n_restarts, "exit %s" % rc2)

    time.sleep(1)
    writer.stop()
    log("writer: %d acknowledged SETs, highest INCR %d, %d reconnects, longest gap %.2f s, errors %s" % (
        len(writer.acked), writer.incr_max, writer.reconnects, writer.longest_gap, writer.errors))
    verify_writes(writer, sentinel_ports, data_ports, results)


def stop_restarted(pids_file):
    """SIGTERM every server lab_restart.sh started (the lab only stops its own children)."""
    if not os.path.exists(pids_file):
        return
    with open(pids_file, encoding="utf-8") as f:
        pids = [int(l) for l in f if l.strip()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass

    def gone():
        return all(not os.path.exists("/proc/%d" % p) or
                   open("/proc/%d/stat" % p).read().split()[2] == "Z" for p in pids)

    if not wait_for("restarted servers to stop", gone, 10, 0.1):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--lab", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = ap.parse_args()
    return e2e.run_harness(
        "recipes e2e", ("redis-server", "redis-cli", "curl"), args.keep,
        lambda procs, tmp, results, cleanup: run(args, procs, tmp, results, cleanup))


if __name__ == "__main__":
    sys.exit(main())
