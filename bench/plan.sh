#!/usr/bin/env bash
# Benchmark: `rekon plan` over N generated objects (1,000 … 10,000), first against an empty
# state (everything to create) and then against an applied state (no changes), to check the
# targets: under 200 ms at 1,000 objects, and linear growth up to 10,000.
# Needs hyperfine (apt-get install hyperfine). Prints a table; nothing is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { apt-get install -y -qq hyperfine >/dev/null; }
cargo build --release --quiet
rekon=$(pwd)/target/release/rekon
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

gen() { # gen N DIR: a mix of ConfigMaps, Secrets, Services, Deployments and Pods
  local n=$1 dir=$2
  mkdir -p "$dir"
  python3 - "$n" "$dir" <<'PY'
import sys
n, d = int(sys.argv[1]), sys.argv[2]
kinds = ["cm", "secret", "svc", "deploy", "pod"]
for i in range(n):
    k = kinds[i % len(kinds)]
    if k == "cm":
        doc = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  key: value-{i}\n  other: |\n    line one\n    line two\n"
    elif k == "secret":
        doc = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s-{i}\nstringData:\n  password: pw-{i}\n"
    elif k == "svc":
        doc = f"apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\nspec:\n  selector:\n    app: a{i}\n  ports:\n  - port: 80\n    targetPort: 8080\n"
    elif k == "deploy":
        doc = (f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d-{i}\nspec:\n  replicas: 3\n"
               f"  selector:\n    matchLabels:\n      app: d{i}\n  template:\n    metadata:\n      labels:\n        app: d{i}\n"
               f"    spec:\n      containers:\n      - name: c\n        image: busybox:1.36\n        resources:\n"
               f"          requests: {{cpu: 100m, memory: 64Mi}}\n          limits: {{cpu: 200m, memory: 128Mi}}\n")
    else:
        doc = (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p-{i}\n  labels:\n    app: p{i}\nspec:\n  containers:\n"
               f"  - name: c\n    image: busybox:1.36\n    command: [sleep, '3600']\n")
    with open(f"{d}/obj-{i:05d}.yaml", "w") as f:
        f.write(doc)
# One node big enough for every pod (the host node takes 110), so that apply converges.
with open(f"{d}/node.yaml", "w") as f:
    f.write("apiVersion: v1\nkind: Node\nmetadata:\n  name: bench\nstatus:\n"
            "  capacity: {cpu: '1000', memory: 4Ti, pods: '100000'}\n")
PY
}

printf '%-8s %-22s %-22s %s\n' objects "plan, empty state (ms)" "plan, no changes (ms)" "ms per 1k (no changes)"
for n in 1000 2000 5000 10000; do
  dir="$work/m$n"; state="$work/s$n"
  gen "$n" "$dir"
  export REKON_STATE_DIR="$state" REKON_RUNTIME="fake:$work/fake$n.json"
  hyperfine -N --warmup 1 --runs 5 --export-json "$work/a.json" "$rekon plan -f $dir" >/dev/null
  "$rekon" apply --yes -f "$dir" >/dev/null
  hyperfine -N --warmup 1 --runs 5 --export-json "$work/b.json" "$rekon plan -f $dir" >/dev/null
  a=$(python3 -c "import json;print(round(json.load(open('$work/a.json'))['results'][0]['median']*1000,1))")
  b=$(python3 -c "import json;print(round(json.load(open('$work/b.json'))['results'][0]['median']*1000,1))")
  printf '%-8s %-22s %-22s %s\n' "$n" "$a" "$b" "$(python3 -c "print(round($b/$n*1000,1))")"
done
