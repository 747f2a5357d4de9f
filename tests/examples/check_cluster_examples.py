#!/usr/bin/env python3
# Owns: the check of the cluster deployment examples (issue #14 item 9): the Kubernetes manifest
# parses as YAML, holds Redis, the origins as a StatefulSet and the edges as a Deployment, its
# Services select existing pods, and the environment of each Estuary container (ESTUARY_* overrides,
# Kubernetes $(VAR) references resolved with stand-in values) passes `estuary --check-config`; every
# examples/cluster/*.conf passes it too, and the systemd unit starts the server with a config.
# Must not know: the server's internals (it only runs the binary).
# usage: check_cluster_examples.py ESTUARY_BINARY SOURCE_ROOT
import glob
import os
import re
import subprocess
import sys

import yaml

FIELD_STANDINS = {"metadata.name": "estuary-pod-0", "status.podIP": "10.0.0.7"}
SECRET_STANDIN = "0123456789abcdef0123456789abcdef"
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def check_config(binary, config, env_overrides, what):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESTUARY_")}
    env.update(env_overrides)
    r = subprocess.run([binary, "--check-config", "--config", config], env=env, capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0 or "configuration OK" not in r.stdout + r.stderr:
        fail(f"{what}: estuary --check-config refused it: {(r.stdout + r.stderr).strip().splitlines()[-1:]}")
    else:
        print(f"ok: {what} passes --check-config")


def container_env(container, what):
    """The container's environment as the kubelet would give it, with stand-ins for downward API and
    secret values; $(VAR) expands from the variables defined before it."""
    env = {}
    for item in container.get("env", []):
        name = item["name"]
        if "value" in item:
            value = str(item["value"])
        elif "fieldRef" in item.get("valueFrom", {}):
            path = item["valueFrom"]["fieldRef"]["fieldPath"]
            if path not in FIELD_STANDINS:
                fail(f"{what}: env {name}: fieldRef {path} has no stand-in in this check")
            value = FIELD_STANDINS.get(path, "x")
        elif "secretKeyRef" in item.get("valueFrom", {}):
            value = SECRET_STANDIN
        else:
            fail(f"{what}: env {name} has neither value nor a known valueFrom")
            continue
        env[name] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), value)
        if "$(" in env[name]:
            fail(f"{what}: env {name} refers to a variable not defined before it: {value}")
    return env


def main():
    binary, root = sys.argv[1], sys.argv[2]
    manifest = os.path.join(root, "examples", "kubernetes", "estuary-cluster.yaml")
    with open(manifest) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    workloads = {}
    for d in docs:
        for key in ("apiVersion", "kind", "metadata"):
            if key not in d:
                fail(f"a document of the manifest has no {key}: {d}")
        workloads.setdefault(d.get("kind"), []).append(d)
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in docs if "metadata" in d}

    origins = by_name.get(("StatefulSet", "estuary-origin"))
    edges = by_name.get(("Deployment", "estuary-edge"))
    if not origins:
        fail("no StatefulSet estuary-origin (the origins)")
    if not edges:
        fail("no Deployment estuary-edge (the edges)")
    redis = [d for d in docs if d.get("kind") in ("Deployment", "StatefulSet") and any(
        c.get("image", "").startswith("redis") for c in d["spec"]["template"]["spec"]["containers"])]
    if not redis:
        fail("no Redis workload (image redis*)")

    pod_labels = [d["spec"]["template"]["metadata"].get("labels", {}) for d in docs
                  if d.get("kind") in ("Deployment", "StatefulSet")]
    for d in docs:
        if d.get("kind") != "Service":
            continue
        sel = d["spec"].get("selector", {})
        if not any(all(labels.get(k) == v for k, v in sel.items()) for labels in pod_labels):
            fail(f"Service {d['metadata']['name']} selects no pod: {sel}")
    for workload, mode in ((origins, "origin"), (edges, "edge")):
        if not workload:
            continue
        name = workload["metadata"]["name"]
        if workload["spec"]["selector"]["matchLabels"].items() - workload["spec"]["template"]["metadata"]["labels"].items():
            fail(f"{name}: selector does not match its pod labels")
        for c in workload["spec"]["template"]["spec"]["containers"]:
            env = container_env(c, name)
            if env.get("ESTUARY_CLUSTER_MODE") != mode:
                fail(f"{name}: ESTUARY_CLUSTER_MODE is {env.get('ESTUARY_CLUSTER_MODE')!r}, not {mode}")
            ports = {p["containerPort"] for p in c.get("ports", [])}
            for probe in ("readinessProbe", "livenessProbe"):
                port = c.get(probe, {}).get("tcpSocket", {}).get("port")
                if port is not None and port not in ports:
                    fail(f"{name}: {probe} port {port} is not a container port")
            estuary_env = {k: v for k, v in env.items() if k.startswith("ESTUARY_")}
            check_config(binary, os.path.join(root, "conf", "estuary.conf"), estuary_env, f"{name} environment")

    confs = sorted(glob.glob(os.path.join(root, "examples", "cluster", "*.conf")))
    if len(confs) < 4:
        fail(f"examples/cluster holds {len(confs)} configs, expected an origin pair and two edges")
    for conf in confs:
        check_config(binary, conf, {}, os.path.relpath(conf, root))
    unit = os.path.join(root, "examples", "cluster", "estuary.service")
    with open(unit) as f:
        text = f.read()
    if not re.search(r"^ExecStart=\S*estuary\b.*--config", text, re.M):
        fail("examples/cluster/estuary.service: no ExecStart=… estuary --config …")

    if failures:
        print(f"{len(failures)} problem(s)")
        return 1
    print("cluster examples: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
