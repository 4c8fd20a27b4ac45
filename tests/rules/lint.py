#!/usr/bin/env python3
"""Convention lint for the rule pack and the dashboards (Python standard library only).

Rules (from rules/generate.py's model and the rendered files):
  - alert names CamelCase with the RedisHA prefix; severity critical|warning|info;
  - summary static, starts with a capital letter, ends with a period;
  - description templated and naming the group, node, Sentinel or exporter;
  - runbook_url = runbook_url_base#anchor, and docs/runbook.md has that heading;
    every runbook section is an alert, and shows how to confirm with redis-cli or the exporter;
  - a `for` of at least 30s, or a documented reason for paging at once;
  - every alert has a firing and a silent case in rules/tests/*.yml, every recording rule a
    promql_expr_test; recording rule names are level:metric:operation;
  - every key of rules/config.json is documented in rules/README.md;
  - the PrometheusRule's groups are the rule files' groups, text for text.
Dashboards:
  - schemaVersion >= 39, unique stable uid, a datasource variable, job/instance variables
    (multi, include All, allValue .+), a group variable;
  - every panel has a title, a description, a unit, the ${datasource} data source;
  - every query uses $job and $instance (and $group for series with a group label), counters and
    histogram buckets only inside rate()/increase() over $__rate_interval (or $__range);
  - every query is valid PromQL (promtool check rules on the queries, variables substituted).
Exit status 1 with one line per problem.
"""

import glob
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
problems = []


