#!/usr/bin/env python3
"""Structural test of deploy/container/Dockerfile (no container engine runs here).

Multi-stage from Debian bookworm; nothing fetched from URLs; the build stage installs the
build packages scripts/install-deps.sh names; the runtime stage installs the project's own
DEB (whose Depends dpkg-shlibdeps computed) plus busybox for the health check, nothing
else, and no -dev package or compiler; non-root USER equal to the Kubernetes runAsUser;
EXPOSE, HEALTHCHECK and ENTRYPOINT agree with the binary's defaults and install layout;
every named Debian package exists (apt-cache). The ignore file keeps build trees out.

Usage: test_dockerfile.py SOURCE_DIR
"""
import json
import pathlib
import re
import shlex
import subprocess
import sys

failures = []


def check(cond, msg):
    print(f"{'ok' if cond else 'FAIL'}: {msg}")
    if not cond:
        failures.append(msg)
    return cond


def instructions(text):
    """Yields (KEYWORD, argument string) with continuations joined and comments dropped."""
    logical = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#") or not stripped:
            continue
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical += stripped
        word, _, rest = logical.partition(" ")
        yield word.upper(), rest.strip()
        logical = ""


def apt_packages(run_args):
    """Package names given to `apt-get install` in a RUN line (options and paths dropped)."""
    pkgs = []
    for cmd in re.split(r"&&|;", run_args):
        words = shlex.split(cmd)
        if "apt-get" in words and "install" in words:
            for w in words[words.index("install") + 1:]:
                if not w.startswith("-") and "=" not in w:
                    pkgs.append(w)
    return pkgs


def main():
    src = pathlib.Path(sys.argv[1]).resolve()
    dockerfile = src / "deploy/container/Dockerfile"
    text = dockerfile.read_text()
    ins = list(instructions(text))

    # Stages.
    stages = []
    for word, arg in ins:
        if word == "FROM":
            parts = arg.split()
            stages.append({"image": parts[0], "name": parts[2] if len(parts) > 2 else None, "ins": []})
        elif stages:
            stages[-1]["ins"].append((word, arg))
    check(len(stages) >= 2, f"multi-stage ({len(stages)} stages)")
    for s in stages:
        check(s["image"] in ("debian:bookworm", "debian:bookworm-slim"), f"FROM {s['image']} is Debian bookworm")
    build, final = stages[0], stages[-1]
    check(build["name"] is not None, f"build stage is named ({build['name']})")

    check(not any(w == "ADD" for w, _ in ins), "no ADD (nothing fetched from URLs or unpacked implicitly)")
    for w, a in ins:
        if w == "RUN":
            check(not re.search(r"\b(curl|wget)\b.*https?://", a), f"RUN downloads nothing: {a[:60]}...")

    # Build stage: the build packages the project's own install script names (tests aside).
    deps = (src / "scripts/install-deps.sh").read_text()
    m = re.search(r"build_pkgs=\(([^)]*)\)", deps, re.S)
    want_build = set(m.group(1).split()) - {"libgtest-dev", "libgmock-dev"} if m else set()
    build_pkgs = [p for w, a in build["ins"] if w == "RUN" for p in apt_packages(a)]
    missing = sorted(want_build - set(build_pkgs))
    check(want_build and not missing, f"build stage installs install-deps.sh's build packages (missing {missing})")
    check({"dpkg-dev", "file"} <= set(build_pkgs), "build stage has dpkg-dev and file for cpack's shlibdeps")
    build_runs = " ".join(a for w, a in build["ins"] if w == "RUN")
    check("-DREDIS_HA_BUILD_TESTS=OFF" in build_runs, "build stage skips the tests")
    check("cpack -G DEB" in build_runs, "build stage makes the DEB")

    # Runtime stage.
    final_runs = [a for w, a in final["ins"] if w == "RUN"]
    final_pkgs = [p for a in final_runs for p in apt_packages(a)]
    debs = [p for p in final_pkgs if p.endswith(".deb")]
    named = [p for p in final_pkgs if not p.endswith(".deb")]
    check(len(debs) == 1 and "redis-ha-exporter_" in debs[0], f"runtime installs the project's DEB ({debs})")
    check(named == ["busybox"], f"runtime installs nothing else but busybox ({named})")
    check(all("--no-install-recommends" in a for a in final_runs if "apt-get install" in a),
          "runtime apt-get install without recommends")
    check(all("rm -rf /var/lib/apt/lists" in a for a in final_runs if "apt-get update" in a),
          "runtime drops the apt lists")
    check(not any(re.search(r"-dev\b|\bg\+\+|\bgcc\b|\bcmake\b", p) for p in final_pkgs),
          "no -dev package or compiler at runtime")
    copies = [a for w, a in final["ins"] if w == "COPY"]
    check(copies and all(a.startswith(f"--from={build['name']} ") for a in copies),
          "runtime copies only from the build stage")

    users = [a for w, a in final["ins"] if w == "USER"]
    uid = users[-1].split(":")[0] if users else "root"
    check(users and uid not in ("0", "root") and uid.isdigit(), f"runtime USER is a numeric non-root uid ({uid})")
    try:
        import yaml
        dep = yaml.safe_load((src / "deploy/kubernetes/base/deployment.yaml").read_text())
        run_as = dep["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
        check(str(run_as) == uid, f"USER {uid} = Kubernetes runAsUser {run_as}")
    except ImportError:
        print("note: python3-yaml missing; USER vs runAsUser not compared")

    expose = [a for w, a in final["ins"] if w == "EXPOSE"]
    check(expose == ["9479"], f"EXPOSE 9479 ({expose})")
    hc = [a for w, a in final["ins"] if w == "HEALTHCHECK"]
    check(len(hc) == 1 and "http://127.0.0.1:9479/healthz" in hc[0], "HEALTHCHECK GETs /healthz on 9479")
    if hc:
        cmd = hc[0][hc[0].index("CMD") + 3:].strip()
        argv = json.loads(cmd) if cmd.startswith("[") else shlex.split(cmd)
        check(argv[:2] == ["busybox", "wget"] and "-T" not in argv,
              "health check uses busybox wget without -T (which crashes in bookworm's busybox)")
        check("--timeout=" in hc[0], "HEALTHCHECK has a timeout")
    entry = [a for w, a in final["ins"] if w == "ENTRYPOINT"]
    check(entry and json.loads(entry[-1]) == ["/usr/bin/redis_ha_exporter"], "ENTRYPOINT is the packaged binary")

    # Every package named exists in Debian (needs apt lists; else installed ones only).
    # One apt-cache call: it prints a stanza for each package it knows.
    pkgs = sorted(set(build_pkgs + named)) + ["bash"]
    res = subprocess.run(["apt-cache", "show", "--no-all-versions", *pkgs], capture_output=True, text=True)
    known_set = set(re.findall(r"^Package: (\S+)$", res.stdout, re.M))
    have_lists = "bash" in known_set
    for p in pkgs[:-1]:
        known = p in known_set
        if not known and not have_lists:
            print(f"note: apt lists absent; {p} not looked up")
            continue
        check(known, f"Debian package {p} exists")

    ignore = (src / "deploy/container/Dockerfile.dockerignore").read_text().split()
    for pattern in (".git", "build", "build-*"):
        check(pattern in ignore, f"Dockerfile.dockerignore excludes {pattern}")

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
