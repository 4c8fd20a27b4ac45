"""The rollout-gate recipes in deploy/examples/rollout, loaded for the tests.

Shared by test_structure.py (no servers) and test_e2e.py (the recipes run against a live
exporter). Needs python3-yaml.
"""

import os
import re
import urllib.parse

import yaml  # python3-yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIR = os.path.join(ROOT, "deploy", "examples", "rollout")

ROLLING_RESTART = os.path.join(DIR, "rolling-restart.sh")
PRESTOP_SCRIPT = os.path.join(DIR, "prestop-gate.sh")
ARGO_WEB = "argo-analysistemplate-web.yaml"
ARGO_PROMETHEUS = "argo-analysistemplate-prometheus.yaml"
FLAGGER = "flagger-canary.yaml"
PRESTOP = "prestop-statefulset.yaml"
HELM_TEST = "helm-test-gate.yaml"
CI = "ci-github-actions.yaml"

# What the exporter serves (src/http, deploy/kubernetes/base/service.yaml).
EXPORTER_PORT = 9479
GATE_PATHS = {"/gate", "/api/v1/gate"}
GATE_PARAMS = {"group", "action", "node", "max_lag_bytes", "require_version"}
ACTIONS = {"failover", "restart-replica", "restart-sentinel"}
SERVICE_HOST = "redis-ha-exporter"


def path(name):
    return os.path.join(DIR, name)


def load(name):
    """Every YAML document of the file (None documents dropped)."""
    with open(path(name), encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def yaml_files():
    return sorted(n for n in os.listdir(DIR) if n.endswith((".yaml", ".yml")))


def shell_scripts():
    return sorted(os.path.join(DIR, n) for n in os.listdir(DIR) if n.endswith(".sh"))


def one(docs, kind):
    found = [d for d in docs if isinstance(d, dict) and d.get("kind") == kind]
    if len(found) != 1:
        raise AssertionError("expected one %s, found %d" % (kind, len(found)))
    return found[0]


ARG_RE = re.compile(r"\{\{\s*args\.([A-Za-z0-9_-]+)\s*\}\}")


def render_args(text, template, values=None):
    """Substitutes {{args.NAME}} the way Argo Rollouts does: the given values, else the
    template's defaults. Raises KeyError for an argument without either."""
    defaults = {a["name"]: a.get("value") for a in template["spec"].get("args", [])}
    merged = dict(defaults)
    merged.update(values or {})

    def sub(m):
        v = merged.get(m.group(1))
        if v is None:
            raise KeyError("argument %s has no value" % m.group(1))
        return v

    return ARG_RE.sub(sub, text)


def with_base(url, base):
    """url with its scheme and host:port replaced by base's (a live exporter)."""
    u, b = urllib.parse.urlsplit(url), urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit((b.scheme, b.netloc, u.path, u.query, u.fragment))


SELECTOR_RE = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}")
MATCHER_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!=|!~|=)\s*"([^"]*)"')


def selectors(promql):
    """[(metric, [(label, op, value)])] of every selector with braces in a PromQL expression."""
    return [(m.group(1), MATCHER_RE.findall(m.group(2))) for m in SELECTOR_RE.finditer(promql)]


def argo_web():
    t = one(load(ARGO_WEB), "AnalysisTemplate")
    return t, t["spec"]["metrics"][0]


def argo_prometheus():
    t = one(load(ARGO_PROMETHEUS), "AnalysisTemplate")
    return t, t["spec"]["metrics"][0]


def flagger_webhooks():
    return one(load(FLAGGER), "Canary")["spec"]["analysis"]["webhooks"]


def prestop():
    """(StatefulSet, pod spec, the container with the preStop hook)."""
    sts = one(load(PRESTOP), "StatefulSet")
    pod = sts["spec"]["template"]["spec"]
    for c in pod["containers"]:
        if c.get("lifecycle", {}).get("preStop"):
            return sts, pod, c
    raise AssertionError("no container with a preStop hook")


def helm_test():
    pod = one(load(HELM_TEST), "Pod")
    return pod, pod["spec"]["containers"][0]


def ci_step():
    """(workflow, job, the step that waits for the gate)."""
    wf = load(CI)[0]
    for job in wf["jobs"].values():
        for step in job["steps"]:
            if "gate" in step.get("name", "").lower():
                return wf, job, step
    raise AssertionError("no step named like the gate")
