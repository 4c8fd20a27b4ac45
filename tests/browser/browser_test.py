#!/usr/bin/env python3
"""The status page in real headless Chromium, against the lab.

  tests/browser/browser_test.py --exporter build/redis_ha_exporter --lab build/redis_ha_lab \
      --out-dir build [--chromium /usr/bin/chromium] [--keep]

1. Starts redis_ha_lab (1 primary, 2 replicas, 3 Sentinels) with the exporter polling every 250 ms,
   and waits until the exporter sees the group healthy.
2. Starts headless Chromium and drives it over the DevTools protocol (a small WebSocket client,
   Python standard library only): every console message of level error, uncaught exception and
   failed load (Log/Runtime domains) is collected; a self-test proves that collection works.
3. Fleet page: the group row (primary, 2/2 replicas up, 3/3 Sentinels, both risk badges "none",
   failover gate "ready"), the Sentinels list, no horizontal overflow. Screenshot: status-page.png.
4. Group page, reached through the fleet page's link: the topology SVG (primary, two replicas with
   their links up, three Sentinels naming the primary), the 13 factors with runbook links, the gate
   for every action, the node and view tables. Screenshot: status-page-group.png (full page).
5. SIGKILLs one replica and waits for the group page to refresh itself (meta refresh, no script,
   no navigation by the test) and show that replica down: red box, its link down, its row down.
   Screenshots: status-page-fault.png, status-page-fleet-fault.png; the fleet row says 1/2 up.
6. With JavaScript disabled (Emulation.setScriptExecutionDisabled, DOM read through the DOM domain)
   the pages hold the same server-rendered elements.
7. No console error on any page.

Every wait polls with a deadline; everything started is stopped on exit. Prints one line per
expectation and a summary; exit status 1 when one failed.
"""

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import e2e  # noqa: E402  (the lab banner parser and process handling of the end-to-end test)

GROUP = "mymaster"
START = time.monotonic()
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-crash-reporter", "--hide-scrollbars",
                  "--window-size=1280,900"]


def log(msg):
    print("[browser %5.1fs] %s" % (time.monotonic() - START, msg), flush=True)


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


class Lab(e2e.Lab):
    """e2e.Lab (banner parsing, output capture) with the default lab and a 250 ms poll."""

    def __init__(self, procs, lab_bin, exporter_bin, exporter_port, logdir):  # noqa: D107
        self.lines = []
        self.ready = threading.Event()
        self.logf = open(os.path.join(logdir, "lab.log"), "w", encoding="utf-8")
        cmd = [lab_bin, "--exporter", exporter_bin, "--listen", "127.0.0.1:%d" % exporter_port,
               "--", "--poll.interval", "250ms"]
        log("starting " + " ".join(cmd))
        self.proc = procs.start("redis_ha_lab", cmd, stop_signal=signal.SIGINT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._read, daemon=True).start()


# ---- DevTools protocol over a minimal WebSocket client ------------------------------------------

class CdpError(Exception):
    pass


