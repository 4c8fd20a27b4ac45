#!/usr/bin/env python3
"""Structure of the rollout-gate recipes in deploy/examples/rollout (no servers needed).

- every YAML file parses; each object has what its consumer needs: the Argo Rollouts
  AnalysisTemplates (argoproj.io/v1alpha1; web provider on /api/v1/gate with
  `successCondition: result.ready == true`; prometheus provider with a one-sample query on
  redis_ha_rollout_ready that promtool accepts), the Flagger Canary (pre-rollout webhook on
  /gate), the StatefulSet preStop hook (exec of prestop-gate.sh from a ConfigMap, a grace
  period longer than the hook's bounds, every variable the script requires), the Helm test
  (hook annotation, curl --fail) and the CI step (curl --fail);
- every exporter URL uses port 9479, the exporter's Service name, a gate path the exporter
  serves (/gate, /api/v1/gate), only parameters it accepts and a valid action; every
  {{args.X}} is declared;
- every shell script (the files and the ones embedded in YAML) passes `bash -n`/`sh -n` and
  shellcheck (when installed: Debian package shellcheck); none passes a password on a
  command line;
- rolling-restart.sh: --help, usage errors (exit 2), and the operations the design needs;
- docs/recipes.md names every recipe.

Usage: test_structure.py   (python3 with python3-yaml)
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import recipes  # noqa: E402

failures = []


def check(cond, msg, detail=""):
    print("%s: %s%s" % ("ok" if cond else "FAIL", msg, (" (" + detail + ")") if detail and not cond else ""))
    if not cond:
        failures.append(msg)
    return cond


def exporter_url(url, paths, where):
    """The URL names the exporter's Service on 9479, a gate path and valid parameters."""
    u = urllib.parse.urlsplit(url)
    check(u.scheme in ("http", "https"), "%s: URL scheme http(s)" % where, url)
    check(u.port == recipes.EXPORTER_PORT, "%s: exporter port %d" % (where, recipes.EXPORTER_PORT), url)
    check((u.hostname or "").split(".")[0] == recipes.SERVICE_HOST,
          "%s: host is the exporter's Service %s" % (where, recipes.SERVICE_HOST), url)
    check(u.path in paths, "%s: path %s is one of %s" % (where, u.path, sorted(paths)), url)
    params = urllib.parse.parse_qs(u.query, keep_blank_values=True)
    check(set(params) <= recipes.GATE_PARAMS, "%s: only gate parameters" % where,
          "unknown: %s" % sorted(set(params) - recipes.GATE_PARAMS))
    check("group" in params and "action" in params, "%s: group and action given" % where, url)
    action = params.get("action", [""])[0]
    check(action in recipes.ACTIONS or action.startswith("{{") or action.startswith("$"),
          "%s: action %r is valid" % (where, action))
    return params


def shell_check(path_or_text, shell, where):
    """sh -n / bash -n, then shellcheck when installed."""
    if os.path.exists(path_or_text):
        path, tmp = path_or_text, None
    else:
        tmp = tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False)
        tmp.write(("#!/bin/%s\n" % shell) + path_or_text)
        tmp.close()
        path = tmp.name
    try:
        r = subprocess.run([shell, "-n", path], capture_output=True, text=True)
        check(r.returncode == 0, "%s: %s -n" % (where, shell), r.stderr.strip())
        if shutil.which("shellcheck"):
            r = subprocess.run(["shellcheck", "-s", shell, path], capture_output=True, text=True)
            check(r.returncode == 0, "%s: shellcheck -s %s" % (where, shell), r.stdout.strip()[:2000])
        with open(path, encoding="utf-8") as f:
            text = f.read()
        # A password never goes on a command line (ps shows it): REDISCLI_AUTH instead.
        bad = [l for l in text.splitlines()
               if re.search(r"redis-cli\b.*\s(-a|--pass|--user)\s", l) and not l.lstrip().startswith("#")]
        check(not bad, "%s: no password on a redis-cli command line" % where, "; ".join(bad))
    finally:
        if tmp:
            os.unlink(tmp.name)


def args_declared(template, text, where):
    declared = {a["name"] for a in template["spec"].get("args", [])}
    used = set(recipes.ARG_RE.findall(text))
    check(used <= declared, "%s: every {{args.X}} is declared" % where, "undeclared: %s" % sorted(used - declared))
    required = {a["name"] for a in template["spec"].get("args", []) if a.get("value") is None
                and "valueFrom" not in a}
    return required


