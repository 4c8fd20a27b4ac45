#!/usr/bin/env python3
"""docs/configuration.md: its generated table, and every flag of --help documented.

The table between the BEGIN/END GENERATED markers is `redis_ha_exporter --config-reference`.

    configuration_doc.py --write EXPORTER   # regenerate the table in place
    configuration_doc.py EXPORTER           # the test: fail when the table is stale, when a
                                            # --help flag is missing from the doc, or when
                                            # the YAML example does not load
"""
import pathlib
import re
import subprocess
import sys
import tempfile

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
BEGIN = "<!-- BEGIN GENERATED: redis_ha_exporter --config-reference -->"
END = "<!-- END GENERATED -->"


def run(exporter, *args):
    return subprocess.run([exporter, *args], capture_output=True, text=True, check=True).stdout


def regenerate(doc, table):
    start, end = doc.index(BEGIN) + len(BEGIN), doc.index(END)
    return doc[:start] + "\n" + table.rstrip("\n") + "\n" + doc[end:]


def main():
    args = sys.argv[1:]
    write = args[:1] == ["--write"]
    exporter = args[-1]
    doc = DOC.read_text()
    if doc.count(BEGIN) != 1 or doc.count(END) != 1 or doc.index(BEGIN) > doc.index(END):
        print(f"FAIL: {DOC} needs exactly one {BEGIN} ... {END} block")
        return 1
    table = run(exporter, "--config-reference")
    want = regenerate(doc, table)
    if write:
        if want != doc:
            DOC.write_text(want)
            print(f"updated {DOC}")
        return 0

    failures = 0

    def check(cond, msg):
        nonlocal failures
        print(f"{'ok' if cond else 'FAIL'}: {msg}")
        failures += 0 if cond else 1

    check(want == doc, "docs/configuration.md table = --config-reference "
          "(else: python3 tests/packaging/configuration_doc.py --write build/redis_ha_exporter)")
    help_text = run(exporter, "--help")
    flags = sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z0-9.-]*[a-z0-9]", help_text)))
    check(len(flags) >= 10, f"--help lists {len(flags)} flags")
    for flag in flags:
        check(re.search(re.escape(flag) + r"(?![a-z0-9.-])", doc) is not None,
              f"{flag} is documented in docs/configuration.md")
    for var in re.findall(r"\bREDIS_HA_[A-Z_]+\b", help_text):
        check(var in doc, f"${var} is documented")

    # The big YAML example is a valid configuration: the exporter keeps running with it
    # (seeds overridden to loopback, password files pointed at a temporary file, the
    # variables it names set).
    m = re.search(r"## The file\n.*?```yaml\n(.*?)```", doc, re.S)
    check(m is not None, "the YAML example is there")
    if m:
        with tempfile.TemporaryDirectory() as tmp:
            pw = pathlib.Path(tmp, "pw")
            pw.write_text("secret\n")
            text = re.sub(r"password-file: \S+", f"password-file: {pw}", m.group(1))
            cfg = pathlib.Path(tmp, "config.yml")
            cfg.write_text(text)
            env = {"CACHE_SENTINEL_PASSWORD": "x", "PATH": "/usr/bin:/bin"}
            proc = subprocess.Popen([exporter, f"--config={cfg}", "--sentinel=127.0.0.1:1",
                                     "--web.listen-address=127.0.0.1:0"], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                out, _ = proc.communicate(timeout=1.0)
                check(False, f"the exporter rejects the YAML example (exit {proc.returncode}): {out.strip()}")
            except subprocess.TimeoutExpired:
                proc.terminate()
                proc.communicate()
                check(True, "the exporter accepts the YAML example")

    print(f"{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