class Cdp:
    """One DevTools session on a page target: call() sends a command and returns its result;
    events arriving meanwhile are kept in self.events."""

    def __init__(self, ws_url, timeout=15):
        u = urllib.parse.urlparse(ws_url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (u.path, u.hostname, u.port, key))
                          .encode())
        self.buf = bytearray()
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise CdpError("DevTools closed the connection during the handshake")
            self.buf += chunk
        end = self.buf.index(b"\r\n\r\n")
        status = bytes(self.buf[:end]).split(b"\r\n")[0]
        del self.buf[:end + 4]
        if b" 101 " not in status:
            raise CdpError("WebSocket handshake refused: %r" % status)
        self.next_id = 0
        self.events = []

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _send(self, payload):
        header = bytearray([0x81])  # FIN, text
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 65536:
            header.append(0x80 | 126)
            header += struct.pack(">H", n)
        else:
            header.append(0x80 | 127)
            header += struct.pack(">Q", n)
        mask = os.urandom(4)
        header += mask
        self.sock.sendall(bytes(header) + bytes(b ^ mask[i & 3] for i, b in enumerate(payload)))

    def _exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise CdpError("DevTools connection closed")
            self.buf += chunk
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def _message(self):
        data = bytearray()
        while True:
            b0, b1 = self._exact(2)
            op, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            mask = self._exact(4) if b1 & 0x80 else None
            payload = self._exact(n)
            if mask:
                payload = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
            if op == 0x8:
                raise CdpError("DevTools closed the WebSocket")
            if op == 0x9:  # ping
                continue
            if op in (0x0, 0x1, 0x2):
                data += payload
                if b0 & 0x80:
                    return json.loads(data.decode("utf-8"))

    def call(self, method, timeout=15, **params):
        self.next_id += 1
        mid = self.next_id
        self._send(json.dumps({"id": mid, "method": method, "params": params}).encode())
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CdpError("%s: no answer within %ss" % (method, timeout))
            self.sock.settimeout(left)
            msg = self._message()
            if msg.get("id") == mid:
                if "error" in msg:
                    raise CdpError("%s: %s" % (method, msg["error"].get("message")))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def pump(self, seconds):
        """Reads events for up to `seconds` (nothing to send)."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.sock.settimeout(left)
            try:
                msg = self._message()
            except (socket.timeout, TimeoutError):
                return
            if "method" in msg:
                self.events.append(msg)


class Browser:
    """Headless Chromium with a DevTools session on its first tab."""

    def __init__(self, procs, chromium, profile_dir, logdir):
        self.chromium = chromium
        self.profile = profile_dir
        env = dict(os.environ, HOME=profile_dir)
        self.log = open(os.path.join(logdir, "chromium.log"), "w", encoding="utf-8")
        cmd = [chromium] + CHROMIUM_FLAGS + ["--remote-debugging-address=127.0.0.1",
                                             "--remote-debugging-port=0",
                                             "--user-data-dir=" + os.path.join(profile_dir, "cdp"),
                                             "about:blank"]
        self.proc = procs.start("chromium", cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        port_file = os.path.join(profile_dir, "cdp", "DevToolsActivePort")
        got = wait_for("Chromium's DevTools port", lambda: os.path.exists(port_file) and
                       open(port_file, encoding="utf-8").read().split("\n")[0].strip(), 30, 0.1)
        if not got:
            raise CdpError("Chromium did not start (see chromium.log)")
        self.port = int(got)
        targets = wait_for("a page target", lambda: [t for t in json.load(urllib.request.urlopen(
            "http://127.0.0.1:%d/json/list" % self.port, timeout=5)) if t.get("type") == "page"], 15)
        if not targets:
            raise CdpError("Chromium has no page target")
        self.cdp = Cdp(targets[0]["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log"):
            self.cdp.call(domain + ".enable")
        # A 1280x900 viewport (--window-size counts the window, not the page).
        self.cdp.call("Emulation.setDeviceMetricsOverride", width=1280, height=900,
                      deviceScaleFactor=1, mobile=False)

    def errors(self):
        """Console errors, uncaught exceptions and failed loads seen so far, as text."""
        out = []
        for e in self.cdp.events:
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("uncaught: %s" % (d.get("exception", {}).get("description") or d.get("text")))
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console.%s: %s" % (p["type"], " ".join(
                    str(a.get("value", a.get("description", ""))) for a in p.get("args", []))))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                en = p["entry"]
                out.append("%s: %s %s" % (en.get("source"), en.get("text"), en.get("url", "")))
        return out

    def loads(self):
        return sum(1 for e in self.cdp.events if e["method"] == "Page.loadEventFired")

    def navigate(self, url, timeout=15):
        before = self.loads()
        r = self.cdp.call("Page.navigate", url=url)
        if r.get("errorText"):
            raise CdpError("navigate %s: %s" % (url, r["errorText"]))
        deadline = time.monotonic() + timeout
        while self.loads() == before:
            if time.monotonic() > deadline:
                raise CdpError("%s did not finish loading" % url)
            self.cdp.pump(0.1)

    def eval(self, expr):
        r = self.cdp.call("Runtime.evaluate", expression=expr, returnByValue=True)
        if "exceptionDetails" in r:
            raise CdpError("evaluate: %s" % r["exceptionDetails"].get("text"))
        return r["result"].get("value")

    def screenshot(self, path, full_page=False):
        params = {"format": "png"}
        if full_page:
            m = self.cdp.call("Page.getLayoutMetrics")
            size = m.get("cssContentSize") or m["contentSize"]
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": 1280, "height": min(size["height"], 8000),
                                "scale": 1})
        data = self.cdp.call("Page.captureScreenshot", timeout=30, **params)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return os.path.getsize(path)

    def outer_html(self):
        """The current DOM as HTML, read through the DOM domain (works with scripts disabled)."""
        root = self.cdp.call("DOM.getDocument", depth=0)["root"]["nodeId"]
        return self.cdp.call("DOM.getOuterHTML", nodeId=root)["outerHTML"]

    def scripts(self, enabled):
        self.cdp.call("Emulation.setScriptExecutionDisabled", value=not enabled)


# ---- The checks ----------------------------------------------------------------------------------

# Facts about the current page, gathered in the page (DevTools evaluation bypasses the page's CSP,
# the page itself runs no script).
FLEET_FACTS = r"""(() => {
  const row = document.querySelector('#groups tr[data-group="%s"]');
  const cells = row ? [...row.cells].map(c => c.innerText.trim()) : [];
  return {
    title: document.title,
    refresh: (document.querySelector('meta[http-equiv="refresh"]') || {}).content || null,
    row: !!row, cells: cells,
    badges: row ? [...row.querySelectorAll('.badge.l0, .badge.l1, .badge.l2, .badge.l3')]
                  .map(b => b.className + ':' + b.innerText) : [],
    verdict: row ? (row.querySelector('.verdict') || {}).innerText : null,
    link: row ? (row.querySelector('a') || {}).href : null,
    sentinelsUp: document.querySelectorAll('#sentinels tr.up').length,
    sentinelsDown: document.querySelectorAll('#sentinels tr.down').length,
    tilt: document.querySelectorAll('#sentinels tr.tilt').length,
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    scripts: document.scripts.length,
  };
})()""" % GROUP

GROUP_FACTS = r"""(() => {
  const svg = document.querySelector('svg.topology');
  const q = s => document.querySelectorAll(s).length;
  const node = a => { const g = document.querySelector('svg.topology g[data-node="' + a + '"]');
                      return g ? g.getAttribute('class') : null; };
  const link = a => { const l = document.querySelector('svg.topology line[data-replica="' + a + '"]');
                      return l ? l.getAttribute('class') : null; };
  const row = a => { const r = document.querySelector('#nodes tr[data-node="' + a + '"]');
                     return r ? r.className : null; };
  const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
  return {
    h1: (document.querySelector('h1') || {}).innerText,
    svg: !!svg, svgWidth: box.width, svgHeight: box.height,
    nodes: Object.fromEntries([...document.querySelectorAll('svg.topology g[data-node]')]
             .map(g => [g.dataset.node, g.getAttribute('class')])),
    links: Object.fromEntries([...document.querySelectorAll('svg.topology line[data-replica]')]
             .map(l => [l.dataset.replica, l.getAttribute('class')])),
    rows: Object.fromEntries([...document.querySelectorAll('#nodes tr[data-node]')]
             .map(r => [r.dataset.node, r.className])),
    sentinels: q('svg.topology g.sentinel'), sentinelsOff: q('svg.topology g.sentinel.differ, svg.topology g.sentinel.down'),
    names: q('svg.topology line.names'), namesDiffer: q('svg.topology line.names.differ'),
    factors: q('[data-factor]'), runbooks: q('a[href*="docs/runbook.md#"]'),
    splitBrain: !!document.querySelector('#split-brain'), emptyPrimary: !!document.querySelector('#empty-primary'),
    gate: [...document.querySelectorAll('#gate tr[data-action]')].map(r => r.dataset.action + ' ' + r.className),
    views: q('#views tr[data-sentinel]'),
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    scripts: document.scripts.length,
  };
})()"""


class Results(e2e.Results):
    def add(self, name, ok, detail=""):
        detail = " ".join(str(detail).split())  # table cells span lines
        self.items.append((name, ok, detail))
        log("%s %s%s" % ("PASS" if ok else "FAIL", name, (": " + detail) if detail else ""))


def exporter_group(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/groups" % port, timeout=2) as r:
        body = json.load(r)
    groups = body if isinstance(body, list) else body.get("groups", [])
    for g in groups:
        if g.get("name") == GROUP:
            return g
    return None


def healthy(port, primary):
    g = exporter_group(port)
    if not g or g.get("primary") != primary:
        return False
    nodes = g.get("nodes", [])
    replicas = [n for n in nodes if n.get("address") != primary]
    return len(replicas) == 2 and all(n.get("up") and n.get("link_up") for n in replicas)


def run(args, procs, tmp, results):
    exporter_port = e2e.free_port()
    lab = Lab(procs, args.lab, args.exporter, exporter_port, tmp)
    if not wait_for("the lab to start", lambda: lab.ready.is_set() or lab.proc.poll() is not None, 60):
        results.add("lab starts", False, "no banner within 60 s")
        return
    if lab.proc.poll() is not None or not lab.parse():
        results.add("lab starts", False, "lab exited or printed no addresses; see %s/lab.log" % tmp)
        return
    primary = "127.0.0.1:%d" % lab.primary[0]
    replicas = ["127.0.0.1:%d" % r[0] for r in lab.replicas]
    results.add("lab starts", True, "primary %s, replicas %s" % (primary, ", ".join(replicas)))
    ok = wait_for("the exporter to see the group healthy", lambda: healthy(exporter_port, primary), 20)
    results.add("exporter sees the group healthy", bool(ok))
    if not ok:
        return
    base = "http://127.0.0.1:%d/" % exporter_port

    browser = Browser(procs, args.chromium, os.path.join(tmp, "chromium"), tmp)
    # Self-test: a console error on a throwaway page must be caught, or "no errors" means nothing.
    browser.navigate("data:text/html,<p>selftest</p><script>console.error('selftest-error')</script>")
    caught = any("selftest-error" in e for e in browser.errors())
    results.add("console error collection works (self-test)", caught)
    browser.cdp.events.clear()

    # ---- Fleet ----
    def fleet_settled():
        browser.navigate(base)
        f = browser.eval(FLEET_FACTS)
        return f if f["verdict"] == "ready" and len(f["badges"]) == 2 else None

    # Right after the lab starts a transient blocker (e.g. a replica still syncing) may show.
    facts = wait_for("the fleet row to settle", fleet_settled, 15, 0.5) or browser.eval(FLEET_FACTS)
    cells = facts["cells"]
    results.add("fleet: group row", facts["row"] and len(cells) == 8, str(cells))
    results.add("fleet: primary", len(cells) > 1 and cells[1].startswith(primary), cells[1] if len(cells) > 1 else "")
    results.add("fleet: replicas 2/2 up", len(cells) > 2 and cells[2].startswith("2/2 up"), cells[2] if len(cells) > 2 else "")
    results.add("fleet: Sentinels 3/3 reachable", len(cells) > 3 and cells[3].startswith("3/3 reachable"),
                cells[3] if len(cells) > 3 else "")
    results.add("fleet: both risk badges none (green)",
                facts["badges"] == ["badge l0:none", "badge l0:none"], str(facts["badges"]))
    results.add("fleet: failover gate ready", facts["verdict"] == "ready", str(facts["verdict"]))
    results.add("fleet: observation age shown", len(cells) > 7 and cells[7].endswith("ago"),
                cells[7] if len(cells) > 7 else "")
    results.add("fleet: Sentinels list 3 up, no TILT",
                facts["sentinelsUp"] == 3 and facts["sentinelsDown"] == 0 and facts["tilt"] == 0,
                "%d up, %d down, %d tilt" % (facts["sentinelsUp"], facts["sentinelsDown"], facts["tilt"]))
    results.add("fleet: meta refresh, no script, no horizontal overflow",
                facts["refresh"] == "5" and facts["scripts"] == 0 and facts["overflow"] <= 0,
                "refresh %s, %d scripts, overflow %dpx" % (facts["refresh"], facts["scripts"], facts["overflow"]))
    shot = os.path.join(args.out_dir, "status-page.png")
    results.add("fleet: screenshot", browser.screenshot(shot) > 10000, shot)

    # ---- Group, through the fleet page's link ----
    link = facts["link"] or base + "group?name=" + GROUP
    results.add("fleet: link to the group page", link == base + "group?name=" + GROUP, link)
    browser.navigate(link)
    g = browser.eval(GROUP_FACTS)
    results.add("group: heading", (g["h1"] or "").startswith(GROUP), str(g["h1"]))
    results.add("group: topology SVG rendered", g["svg"] and g["svgWidth"] > 600 and g["svgHeight"] > 250,
                "%dx%d" % (g["svgWidth"], g["svgHeight"]))
    results.add("group: primary drawn", g["nodes"].get(primary) == "node primary", str(g["nodes"]))
    results.add("group: replicas drawn up with their links up",
                all(g["nodes"].get(r) == "node replica" and g["links"].get(r) == "link up" for r in replicas),
                "nodes %s, links %s" % (g["nodes"], g["links"]))
    results.add("group: 3 Sentinels naming the primary",
                g["sentinels"] == 3 and g["sentinelsOff"] == 0 and g["names"] == 3 and g["namesDiffer"] == 0,
                "%d Sentinels (%d off), %d lines (%d differ)" % (g["sentinels"], g["sentinelsOff"], g["names"],
                                                                 g["namesDiffer"]))
    results.add("group: 13 factors with runbook links",
                g["splitBrain"] and g["emptyPrimary"] and g["factors"] == 13 and g["runbooks"] >= 13,
                "%d factors, %d runbook links" % (g["factors"], g["runbooks"]))
    want_gate = ["failover", "restart-replica", "restart-replica", "restart-sentinel", "restart-sentinel",
                 "restart-sentinel"]
    results.add("group: gate for every action", [x.split()[0] for x in g["gate"]] == want_gate, str(g["gate"]))
    results.add("group: node and view tables",
                all(g["rows"].get(a) == "up" for a in [primary] + replicas) and g["views"] == 3,
                "rows %s, %d views" % (g["rows"], g["views"]))
    results.add("group: no script, no horizontal overflow", g["scripts"] == 0 and g["overflow"] <= 0,
                "%d scripts, overflow %dpx" % (g["scripts"], g["overflow"]))
    shot = os.path.join(args.out_dir, "status-page-group.png")
    results.add("group: screenshot", browser.screenshot(shot, full_page=True) > 10000, shot)

    # ---- Fault: a replica stopped; the page refreshes itself and shows it down ----
    victim_port, victim_pid = lab.replicas[0]
    victim = "127.0.0.1:%d" % victim_port
    loads = browser.loads()
    log("SIGKILL replica pid %d (%s)" % (victim_pid, victim))
    os.kill(victim_pid, signal.SIGKILL)

    def shows_down():
        browser.cdp.pump(0.3)
        f = browser.eval(GROUP_FACTS)
        if (f["nodes"].get(victim, "").endswith(" down") and f["links"].get(victim) == "link down"
                and f["rows"].get(victim) == "down"):
            return f
        return None

    f = wait_for("the page to refresh itself and show %s down" % victim, shows_down, 20, 0.2)
    # The reloaded DOM can be read before Chromium reports the load event (a loaded machine
    # showed the new page with the event still pending): wait for the event itself.
    wait_for("the reload's load event", lambda: browser.cdp.pump(0.1) or browser.loads() > loads, 10, 0.1)
    refreshed = browser.loads() - loads
    results.add("fault: the page refreshed itself (meta refresh) and shows the replica down",
                bool(f) and refreshed >= 1,
                "%d reload(s); node %s, link %s, row %s" % (
                    refreshed, *(((f or {}).get(k) or {}).get(victim) for k in ("nodes", "links", "rows"))))
    if f:
        other = replicas[1]
        results.add("fault: the other replica still up", f["nodes"].get(other) == "node replica"
                    and f["links"].get(other) == "link up", "%s %s" % (f["nodes"].get(other), f["links"].get(other)))
    shot = os.path.join(args.out_dir, "status-page-fault.png")
    results.add("fault: screenshot", browser.screenshot(shot, full_page=True) > 10000, shot)
    browser.navigate(base)
    facts = browser.eval(FLEET_FACTS)
    cells = facts["cells"]
    results.add("fault: fleet says 1/2 up", len(cells) > 2 and cells[2].startswith("1/2 up"),
                cells[2] if len(cells) > 2 else str(cells))
    browser.screenshot(os.path.join(args.out_dir, "status-page-fleet-fault.png"))

    # ---- No JavaScript: the same server-rendered elements ----
    browser.scripts(enabled=False)
    browser.navigate("data:text/html,<title>nojs</title><script>document.title='js'</script>")
    results.add("no JS: scripts are disabled (self-test)", "<title>nojs</title>" in browser.outer_html())
    browser.navigate(base)
    dom = browser.outer_html()
    results.add("no JS: fleet has the group row (1/2 up) and the Sentinels",
                'data-group="%s"' % GROUP in dom and "1/2 up" in dom and 'id="sentinels"' in dom,
                "%d bytes" % len(dom))
    browser.navigate(base + "group?name=" + GROUP)
    dom = browser.outer_html()
    results.add("no JS: group page has the topology with the replica down",
                '<svg class="topology"' in dom and 'class="node replica down" data-node="%s"' % victim in dom,
                "%d bytes" % len(dom))
    browser.scripts(enabled=True)

    browser.cdp.pump(0.3)
    errors = browser.errors()
    results.add("no console errors on any page", not errors, "; ".join(errors[:5]))
    browser.cdp.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exporter", required=True)
    ap.add_argument("--lab", required=True)
    ap.add_argument("--out-dir", required=True, help="where the screenshots go (the build directory)")
    ap.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser"))
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (logs)")
    args = ap.parse_args()
    if not args.chromium:
        print("browser: chromium not found (scripts/install-deps.sh test)")
        return 1
    for tool in ("redis-server", "redis-sentinel"):
        if not shutil.which(tool):
            print("browser: %s not found (scripts/install-deps.sh test)" % tool)
            return 1
    os.makedirs(args.out_dir, exist_ok=True)
    return e2e.run_harness("browser", (), args.keep,
                           lambda procs, tmp, results, cleanup: run(args, procs, tmp, results),
                           note="; screenshots in " + args.out_dir)


if __name__ == "__main__":
    sys.exit(main())
