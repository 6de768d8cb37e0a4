// Validates Prometheus Operator objects (monitoring.coreos.com) against the
// operator's API schemas, as packaged by @kubernetes-models/prometheus-operator
// (generated from the operator's Go API types: types, required fields, enums,
// patterns such as durations).
//
// Those validators do not reject unknown fields (the API server would prune
// them silently: a misspelt `scrapeTimout` would just vanish). So each object
// is validated through a Proxy that records which fields the validator reads:
// a validator reads every field its schema knows, and iterates maps with
// free-form keys (labels), so a field it never read is unknown to the schema
// and reported as such.
//
//   node validate-monitoring.mjs MODULES_DIR < objects.json
//
// MODULES_DIR: where scripts/install-deps installed this package's
// node_modules (`${XDG_CACHE_HOME:-~/.cache}/vitals-tools/chart-node`).
// objects.json: a JSON array of Kubernetes objects; those of other API groups
// are skipped. Prints one line per object, exits 1 when any is invalid.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const modules = process.argv[2];
if (!modules) {
  console.error("usage: node validate-monitoring.mjs MODULES_DIR < objects.json");
  process.exit(64);
}
const pkg = join(modules, "node_modules/@kubernetes-models/prometheus-operator");
const versions = {};
for (const version of ["v1", "v1alpha1", "v1beta1"]) {
  versions[`monitoring.coreos.com/${version}`] = await import(
    pathToFileURL(join(pkg, "monitoring.coreos.com", version, "index.js")).href
  );
}

/** `value` wrapped so that every field read is recorded in `read` by its path. */
function tracked(value, path, read) {
  if (value === null || typeof value !== "object") return value;
  const children = new Map();
  return new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key !== "string" || !Object.hasOwn(target, key)) {
        return Reflect.get(target, key, receiver);
      }
      const childPath = `${path}/${key}`;
      read.add(childPath);
      if (!children.has(key)) children.set(key, tracked(target[key], childPath, read));
      return children.get(key);
    },
  });
}

/** Paths of the fields of `value` that are not in `read`. */
function unread(value, path, read, out) {
  if (value === null || typeof value !== "object") return out;
  for (const key of Object.keys(value)) {
    const childPath = `${path}/${key}`;
    if (!read.has(childPath)) out.push(childPath);
    else unread(value[key], childPath, read, out);
  }
  return out;
}

const objects = JSON.parse(readFileSync(0, "utf8"));
let failed = 0;
let checked = 0;
for (const obj of objects) {
  if (!obj || typeof obj.apiVersion !== "string" || !obj.apiVersion.startsWith("monitoring.coreos.com/")) {
    continue;
  }
  checked++;
  const what = `${obj.apiVersion} ${obj.kind} ${obj.metadata?.name ?? "(no name)"}`;
  const Model = versions[obj.apiVersion]?.[obj.kind];
  if (typeof Model !== "function" || typeof Model.prototype.validate !== "function") {
    console.log(`INVALID ${what}: no such kind in the Prometheus Operator's API`);
    failed++;
    continue;
  }
  const problems = [];
  const read = new Set();
  try {
    Model.prototype.validate.call(tracked(obj, "", read));
  } catch (e) {
    problems.push(e.message);
  }
  // apiVersion and kind are checked against the model's own constants.
  read.add("/apiVersion");
  read.add("/kind");
  for (const path of unread(obj, "", read, [])) {
    problems.push(`${path}: unknown field`);
  }
  if (problems.length) {
    failed++;
    console.log(`INVALID ${what}:\n  ${problems.join("\n  ")}`);
  } else {
    console.log(`valid ${what}`);
  }
}
console.log(`${checked} monitoring.coreos.com objects, ${failed} invalid`);
process.exit(failed ? 1 : 0);
