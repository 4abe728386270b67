#!/usr/bin/env bash
# Benchmark: what config data costs a pod, and rekon against Podman's `kube play`, in one run:
#   1. apply → Running of a 1-container pod with no config data (automountServiceAccountToken
#      false, no volumes), applied with the same ConfigMap and Secret objects as 2, so that
#      the difference is what the pod does with them;
#   2. the same pod with a configMap volume, a secret volume and the default token volume
#      (kube-api-access-*: a JWT signed by the supervisor, the CA bundle, the namespace);
#   3. `podman kube play` of the same pod with its ConfigMap volume (ConfigMap in the same
#      file; Podman's secret volumes need `podman secret`, and it has no token volume).
# Targets (issue 10): 2 is at most 5 ms slower than 1 (median), and >= 10x faster than 3.
# Needs root, hyperfine and Podman with localhost/busybox:latest and the busybox rootfs tar
# that the team's podman/setup.sh builds (PODMAN_SETUP, default below; run it first).
# Usage: bench/config.sh   (env: RUNS=20, BUSYBOX_TAR=..., PODMAN_SETUP=...)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-20}
setup=${PODMAN_SETUP:-/work/shared/bench/podman/setup.sh}
tar=${BUSYBOX_TAR:-/tmp/podman-bench/busybox-rootfs.tar}
image=localhost/busybox:latest
bench=$(pwd)/bench

[[ $(id -u) == 0 ]] || { echo "config.sh: run as root (rekon's Linux runtime needs it)" >&2; exit 1; }
for tool in hyperfine podman python3; do
  command -v "$tool" >/dev/null || { echo "config.sh: $tool missing: run $setup" >&2; exit 1; }
done
[[ -f $tar ]] && podman image exists "$image" ||
  { echo "config.sh: $image or $tar missing: run $setup" >&2; exit 1; }
scripts/setup >/dev/null # the release build, with the static rekon-shim
rekon=$(pwd)/target/release/rekon

work=$(mktemp -d /tmp/rekon-bench-config.XXXXXX)
export REKON_STATE_DIR=$work/state
mkfifo "$work/tick"
: >"$work/uids"
cleanup() {
  set +e
  "$rekon" down --yes >/dev/null 2>&1
  podman kube down "$work/podman/pod.yaml" >/dev/null 2>&1
  local left
  left=$( (grep -F -- "$work" /proc/self/mountinfo || true) | wc -l)
  echo "Leak check: $left mounts under $work, $(python3 "$bench/procstat.py" rekon "$REKON_STATE_DIR" | wc -l) supervisors."
  [[ $left == 0 ]] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

header='apiVersion: v1
kind: ConfigMap
metadata:
  name: rkb-cfg
data:
  greeting: hello
  level: "3"
---'
secret='apiVersion: v1
kind: Secret
metadata:
  name: rkb-sec
stringData:
  password: s3cret
---'
pod() { # pod NAME AUTOMOUNT WITH-VOLUMES(secret|cm|none)
  cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 1
  automountServiceAccountToken: $2
  containers:
  - name: main
    image: $image
    command: ["sleep", "3600"]
EOF
  case $3 in
    none) ;;
    cm | secret)
      cat <<EOF
    volumeMounts:
    - {name: cfg, mountPath: /etc/cfg}
EOF
      if [[ $3 == secret ]]; then echo "    - {name: sec, mountPath: /etc/sec}"; fi
      cat <<EOF
  volumes:
  - name: cfg
    configMap: {name: rkb-cfg}
EOF
      if [[ $3 == secret ]]; then printf '  - name: sec\n    secret: {secretName: rkb-sec}\n'; fi
      ;;
  esac
}
mkdir -p "$work/plain" "$work/config" "$work/podman"
{ echo "$header"; echo "$secret"; pod rkb-config false none; } >"$work/plain/pod.yaml"
{ echo "$header"; echo "$secret"; pod rkb-config true secret; } >"$work/config/pod.yaml"
{ echo "$header"; pod rkb-config false cm; } >"$work/podman/pod.yaml"

"$rekon" image import "$image" "$tar" --cmd /bin/sh >/dev/null
ms() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.1f %.1f" % (r["min"]*1e3, r["median"]*1e3))' "$1"; }
ratio() { python3 -c 'import sys; print("%.1f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }
time_rekon() { # time_rekon DIR OUT
  hyperfine --runs "$runs" --warmup 1 --export-json "$2" \
    --prepare "'$rekon' down --yes >/dev/null 2>&1" \
    --cleanup "'$rekon' down --yes >/dev/null 2>&1" \
    -n "rekon: $(basename "$1")" "'$rekon' apply --yes --no-wait -f '$1' >/dev/null && '$bench/wait-running.sh' '$REKON_STATE_DIR' 1 '$work/tick' '$work/uids'" >&2
}
time_rekon "$work/plain" "$work/plain.json"
time_rekon "$work/config" "$work/config.json"
hyperfine --runs "$runs" --warmup 1 --export-json "$work/podman.json" \
  --prepare "podman kube down '$work/podman/pod.yaml' >/dev/null 2>&1 || true" \
  --cleanup "podman kube down '$work/podman/pod.yaml' >/dev/null 2>&1 || true" \
  -n "podman: configMap volume" "podman kube play '$work/podman/pod.yaml' >/dev/null" >&2
read -r amin amed < <(ms "$work/plain.json")
read -r cmin cmed < <(ms "$work/config.json")
read -r pmin pmed < <(ms "$work/podman.json")
cat <<EOF

Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname) ($(nproc) vCPU, $(uname -r)), rekon $(git rev-parse --short HEAD), $(podman --version), $runs runs after 1 warm-up.

| apply → Running, 1 pod (ms) | min | median |
|---|---|---|
| rekon, no config data, no token (the same ConfigMap and Secret applied) | $amin | $amed |
| rekon, configMap + secret volumes + default token volume | $cmin | $cmed |
| podman kube play, configMap volume | $pmin | $pmed |

Config data costs rekon $(python3 -c "print('%.1f' % ($cmed - $amed))") ms (median; target <= 5 ms); podman / rekon with config: $(ratio "$pmin" "$cmin")× (min), $(ratio "$pmed" "$cmed")× (median; target >= 10×).
EOF
