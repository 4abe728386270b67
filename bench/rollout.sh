#!/usr/bin/env bash
# Benchmark: a rolling update of a 10-replica Deployment, rekon against Podman, side by side:
#   rekon:  `rekon apply` of the changed Deployment until it has rolled out (every new pod
#           Running and Ready, every old one gone), after an untimed apply of the old one;
#   podman: `podman kube play --replace` of the changed Deployment (Podman has no rolling
#           update: --replace is its whole update cycle), after an untimed play of the old one.
# Target: rekon >= 10x faster. Same pod shape on both sides (a shell that exits on SIGTERM,
# 1 s grace period, readiness immediate), restartPolicy Always as a Deployment requires.
# Needs root, hyperfine and Podman with localhost/busybox:latest (run PODMAN_SETUP first).
# Usage: bench/rollout.sh   (env: RUNS=10, BUSYBOX_TAR=..., PODMAN_SETUP=...)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10}
setup=${PODMAN_SETUP:-/work/shared/bench/podman/setup.sh}
tar=${BUSYBOX_TAR:-/tmp/podman-bench/busybox-rootfs.tar}
image=localhost/busybox:latest

[[ $(id -u) == 0 ]] || { echo "rollout.sh: run as root (rekon's Linux runtime needs it)" >&2; exit 1; }
for tool in hyperfine podman python3; do
  command -v "$tool" >/dev/null || { echo "rollout.sh: $tool missing: run $setup" >&2; exit 1; }
done
[[ -f $tar ]] && podman image exists "$image" ||
  { echo "rollout.sh: $image or $tar missing: run $setup" >&2; exit 1; }
scripts/setup >/dev/null
rekon=$(pwd)/target/release/rekon
work=$(mktemp -d /tmp/rekon-bench-rollout.XXXXXX)
export REKON_STATE_DIR=$work/state

cleanup() {
  set +e
  "$rekon" down --yes >/dev/null 2>&1
  podman kube down "$work/podman-v1.yaml" >/dev/null 2>&1
  podman pod rm -f -t 0 rkb-roll-pod-0 >/dev/null 2>&1
  local p
  for p in $(podman pod ls --format '{{.Name}}' | grep '^rkb-roll' || true); do podman pod rm -f -t 0 "$p" >/dev/null 2>&1; done
  local left
  left=$(pgrep -fc "rekon-shim --pod-dir $REKON_STATE_DIR" || true)
  echo "Leak check: $left rekon supervisors of this run, $(podman pod ls --format '{{.Name}}' | grep -c '^rkb-roll' || true) podman pods left."
  [[ $left == 0 ]] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

deploy() { # deploy VERSION: the Deployment, differing only in an env value
  cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rkb-roll
spec:
  replicas: 10
  selector:
    matchLabels: {app: rkb-roll}
  template:
    metadata:
      labels: {app: rkb-roll}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: $image
        command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
        env:
        - {name: VERSION, value: "$1"}
YAML
}
mkdir -p "$work/v1" "$work/v2"
deploy 1 >"$work/v1/d.yaml"
deploy 2 >"$work/v2/d.yaml"
cp "$work/v1/d.yaml" "$work/podman-v1.yaml"
cp "$work/v2/d.yaml" "$work/podman-v2.yaml"
"$rekon" image import "$image" "$tar" --cmd /bin/sh >/dev/null

hyperfine --runs "$runs" --export-json "$work/r.json" \
  --prepare "'$rekon' apply --yes -f '$work/v1' >/dev/null 2>&1" \
  -n "rekon: rolling update, 10 replicas" "'$rekon' apply --yes -f '$work/v2' >/dev/null 2>&1" >&2
hyperfine --runs "$runs" --export-json "$work/p.json" \
  --prepare "podman kube play --replace '$work/podman-v1.yaml' >/dev/null 2>&1" \
  -n "podman: kube play --replace, 10 replicas" "podman kube play --replace '$work/podman-v2.yaml' >/dev/null" >&2

ms() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.0f %.0f" % (r["min"]*1e3, r["median"]*1e3))' "$1"; }
read -r rmin rmed < <(ms "$work/r.json")
read -r pmin pmed < <(ms "$work/p.json")
ratio() { python3 -c 'import sys; print("%.1f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }
cat <<TABLE

Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname) ($(nproc) vCPU), rekon $(git rev-parse --short HEAD), $(podman --version), $runs runs.

| what (ms) | rekon min | rekon median | podman min | podman median | ratio min | ratio median |
|---|---|---|---|---|---|---|
| rolling update, 10 replicas | $rmin | $rmed | $pmin | $pmed | $(ratio "$pmin" "$rmin")× | $(ratio "$pmed" "$rmed")× |
TABLE