def check_yaml_files():
    names = recipes.yaml_files()
    check(len(names) >= 6, "six or more YAML recipes", str(names))
    for n in names:
        try:
            docs = recipes.load(n)
            check(bool(docs) and all(isinstance(d, dict) for d in docs), "%s parses (%d objects)" % (n, len(docs)))
        except Exception as e:  # noqa: BLE001
            check(False, "%s parses" % n, str(e))


def check_argo_web():
    t, m = recipes.argo_web()
    check(t.get("apiVersion") == "argoproj.io/v1alpha1", "argo web: apiVersion argoproj.io/v1alpha1")
    check(bool(t["metadata"].get("name")), "argo web: metadata.name")
    web = m.get("provider", {}).get("web")
    check(isinstance(web, dict) and web.get("url"), "argo web: metrics[0].provider.web.url")
    check(re.sub(r"\s+", " ", m.get("successCondition", "")).strip() == "result.ready == true",
          "argo web: successCondition result.ready == true", m.get("successCondition"))
    # Without jsonPath the whole JSON body is `result`; with one it must keep `ready` reachable.
    check(web.get("jsonPath") in (None, "{$}"), "argo web: result is the whole body", str(web.get("jsonPath")))
    check(web.get("method", "GET") == "GET", "argo web: GET")
    required = args_declared(t, web["url"], "argo web")
    url = recipes.render_args(web["url"], t, {r: "mymaster" for r in required})
    exporter_url(url, {"/api/v1/gate"}, "argo web")


def check_argo_prometheus():
    t, m = recipes.argo_prometheus()
    check(t.get("apiVersion") == "argoproj.io/v1alpha1", "argo prometheus: apiVersion argoproj.io/v1alpha1")
    prom = m.get("provider", {}).get("prometheus")
    check(isinstance(prom, dict) and prom.get("query") and prom.get("address"),
          "argo prometheus: provider.prometheus.query and address")
    check(re.search(r"result\[0\]\s*==\s*1", m.get("successCondition", "")) is not None,
          "argo prometheus: successCondition on result[0]", m.get("successCondition"))
    query = prom["query"].strip()
    required = args_declared(t, query + prom["address"], "argo prometheus")
    rendered = recipes.render_args(query, t, {r: "mymaster" for r in required})
    # Exactly one sample: an aggregation without by/without around the whole expression.
    check(re.match(r"^(min|max)\s*\(", rendered) and rendered.endswith(")") and
          not re.search(r"\b(by|without)\s*\(", rendered),
          "argo prometheus: query aggregates to one sample (min/max without by)", rendered)
    sels = recipes.selectors(rendered)
    check([s[0] for s in sels] == ["redis_ha_rollout_ready"], "argo prometheus: query reads redis_ha_rollout_ready",
          str(sels))
    with open(os.path.join(recipes.ROOT, "src", "metrics", "collector.cc"), encoding="utf-8") as f:
        check('"redis_ha_rollout_ready"' in f.read(), "argo prometheus: the exporter exports redis_ha_rollout_ready")
    labels = {l for _, ms in sels for l, _, _ in ms}
    check(labels <= {"group", "action", "node", "job", "instance"}, "argo prometheus: only the metric's labels",
          str(labels))
    with open(os.path.join(recipes.ROOT, "rules", "recording.yml"), encoding="utf-8") as f:
        check("group_action:redis_ha_rollout_ready:min" in f.read(),
              "argo prometheus: the recording rule named in its comment exists")
    if shutil.which("promtool"):
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            f.write("groups:\n  - name: q\n    rules:\n      - record: recipe:query\n        expr: %s\n"
                    % __import__("json").dumps(rendered))
        r = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
        os.unlink(f.name)
        check(r.returncode == 0, "argo prometheus: promtool accepts the query", (r.stdout + r.stderr).strip())
    else:
        print("note: promtool not found (Debian package prometheus); query syntax not checked")


