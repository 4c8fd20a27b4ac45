// Validates Kubernetes objects against the OpenAPI schemas shipped by kubernetes-models
// (core and apps APIs) and @kubernetes-models/prometheus-operator (ServiceMonitor,
// PrometheusRule). Input: a JSON file holding an array of objects. Prints one line per
// object; exits 1 when any object is invalid or of a kind without a schema here.
// Usage: node validate.mjs OBJECTS.json   (run with node_modules installed beside it,
// or NODE_PATH-free: the test copies this file next to its own node_modules).
import { readFileSync } from "node:fs";

const GROUP_PACKAGES = {
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
};

function modulePath(apiVersion, kind) {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const pkg = GROUP_PACKAGES[group] ?? "kubernetes-models";
  return `${pkg}/${apiVersion}/${kind}`;
}

const objects = JSON.parse(readFileSync(process.argv[2], "utf8"));
let failures = 0;
for (const obj of objects) {
  const id = `${obj.kind}/${obj.metadata?.name} (${obj.apiVersion})`;
  let Model;
  try {
    Model = (await import(modulePath(obj.apiVersion, obj.kind)))[obj.kind];
  } catch (e) {
    console.log(`FAIL: ${id}: no schema available (${e.code ?? e.message})`);
    failures++;
    continue;
  }
  try {
    new Model(obj).validate();
    console.log(`ok: ${id} matches its schema`);
  } catch (e) {
    console.log(`FAIL: ${id}: ${e.message}`);
    failures++;
  }
}
process.exit(failures ? 1 : 0);
