#!/usr/bin/env python3
"""Renders every kustomization under deploy/ with `kubectl kustomize` and checks it.

- the dashboards copies in deploy/kubernetes/dashboards match dashboards/ (drift);
- every rendered object parses and has what its kind needs, and the objects agree with
  each other (selectors, named ports, ConfigMap and Secret references, mount paths);
- images, ports and paths agree with the binary's defaults and the project version
  (9479, /healthz, /metrics, redis-ha-exporter:<version>), the scrape job with the rules';
- the config.yml of each ConfigMap is accepted by the built exporter;
- every object validates against the Kubernetes / Prometheus Operator schemas shipped by
  the npm packages kubernetes-models and @kubernetes-models/prometheus-operator (pinned
  in k8s-validate/package-lock.json, installed under the build directory).

kubectl is not a Debian package; it is on this project's machine image. Without it the
render and everything after it are skipped (exit 77) after the drift check.

Usage: test_kubernetes.py SOURCE_DIR BUILD_DIR EXPORTER VERSION
"""
import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml  # python3-yaml

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import sync_dashboards  # noqa: E402

NAME = "redis-ha-exporter"
DEFAULT_PORT = 9479
DEFAULT_METRICS_PATH = "/metrics"
HEALTH_PATH = "/healthz"
REQUESTS = {"cpu": "50m", "memory": "32Mi"}
LIMITS = {"cpu": "500m", "memory": "128Mi"}
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

failures = []


def ok(msg):
    print(f"ok: {msg}")


def check(cond, msg):
    if cond:
        ok(msg)
    else:
        print(f"FAIL: {msg}")
        failures.append(msg)
    return cond


def subset(small, big):
    return all(big.get(k) == v for k, v in (small or {}).items())


def one(objs, kind, name=None):
    found = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    check(len(found) == 1, f"exactly one {kind}{' ' + name if name else ''} (found {len(found)})")
    return found[0] if found else None


def port_of(address):
    m = re.search(r":(\d+)$", str(address))
    return int(m.group(1)) if m else None