def problem(msg):
    problems.append(msg)


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def slug(heading):
    """GitHub's anchor for a Markdown heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def read(rel):
    with open(os.path.join(REPO, rel), encoding="utf-8") as f:
        return f.read()


# ---------------------------------------------------------------------------------------------
# Rules

GROUP_LABELS_IN_DESCRIPTION = ("$labels.group", "$labels.node", "$labels.sentinel", "$labels.instance",
                               "$labels.job")


def lint_rules():
    gen = load("rules_generate", os.path.join(REPO, "rules", "generate.py"))
    cfg = gen.load_config(gen.DEFAULT_CONFIG, [])
    model = gen.build(cfg)
    base = cfg["runbook_url_base"]

    runbook = read("docs/runbook.md")
    sections = {}
    current = None
    for line in runbook.splitlines():
        m = re.match(r"^## (.+)$", line)
        if m:
            current = slug(m.group(1))
            sections[current] = []
        elif current:
            sections[current].append(line)

    tests_text = "\n".join(open(p, encoding="utf-8").read()
                           for p in sorted(glob.glob(os.path.join(REPO, "rules", "tests", "*.yml"))))
    firing, silent = set(), set()
    for m in re.finditer(r"alertname:\s*(\S+)\s*\n\s*exp_alerts:(.*)", tests_text):
        (silent if m.group(2).strip() == "[]" else firing).add(m.group(1))

    alert_names = set()
    for group in model["alerts"]:
        for r in group["rules"]:
            name = r["alert"]
            alert_names.add(name)
            where = "alert %s" % name
            if not re.fullmatch(r"RedisHA(?:[A-Z][a-z0-9]*)+", name):
                problem("%s: name is not CamelCase with the RedisHA prefix" % where)
            sev = r.get("labels", {}).get("severity")
            if sev not in ("critical", "warning", "info"):
                problem("%s: severity %r is not critical|warning|info" % (where, sev))
            ann = r.get("annotations", {})
            summary = ann.get("summary", "")
            if not summary:
                problem("%s: no summary" % where)
            else:
                if "{{" in summary or "$labels" in summary or "$value" in summary:
                    problem("%s: summary must be static (no templating)" % where)
                if not summary[0].isupper():
                    problem("%s: summary must start with a capital letter" % where)
                if not summary.endswith("."):
                    problem("%s: summary must end with a period" % where)
            desc = ann.get("description", "")
            if "{{" not in desc:
                problem("%s: description is not templated" % where)
            if not any(l in desc for l in GROUP_LABELS_IN_DESCRIPTION):
                problem("%s: description names no group, node, Sentinel or exporter" % where)
            if "factor" in r["expr"] and "factor" not in desc:
                problem("%s: the expression uses factors but the description names none" % where)
            url = ann.get("runbook_url", "")
            if not url.startswith(base + "#"):
                problem("%s: runbook_url %r does not start with %s#" % (where, url, base))
            else:
                anchor = url[len(base) + 1:]
                if anchor != name.lower():
                    problem("%s: runbook anchor %r is not the alert name in lower case" % (where, anchor))
                if anchor not in sections:
                    problem("%s: docs/runbook.md has no section #%s" % (where, anchor))
            if "for" in r:
                if gen.parse_duration(r["for"]) < 30:
                    problem("%s: for %s is shorter than 30s: one missed poll would notify" % (where, r["for"]))
            elif not r.get("_immediate"):
                problem("%s: no for and no documented reason to notify at once" % where)
            elif name not in read("rules/README.md"):
                problem("%s: notifies at once but rules/README.md does not list it" % where)
            if name not in firing:
                problem("%s: no promtool test where it fires (rules/tests)" % where)
            if name not in silent:
                problem("%s: no promtool test where it stays silent (rules/tests)" % where)

    for anchor, body in sections.items():
        if anchor.startswith("redisha") and anchor not in {n.lower() for n in alert_names}:
            problem("docs/runbook.md: section #%s is not an alert in rules/alerts.yml" % anchor)
        if anchor.startswith("redisha"):
            text = "\n".join(body)
            for part in ("**Meaning.**", "**Confirm.**", "**Fix.**"):
                if part not in text:
                    problem("docs/runbook.md #%s: no %s paragraph" % (anchor, part))
            if "redis-cli" not in text and "curl" not in text and "redis_ha_" not in text:
                problem("docs/runbook.md #%s: does not say how to confirm (redis-cli)" % anchor)

    for group in model["recording"]:
        for r in group["rules"]:
            name = r["record"]
            if not re.fullmatch(r"[a-z_]+:redis_ha_[a-z0-9_]+:[a-z0-9_]+", name):
                problem("recording rule %s: not level:redis_ha_metric:operation" % name)
            if not re.search(r"expr:\s*'?%s\b" % re.escape(name), tests_text):
                problem("recording rule %s: no promql_expr_test in rules/tests" % name)

    readme = read("rules/README.md")
    for key in cfg:
        if "`%s`" % key not in readme:
            problem("rules/config.json: key %s is not documented in rules/README.md" % key)

    # The PrometheusRule carries exactly the rule files' groups.
    pr = read("deploy/kubernetes/prometheusrule.yaml").splitlines()
    try:
        start = pr.index("  groups:") + 1
    except ValueError:
        problem("deploy/kubernetes/prometheusrule.yaml: no spec.groups")
        return
    spec_lines = [l[2:] if l.startswith("  ") else l for l in pr[start:]]
    file_lines = []
    for rel in ("rules/recording.yml", "rules/alerts.yml"):
        lines = read(rel).splitlines()
        file_lines += lines[lines.index("groups:") + 1:]
    if spec_lines != file_lines:
        problem("deploy/kubernetes/prometheusrule.yaml: spec.groups differ from rules/recording.yml "
                "+ rules/alerts.yml (run rules/generate.py)")


# ---------------------------------------------------------------------------------------------
# Dashboards

# Metric names without a group label: their queries need not filter on $group.
NO_GROUP_LABEL = {
    "up", "scrape_duration_seconds", "redis_ha_sentinel_up", "redis_ha_sentinel_tilt",
    "redis_ha_sentinel_info", "redis_ha_sentinel_poll_round_trip_seconds",
    "redis_ha_exporter_build_info", "redis_ha_exporter_poll_duration_seconds_bucket",
    "redis_ha_exporter_poll_errors_total", "redis_ha_exporter_poll_cycles_total",
    "redis_ha_exporter_poll_overruns_total", "redis_ha_exporter_connections",
    "redis_ha_exporter_sent_bytes_total", "redis_ha_exporter_received_bytes_total",
}
FUNCTIONS = {"rate", "increase", "irate", "max", "min", "sum", "count", "avg", "by", "without",
             "time", "vector", "histogram_quantile", "max_over_time", "on", "ignoring", "or",
             "and", "unless", "le", "bool", "absent", "label_values"}


def metric_names(expr):
    stripped = re.sub(r'"[^"]*"', '""', expr)
    stripped = re.sub(r"\{[^}]*\}", "{}", stripped)
    stripped = re.sub(r"\[[^\]]*\]", "[]", stripped)
    stripped = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", stripped)
    names = re.findall(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b\s*(?=\{|\[|\)|$|\s)", stripped)
    return {n for n in names if n not in FUNCTIONS and not re.fullmatch(r"\d+", n)}


def lint_dashboards():
    gen = load("dash_generate", os.path.join(REPO, "dashboards", "generate.py"))
    uids = {}
    exprs = []
    for path in sorted(glob.glob(os.path.join(REPO, "dashboards", "*.json"))):
        name = os.path.basename(path)
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        where = "dashboards/%s" % name
        if d.get("schemaVersion", 0) < 39:
            problem("%s: schemaVersion %s < 39" % (where, d.get("schemaVersion")))
        uid = d.get("uid")
        if not uid or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", uid):
            problem("%s: uid %r is missing or not a short stable slug" % (where, uid))
        elif uid in uids:
            problem("%s: uid %s also used by %s" % (where, uid, uids[uid]))
        uids[uid] = name
        if d.get("id") not in (None,):
            problem("%s: a dashboard id is instance-specific; leave it out" % where)
        variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
        ds = variables.get("datasource")
        if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
            problem("%s: no Prometheus datasource variable named datasource" % where)
        for v in ("job", "instance"):
            var = variables.get(v)
            if not var:
                problem("%s: no %s variable" % (where, v))
                continue
            if not (var.get("multi") and var.get("includeAll") and var.get("allValue") == ".+"):
                problem("%s: variable %s must be multi-value with All = .+" % (where, v))
        if "group" not in variables:
            problem("%s: no group variable" % where)
        for p in d.get("panels", []):
            if p.get("type") == "row":
                continue
            pw = "%s panel %r" % (where, p.get("title"))
            if not p.get("title"):
                problem("%s: panel without a title" % where)
            if not p.get("description"):
                problem("%s: no description" % pw)
            if not p.get("fieldConfig", {}).get("defaults", {}).get("unit"):
                problem("%s: no unit" % pw)
            if p.get("datasource", {}).get("uid") != "${datasource}":
                problem("%s: data source is not ${datasource}" % pw)
            if not p.get("targets"):
                problem("%s: no query" % pw)
            for t in p.get("targets", []):
                if t.get("datasource", {}).get("uid") != "${datasource}":
                    problem("%s: query data source is not ${datasource}" % pw)
                exprs.append((pw, t["expr"]))
        for a in d.get("annotations", {}).get("list", []):
            if "expr" in a:
                exprs.append(("%s annotation %r" % (where, a["name"]), a["expr"]))

    for where, e in exprs:
        for v in ("$job", "$instance"):
            if v not in e:
                problem("%s: query does not use %s: %s" % (where, v, e))
        names = metric_names(e)
        if names - NO_GROUP_LABEL and "$group" not in e:
            problem("%s: query does not use $group: %s" % (where, e))
        for n in names:
            if n.endswith(("_total", "_bucket", "_count", "_sum")):
                wrapped = len(re.findall(
                    r"\b(?:rate|increase)\(\s*%s(?:\{[^}]*\})?\[\$__(?:rate_interval|range)\]\)" % re.escape(n), e))
                total = len(re.findall(r"\b%s\b" % re.escape(n), e))
                if wrapped != total:
                    problem("%s: counter %s outside rate()/increase() over $__rate_interval: %s" % (where, n, e))

    # Valid PromQL: promtool parses every query (variables substituted) as a recording rule.
    promtool = shutil.which("promtool")
    if not promtool:
        problem("promtool not found: cannot check that the dashboard queries are valid PromQL")
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dashboard_queries.yml")
        with open(path, "w", encoding="utf-8") as f:
            f.write("groups:\n  - name: dashboard_queries\n    rules:\n")
            for i, (where, e) in enumerate(exprs):
                q = (e.replace("$__rate_interval", "1m").replace("$__range", "1h")
                     .replace("$job", ".+").replace("$instance", ".+").replace("$group", ".+"))
                f.write("      - record: dashboard_query_%d\n        expr: %s\n" % (i, json.dumps(q)))
        r = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
        if r.returncode != 0:
            problem("dashboard queries are not valid PromQL:\n" + r.stdout + r.stderr)


def main():
    lint_rules()
    lint_dashboards()
    for p in problems:
        print("lint: " + p)
    if problems:
        print("lint: %d problem(s)" % len(problems))
        return 1
    print("lint: rules, runbook and dashboards follow the conventions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