def check_flagger():
    c = recipes.one(recipes.load(recipes.FLAGGER), "Canary")
    check(c.get("apiVersion") == "flagger.app/v1beta1", "flagger: apiVersion flagger.app/v1beta1")
    check(bool(c["spec"].get("targetRef", {}).get("name")), "flagger: spec.targetRef")
    hooks = recipes.flagger_webhooks()
    pre = [h for h in hooks if h.get("type") == "pre-rollout"]
    check(len(pre) == 1, "flagger: one pre-rollout webhook")
    for h in pre:
        check(bool(h.get("name")) and bool(h.get("timeout")), "flagger: webhook name and timeout")
        exporter_url(h["url"], {"/gate"}, "flagger webhook")


def check_prestop():
    sts, pod, c = recipes.prestop()
    check(sts.get("apiVersion") == "apps/v1", "preStop: StatefulSet apps/v1")
    cmd = c["lifecycle"]["preStop"].get("exec", {}).get("command")
    check(isinstance(cmd, list) and cmd, "preStop: lifecycle.preStop.exec.command")
    script = [a for a in cmd if a.endswith(".sh")]
    check(len(script) == 1 and os.path.basename(script[0]) == os.path.basename(recipes.PRESTOP_SCRIPT),
          "preStop: runs prestop-gate.sh", str(cmd))
    mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    mounted = [n for n, p in mounts.items() if script and os.path.dirname(script[0]) == p.rstrip("/")]
    check(len(mounted) == 1 and "configMap" in vols.get(mounted[0], {}),
          "preStop: the script's directory is a ConfigMap volume", str(mounts))
    env = {e["name"]: e for e in c.get("env", [])}
    with open(recipes.PRESTOP_SCRIPT, encoding="utf-8") as f:
        text = f.read()
    needed = set(re.findall(r'"\$\{([A-Z_]+):\?\}"', text))
    check(needed and needed <= set(env), "preStop: env sets every variable the script requires",
          "missing: %s" % sorted(needed - set(env)))
    gate = env.get("GATE_URL", {}).get("value", "")
    u = urllib.parse.urlsplit(gate)
    check(u.port == recipes.EXPORTER_PORT and u.hostname.split(".")[0] == recipes.SERVICE_HOST,
          "preStop: GATE_URL is the exporter's Service on 9479", gate)
    check("/gate" in text, "preStop script asks /gate")

    def num(name, default):
        v = env.get(name, {}).get("value")
        if v is None:
            m = re.search(r"%s=\$\{%s:-(\d+)\}" % (name, name), text)
            v = m.group(1) if m else default
        return int(v)

    grace = pod.get("terminationGracePeriodSeconds")
    bound = num("GATE_WAIT_SECONDS", 0) + num("SWITCH_TIMEOUT", 0)
    check(isinstance(grace, int) and grace > bound + 10,
          "preStop: terminationGracePeriodSeconds %s > GATE_WAIT_SECONDS + SWITCH_TIMEOUT + 10 s (%d)"
          % (grace, bound + 10))
    pdb = [d for d in recipes.load(recipes.PRESTOP) if d.get("kind") == "PodDisruptionBudget"]
    check(len(pdb) == 1 and pdb[0]["spec"].get("maxUnavailable") == 1 and
          pdb[0]["spec"]["selector"] == sts["spec"]["selector"],
          "preStop: a PodDisruptionBudget (maxUnavailable 1) selects the same pods")


def check_helm_test():
    pod, c = recipes.helm_test()
    ann = pod["metadata"].get("annotations", {})
    check(ann.get("helm.sh/hook") == "test", "helm test: annotation helm.sh/hook: test")
    check(pod["spec"].get("restartPolicy") == "Never", "helm test: restartPolicy Never")
    script = "\n".join(c.get("args", []))
    check("curl --fail" in script, "helm test: curl --fail")
    urls = re.findall(r'"(\$GATE_URL[^"]*)"', script)
    check(bool(urls), "helm test: asks $GATE_URL")
    env = {e["name"]: e.get("value", "") for e in c.get("env", [])}
    for url in urls:
        exporter_url(url.replace("$GATE_URL", "http://redis-ha-exporter:9479").replace("$GROUP", "mymaster"),
                     {"/gate"}, "helm test")
    check("GATE_URL" in env and "GROUP" in env, "helm test: GATE_URL and GROUP in env")
    shell_check(script, "sh", "helm test script")


