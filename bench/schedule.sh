#!/usr/bin/env bash
# Benchmark: the scheduler inside `rekon plan -f`: 100 Node manifests + 1,000 bare Pods with
# requests, against the same 1,000 Pods with no Node (one node, the host) and against the 100
# Nodes alone; the difference is the scheduler's share (target: under 100 ms).
# Needs hyperfine (apt-get install hyperfine). Prints a Markdown table; nothing is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release --quiet
rekon=$(pwd)/target/release/rekon
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work" <<'PY'
import os, sys
w = sys.argv[1]
for d in ("nodes", "pods"):
    os.makedirs(f"{w}/{d}")
for i in range(100):
    disk = "ssd" if i % 10 == 0 else "hdd"
    with open(f"{w}/nodes/node-{i:03d}.yaml", "w") as f:
        f.write(f"apiVersion: v1\nkind: Node\nmetadata:\n  name: node-{i:03d}\n  labels:\n    disktype: {disk}\n"
                f"status:\n  capacity:\n    cpu: '8'\n    memory: 16Gi\n    pods: '110'\n")
for i in range(1000):
    cpu, mem = (100 + 50 * (i % 5), 64 * (1 + i % 4))
    sel = "  nodeSelector:\n    disktype: ssd\n" if i % 20 == 0 else ""
    with open(f"{w}/pods/pod-{i:04d}.yaml", "w") as f:
        f.write(f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-{i:04d}\nspec:\n{sel}  containers:\n  - name: c\n"
                f"    image: busybox:1.36\n    resources:\n      requests: {{cpu: {cpu}m, memory: {mem}Mi}}\n")
PY

export REKON_STATE_DIR="$work/state" REKON_RUNTIME="fake:$work/fake.json"
hyperfine -N --warmup 2 --runs 10 --export-json "$work/r.json" \
  -n "1,000 pods + 100 nodes" "$rekon plan -f $work/pods -f $work/nodes" \
  -n "1,000 pods, no Node (host)" "$rekon plan -f $work/pods" \
  -n "100 nodes, no pod" "$rekon plan -f $work/nodes" >/dev/null
"$rekon" plan -f "$work/pods" -f "$work/nodes" -o json |
  python3 -c "import json,sys; p=json.load(sys.stdin)['placements']; print(f'placed {sum(1 for x in p if x[\"node\"])} of {len(p)} pods', file=sys.stderr)"

python3 - "$work/r.json" <<'PY'
import json, sys
rs = json.load(open(sys.argv[1]))["results"]
ms = {r["command"]: r["median"] * 1000 for r in rs}
print("| plan -f | median (ms) | min (ms) |")
print("|---|---:|---:|")
for r in rs:
    print(f"| {r['command']} | {r['median']*1000:.1f} | {r['min']*1000:.1f} |")
both, pods, nodes = (ms["1,000 pods + 100 nodes"], ms["1,000 pods, no Node (host)"], ms["100 nodes, no pod"])
print(f"\nScheduler's share: (1,000 pods + 100 nodes) - (1,000 pods on the host) = {both - pods:.1f} ms, "
      f"an upper bound that also counts reading and diffing the 100 Node objects (target < 100 ms)")
PY