def exporter_accepts(exporter, config_text, where):
    """Runs the built exporter on a config for a second: still running means accepted.

    Seeds are overridden with 127.0.0.1:1, so nothing is discovered or dialled beyond
    loopback; password files the config names are replaced by temporary ones."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = yaml.safe_load(config_text) or {}
        pw = pathlib.Path(tmp, "password")
        pw.write_text("secret\n")
        for role in ("sentinel", "redis"):
            if isinstance(cfg.get(role), dict) and "password-file" in cfg[role]:
                cfg[role]["password-file"] = str(pw)
        path = pathlib.Path(tmp, "config.yml")
        path.write_text(yaml.safe_dump(cfg))
        proc = subprocess.Popen(
            [exporter, f"--config={path}", "--sentinel=127.0.0.1:1",
             "--web.listen-address=127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            out, _ = proc.communicate(timeout=1.0)
            check(False, f"{where}: exporter rejected config.yml (exit {proc.returncode}): {out.strip()}")
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.communicate()
            ok(f"{where}: the built exporter accepts config.yml")


def render(root):
    res = subprocess.run(["kubectl", "kustomize", str(root)], capture_output=True, text=True)
    if res.returncode != 0:
        check(False, f"kubectl kustomize {root}: {res.stderr.strip()}")
        return None
    try:
        objs = [d for d in yaml.safe_load_all(res.stdout) if d is not None]
    except yaml.YAMLError as e:
        check(False, f"{root}: rendered output does not parse: {e}")
        return None
    ok(f"kubectl kustomize {root.relative_to(SRC)}: {len(objs)} objects")
    return objs


def check_root(root, objs, expect):
    """expect: namespace, image, auth ('env' or ('file', secret, key)), exporter."""
    rel = root.relative_to(SRC)
    for o in objs:
        md = o.get("metadata") or {}
        ident = f"{rel}: {o.get('kind')}/{md.get('name')}"
        check(o.get("apiVersion") and o.get("kind") and md.get("name"),
              f"{ident} has apiVersion, kind, metadata.name")
        check(bool(DNS1123.match(md.get("name", ""))) and len(md.get("name", "")) <= 253,
              f"{ident}: name is a DNS-1123 subdomain")
        check(md.get("namespace") == expect["namespace"], f"{ident} in namespace {expect['namespace']}")
        check((md.get("labels") or {}).get("app.kubernetes.io/name") == NAME,
              f"{ident} labelled app.kubernetes.io/name={NAME}")
    check(not [o for o in objs if o["kind"] == "Secret"], f"{rel}: no Secret rendered (passwords stay out)")
    kinds = sorted({o["kind"] for o in objs})
    check(kinds == ["ConfigMap", "Deployment", "NetworkPolicy", "PrometheusRule", "Service",
                    "ServiceMonitor"], f"{rel}: kinds {kinds}")

    dep = one(objs, "Deployment", NAME)
    svc = one(objs, "Service", NAME)
    smon = one(objs, "ServiceMonitor", NAME)
    netpol = one(objs, "NetworkPolicy", NAME)
    rule = one(objs, "PrometheusRule")
    if not all([dep, svc, smon, netpol, rule]):
        return

    # Deployment.
    spec = dep["spec"]
    tmpl = spec["template"]
    pod_labels = tmpl["metadata"]["labels"]
    pod = tmpl["spec"]
    check(spec["selector"]["matchLabels"] and subset(spec["selector"]["matchLabels"], pod_labels),
          f"{rel}: Deployment selector matches its pod labels")
    psc = pod.get("securityContext") or {}
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0,
          f"{rel}: pod runs as non-root ({psc.get('runAsUser')})")
    check(pod.get("automountServiceAccountToken") is False, f"{rel}: no service account token")
    check(len(pod["containers"]) == 1, f"{rel}: one container")
    c = pod["containers"][0]
    csc = c.get("securityContext") or {}
    check(csc.get("readOnlyRootFilesystem") is True, f"{rel}: read-only root filesystem")
    check(csc.get("allowPrivilegeEscalation") is False, f"{rel}: no privilege escalation")
    check((csc.get("capabilities") or {}).get("drop") == ["ALL"], f"{rel}: all capabilities dropped")
    check(c.get("resources", {}).get("requests") == REQUESTS, f"{rel}: requests {REQUESTS}")
    check(c.get("resources", {}).get("limits") == LIMITS, f"{rel}: limits {LIMITS}")
    check(c["image"] == expect["image"], f"{rel}: image {c['image']} (want {expect['image']})")
    ports = {p["name"]: p for p in c.get("ports", [])}
    check(set(ports) == {"http-metrics"}, f"{rel}: container port http-metrics")
    container_port = ports.get("http-metrics", {}).get("containerPort")
    for probe in ("livenessProbe", "readinessProbe"):
        get = (c.get(probe) or {}).get("httpGet") or {}
        check(get.get("path") == HEALTH_PATH and get.get("port") in ("http-metrics", container_port),
              f"{rel}: {probe} GET {HEALTH_PATH} on http-metrics")

    # The config file: --config names a file in a mounted ConfigMap holding config.yml.
    cfg_args = [a for a in c.get("args", []) if a.startswith("--config=")]
    check(len(cfg_args) == 1, f"{rel}: --config=FILE in args")
    config_path = cfg_args[0].split("=", 1)[1] if cfg_args else ""
    mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mount = mounts.get(os.path.dirname(config_path))
    check(mount is not None and mount.get("readOnly") is True,
          f"{rel}: {os.path.dirname(config_path)} mounted read-only")
    cm_name = ((volumes.get(mount["name"]) or {}).get("configMap") or {}).get("name") if mount else None
    cm = one(objs, "ConfigMap", cm_name) if cm_name else None
    check(cm is not None and os.path.basename(config_path) in cm.get("data", {}),
          f"{rel}: ConfigMap {cm_name} holds {os.path.basename(config_path)}")
    cfg = {}
    if cm is not None and os.path.basename(config_path) in cm["data"]:
        text = cm["data"][os.path.basename(config_path)]
        cfg = yaml.safe_load(text) or {}
        exporter_accepts(expect["exporter"], text, str(rel))
    web = cfg.get("web") or {}
    listen_port = port_of(web.get("listen-address", f":{DEFAULT_PORT}"))
    metrics_path = web.get("telemetry-path", DEFAULT_METRICS_PATH)
    check(listen_port == DEFAULT_PORT == container_port,
          f"{rel}: listen port {listen_port} = containerPort {container_port} = default {DEFAULT_PORT}")
    check(metrics_path == DEFAULT_METRICS_PATH, f"{rel}: telemetry path {metrics_path}")
    check(cfg.get("sentinels"), f"{rel}: config names seed Sentinels")

    # Passwords: never inline; through the Secret the deployment references.
    def keys(node):
        if isinstance(node, dict):
            for k, v in node.items():
                yield k
                yield from keys(v)
        elif isinstance(node, list):
            for v in node:
                yield from keys(v)
    check("password" not in set(keys(cfg)), f"{rel}: no inline password in config.yml")
    env = {e["name"]: e for e in c.get("env", [])}
    for var, key in (("REDIS_HA_SENTINEL_PASSWORD", "sentinel-password"),
                     ("REDIS_HA_REDIS_PASSWORD", "redis-password")):
        ref = ((env.get(var) or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
        check(ref.get("name") == "redis-ha-exporter-auth" and ref.get("key") == key
              and ref.get("optional") is True,
              f"{rel}: ${var} from optional Secret redis-ha-exporter-auth/{key}")
    if expect["auth"] != "env":
        _, secret, key = expect["auth"]
        vol = [v for v in volumes.values() if (v.get("secret") or {}).get("secretName") == secret]
        check(len(vol) == 1, f"{rel}: Secret {secret} mounted as a volume")
        if vol:
            items = {i["key"]: i["path"] for i in vol[0]["secret"].get("items", [])}
            vmount = [m for m in c["volumeMounts"] if m["name"] == vol[0]["name"]]
            check(key in items and len(vmount) == 1 and vmount[0].get("readOnly") is True,
                  f"{rel}: key {key} of Secret {secret} mounted read-only")
            if key in items and vmount:
                path = f"{vmount[0]['mountPath']}/{items[key]}"
                for role in ("sentinel", "redis"):
                    check((cfg.get(role) or {}).get("password-file") == path,
                          f"{rel}: {role}.password-file is the mounted {path}")

    # Service.
    sports = {p["name"]: p for p in svc["spec"]["ports"]}
    sp = sports.get("http-metrics") or {}
    check(sp.get("port") == DEFAULT_PORT and sp.get("targetPort") in ("http-metrics", container_port),
          f"{rel}: Service port http-metrics {DEFAULT_PORT} -> container")
    check(svc["spec"]["selector"] and subset(svc["spec"]["selector"], pod_labels),
          f"{rel}: Service selects the exporter pods")

    # ServiceMonitor.
    sel = smon["spec"]["selector"].get("matchLabels")
    check(sel and subset(sel, svc["metadata"]["labels"]), f"{rel}: ServiceMonitor selects the Service")
    check(len(smon["spec"]["endpoints"]) == 1, f"{rel}: one scrape endpoint")
    ep = smon["spec"]["endpoints"][0]
    check(ep.get("port") in sports, f"{rel}: ServiceMonitor port {ep.get('port')} is a Service port")
    check(ep.get("path") == metrics_path, f"{rel}: ServiceMonitor path {ep.get('path')}")
    jobs = [r.get("replacement") for r in ep.get("relabelings", []) if r.get("targetLabel") == "job"]
    check(jobs == [RULES_JOB], f"{rel}: scrape job {jobs} = the rules' job {RULES_JOB}")

    # NetworkPolicy.
    np = netpol["spec"]
    check(subset(np["podSelector"].get("matchLabels"), pod_labels) and np["podSelector"].get("matchLabels"),
          f"{rel}: NetworkPolicy selects the exporter pods")
    check(sorted(np.get("policyTypes", [])) == ["Egress", "Ingress"], f"{rel}: NetworkPolicy both ways")
    in_ports = {(p.get("protocol", "TCP"), p["port"]) for r in np.get("ingress", []) for p in r.get("ports", [])}
    check(in_ports == {("TCP", DEFAULT_PORT)} or in_ports == {("TCP", "http-metrics")},
          f"{rel}: ingress only to {DEFAULT_PORT}")
    check(all(r.get("from") for r in np.get("ingress", [])), f"{rel}: ingress limited to named peers")
    out_ports = {(p.get("protocol", "TCP"), p["port"]) for r in np.get("egress", []) for p in r.get("ports", [])}
    for want in (("TCP", 6379), ("TCP", 26379), ("UDP", 53), ("TCP", 53)):
        check(want in out_ports, f"{rel}: egress allows {want[1]}/{want[0]}")

    # Dashboards.
    dashboards = [o for o in objs if o["kind"] == "ConfigMap" and o is not cm]
    sources = {p.name: p for p in (SRC / "dashboards").glob("*.json")}
    seen = {}
    for d in dashboards:
        check(d["metadata"]["labels"].get("grafana_dashboard") == "1",
              f"{rel}: ConfigMap {d['metadata']['name']} labelled grafana_dashboard=\"1\"")
        for k, v in d.get("data", {}).items():
            seen[k] = v
    check(sorted(seen) == sorted(sources), f"{rel}: one dashboard per dashboards/*.json ({len(seen)})")
    for k, v in seen.items():
        if k in sources:
            check(v == sources[k].read_text() and isinstance(json.loads(v), dict),
                  f"{rel}: dashboard {k} is dashboards/{k}")

    # PrometheusRule: the generated file, unchanged.
    generated = yaml.safe_load((SRC / "deploy/kubernetes/prometheusrule.yaml").read_text())
    check(rule["spec"] == generated["spec"], f"{rel}: PrometheusRule is deploy/kubernetes/prometheusrule.yaml")


def ensure_validator():
    """Installs the pinned npm packages under BUILD/k8s-validate; returns its path or None."""
    if not shutil.which("node") or not shutil.which("npm"):
        print("note: node/npm not found; schema validation skipped")
        return None
    dest = BUILD / "k8s-validate"
    dest.mkdir(exist_ok=True)
    src_dir = HERE / "k8s-validate"
    for f in ("package.json", "package-lock.json", "validate.mjs"):
        shutil.copyfile(src_dir / f, dest / f)
    stamp = hashlib.sha256((src_dir / "package-lock.json").read_bytes()).hexdigest()
    stamp_file = dest / "node_modules" / ".installed-lock"
    if not (stamp_file.exists() and stamp_file.read_text() == stamp):
        res = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                             cwd=dest, capture_output=True, text=True)
        if not check(res.returncode == 0, "npm ci kubernetes-models (pinned)"):
            print(res.stdout + res.stderr)
            return None
        stamp_file.write_text(stamp)
    return dest


def validate_schemas(validator, objs):
    with tempfile.TemporaryDirectory() as tmp:
        good = pathlib.Path(tmp, "objects.json")
        good.write_text(json.dumps(objs))
        res = subprocess.run(["node", str(validator / "validate.mjs"), str(good)],
                             capture_output=True, text=True)
        print(res.stdout, end="")
        check(res.returncode == 0, f"all {len(objs)} rendered objects match their schemas")
        # The validator must be able to fail: a Deployment with a string containerPort.
        bad = json.loads(json.dumps([o for o in objs if o["kind"] == "Deployment"][:1]))
        if bad:
            bad[0]["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "9479"
            pathlib.Path(tmp, "bad.json").write_text(json.dumps(bad))
            res = subprocess.run(["node", str(validator / "validate.mjs"), str(pathlib.Path(tmp, "bad.json"))],
                                 capture_output=True, text=True)
            check(res.returncode == 1 and "containerPort" in res.stdout,
                  "the schema check rejects a broken Deployment")


def check_secret_example():
    docs = list(yaml.safe_load_all((SRC / "deploy/kubernetes/secret.example.yaml").read_text()))
    check(len(docs) == 1 and docs[0]["kind"] == "Secret"
          and docs[0]["metadata"]["name"] == "redis-ha-exporter-auth"
          and set(docs[0]["stringData"]) == {"sentinel-password", "redis-password"},
          "secret.example.yaml defines redis-ha-exporter-auth with both keys")
    for root in ROOTS:
        kust = yaml.safe_load((root / "kustomization.yaml").read_text())
        check("secret.example.yaml" not in json.dumps(kust), f"{root.relative_to(SRC)} does not apply the example Secret")


def main():
    global SRC, BUILD, RULES_JOB, ROOTS
    SRC = pathlib.Path(sys.argv[1]).resolve()
    BUILD = pathlib.Path(sys.argv[2]).resolve()
    exporter = str(pathlib.Path(sys.argv[3]).resolve())
    version = sys.argv[4]
    RULES_JOB = json.loads((SRC / "rules/config.json").read_text())["jobs"][0]
    ROOTS = [SRC / "deploy/kubernetes", SRC / "deploy/examples/bitnami-sentinel",
             SRC / "deploy/examples/address-mapping"]

    check(sync_dashboards.run(check_only=True) == 0, "deploy/kubernetes/dashboards is in sync with dashboards/")
    check_secret_example()
    check((SRC / "deploy/kubernetes/prometheusrule.yaml").exists(),
          "deploy/kubernetes/prometheusrule.yaml exists (rules/generate.py writes it)")
    if not shutil.which("kubectl"):
        print("SKIP: kubectl not found (not a Debian package; it is on the project's machine image)")
        return 1 if failures else 77

    expects = {
        ROOTS[0]: {"namespace": "monitoring", "image": f"redis-ha-exporter:{version}", "auth": "env"},
        ROOTS[1]: {"namespace": "redis", "image": f"registry.example.com/redis-ha-exporter:{version}",
                   "auth": ("file", "redis", "redis-password")},
        ROOTS[2]: {"namespace": "monitoring", "image": f"registry.example.com/redis-ha-exporter:{version}",
                   "auth": "env"},
    }
    all_objs = []
    for root in ROOTS:
        objs = render(root)
        if objs is None:
            continue
        expects[root]["exporter"] = exporter
        check_root(root, objs, expects[root])
        all_objs += objs

    # Example specifics.
    amap = yaml.safe_load((ROOTS[2] / "config.yml").read_text()).get("address-map", {})
    check(len(amap) >= 2 and all(port_of(k) == port_of(v) for k, v in amap.items()),
          "address-mapping: announced and dialled ports agree")
    bitnami = yaml.safe_load((ROOTS[1] / "config.yml").read_text())
    check(bitnami["sentinels"] == ["redis.redis.svc.cluster.local:26379"],
          "bitnami-sentinel: seed is the chart's Service `redis`, port 26379")

    validator = ensure_validator()
    if validator is not None and all_objs:
        validate_schemas(validator, all_objs)

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