def check_ci():
    wf, job, step = recipes.ci_step()
    check(True in wf or "on" in wf, "ci: workflow has a trigger (on:)")
    run = step.get("run", "")
    check("curl --fail" in run, "ci: curl --fail")
    env = dict(wf.get("env", {}))
    env.update(job.get("env", {}))
    env.update(step.get("env", {}))
    check("GATE_URL" in env, "ci: GATE_URL set")
    exporter_url(env.get("GATE_URL", "") + "/gate?group=g&action=failover", {"/gate"}, "ci GATE_URL")
    for url in re.findall(r'"(\$GATE_URL[^"]*)"', run):
        exporter_url(url.replace("$GATE_URL", env.get("GATE_URL", "")).replace("$GROUP", "mymaster"),
                     {"/gate"}, "ci step")
    check(bool(step.get("timeout-minutes")), "ci: the step has a timeout")
    shell_check(run, "bash", "ci step script")


def check_scripts():
    for p in recipes.shell_scripts() + [os.path.join(os.path.dirname(os.path.abspath(__file__)), "lab_restart.sh")]:
        name = os.path.relpath(p, recipes.ROOT)
        with open(p, encoding="utf-8") as f:
            first = f.readline()
        shell = "bash" if "bash" in first else "sh"
        check(first.startswith("#!"), "%s: has a shebang" % name)
        check(os.access(p, os.X_OK), "%s: is executable" % name)
        shell_check(p, shell, name)

    rr = recipes.ROLLING_RESTART
    with open(rr, encoding="utf-8") as f:
        text = f.read()
    check("set -euo pipefail" in text, "rolling-restart.sh: set -euo pipefail")
    for needle in ("CLIENT PAUSE", "WRITE", "SENTINEL FAILOVER", "GET-MASTER-ADDR-BY-NAME", "CLIENT UNPAUSE",
                   "INFO replication", "master_repl_offset", "slave_repl_offset", "REDISCLI_AUTH",
                   "restart-replica", "restart-sentinel", "failover", "/gate", ":9479"):
        check(needle in text, "rolling-restart.sh mentions %s" % needle)
    r = subprocess.run(["bash", rr, "--help"], capture_output=True, text=True)
    check(r.returncode == 0 and "SENTINELS" in r.stdout and "RESTART_CMD" in r.stdout,
          "rolling-restart.sh --help exits 0 and documents its settings")
    env = {k: v for k, v in os.environ.items() if k not in ("GROUP", "SENTINELS", "RESTART_CMD")}
    r = subprocess.run(["bash", rr], capture_output=True, text=True, env=env)
    check(r.returncode == 2 and "GROUP" in r.stderr, "rolling-restart.sh without GROUP exits 2", r.stderr.strip())
    r = subprocess.run(["bash", rr, "--group", "g", "--sentinels", "127.0.0.1:1"], capture_output=True,
                       text=True, env=env)
    check(r.returncode == 2 and "RESTART_CMD" in r.stderr, "rolling-restart.sh without RESTART_CMD exits 2",
          r.stderr.strip())
    r = subprocess.run(["bash", rr, "--bogus", "1"], capture_output=True, text=True, env=env)
    check(r.returncode == 2, "rolling-restart.sh with an unknown flag exits 2")
    r = subprocess.run(["bash", rr, "--group", "g", "--sentinels", "127.0.0.1:1", "--steps", "sentinels",
                        "--restart-cmd", "true"], capture_output=True, text=True, env=env, timeout=60)
    check(r.returncode == 1 and "no Sentinel" in r.stderr,
          "rolling-restart.sh exits 1 when no Sentinel answers", r.stderr.strip()[-300:])


def check_docs():
    doc = os.path.join(recipes.ROOT, "docs", "recipes.md")
    if not check(os.path.exists(doc), "docs/recipes.md exists"):
        return
    with open(doc, encoding="utf-8") as f:
        text = f.read()
    for n in recipes.yaml_files() + [os.path.basename(p) for p in recipes.shell_scripts()]:
        check(n in text, "docs/recipes.md names %s" % n)


def main():
    for fn in (check_yaml_files, check_argo_web, check_argo_prometheus, check_flagger, check_prestop,
               check_helm_test, check_ci, check_scripts, check_docs):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - a recipe missing a field: report, go on
            check(False, "%s ran" % fn.__name__, "%s: %s" % (type(e).__name__, e))
    print("\n%d failure(s)" % len(failures))
    for f in failures:
        print("  FAILED " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
