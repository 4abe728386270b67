#!/usr/bin/env bash
# Benchmark: rekon's pod runtime against Podman's `kube play`, side by side in one run:
#   1. apply-to-Running of a 1-container pod (rekon apply + wait for status.json phase Running,
#      versus `podman kube play`, which returns once the containers are started);
#   2. the same for a pod with an init container and 2 app containers;
#   3. RSS and PSS per running pod of the runtime's own processes (rekon: the supervisor, plus
#      a pause process only with shareProcessNamespace; podman: conmon per container + the infra
#      container's catatonit), over 10 and 50 pods; and rekon's over 10 pods whose httpGet
#      readiness probe runs every second (the probe code mapped too);
#   4. idle CPU of 50 supervised sleeping pods over 20 s, in % of one core.
# Targets: rekon >= 10x faster than podman for 1 and 2, <= 2 MB per pod, < 1 % CPU idle.
# Needs root, hyperfine and Podman with localhost/busybox:latest and the busybox rootfs tar
# that the team's podman/setup.sh builds (PODMAN_SETUP, default below; run it first).
# Everything started is removed on exit, and leaks (supervisors, cgroups, mounts) are checked.
# Usage: bench/runtime.sh   (env: RUNS=20, IDLE_SECONDS=20, BUSYBOX_TAR=..., PODMAN_SETUP=...)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-20}
idle_seconds=${IDLE_SECONDS:-20}
setup=${PODMAN_SETUP:-/work/shared/bench/podman/setup.sh}
tar=${BUSYBOX_TAR:-/tmp/podman-bench/busybox-rootfs.tar}
image=localhost/busybox:latest
bench=$(pwd)/bench

[[ $(id -u) == 0 ]] || { echo "runtime.sh: run as root (rekon's Linux runtime needs it)" >&2; exit 1; }
for tool in hyperfine podman python3; do
  command -v "$tool" >/dev/null || { echo "runtime.sh: $tool missing: run $setup" >&2; exit 1; }
done
[[ -f $tar ]] && podman image exists "$image" ||
  { echo "runtime.sh: $image or $tar missing: run $setup" >&2; exit 1; }
scripts/setup >/dev/null # the release build, with the static rekon-shim
rekon=$(pwd)/target/release/rekon

work=$(mktemp -d /tmp/rekon-bench-runtime.XXXXXX)
export REKON_STATE_DIR=$work/state
mkfifo "$work/tick"
uids=$work/uids
: >"$uids"
wait_running() { "$bench/wait-running.sh" "$REKON_STATE_DIR" "$1" "$work/tick" "$uids" 120; }
podman_pods() { podman pod ls --format '{{.Name}}' | grep '^rkb-' || true; }

leaks=0
check_leaks() {
  local procs cgroups mounts pods
  procs=$(python3 "$bench/procstat.py" rekon "$REKON_STATE_DIR" | wc -l)
  # A pod's cgroups are <root>/[<controller>/]rekon/<node>/<uid>, v1 or v2.
  cgroups=$(find /sys/fs/cgroup -mindepth 3 -maxdepth 4 -type d -path '/sys/fs/cgroup/*rekon*/*/*' \
    -printf '%f\n' 2>/dev/null | grep -cFxf "$uids" || true)
  mounts=$( (grep -F -- "$work" /proc/self/mountinfo || true) | wc -l)
  pods=$(podman_pods | wc -l)
  echo "Leak check: $procs rekon supervisor processes of this run, $cgroups rekon cgroups" \
    "of its $(sort -u "$uids" | wc -l) pods, $mounts mounts under $work, $pods podman rkb-* pods left."
  local others
  others=$(find /sys/fs/cgroup -mindepth 4 -maxdepth 4 -type d -path '/sys/fs/cgroup/*/rekon*/*/*' \
    2>/dev/null | wc -l)
  echo "(rekon pod cgroups of other users of this machine right now: $others; the top-level" \
    "rekon/<node> directories are shared and may stay)"
  leaks=$((procs + cgroups + mounts + pods))
}
cleanup() {
  set +e
  "$rekon" down --yes >/dev/null 2>&1
  local p
  for p in $(podman_pods); do podman pod rm -f -t 0 "$p" >/dev/null 2>&1; done
  check_leaks
  if [[ $leaks == 0 ]]; then rm -rf "$work"; else echo "kept $work for inspection" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The team's shapes (shared bench/podman/pod1.yaml and pod-init-always.yaml) with our own names;
# restartPolicy OnFailure as the shared notes advise (podman#16343), and a short grace period
# so that teardown, which is not timed, does not wait 30 s for a PID 1 that ignores SIGTERM.
pod1() { # pod1 NAME COMMAND-JSON
  cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: $image
    command: $2
EOF
}
pod_init() {
  cat <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: $1
  labels:
    app: $1
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: init
    image: $image
    command: ["sh", "-c", "echo init-ran-at-\$(date +%s) > /data/index.html; echo init-done"]
    volumeMounts:
    - name: shared
      mountPath: /data
  containers:
  - name: httpd
    image: $image
    command: ["httpd", "-f", "-v", "-p", "127.0.0.1:8080", "-h", "/data"]
    volumeMounts:
    - name: shared
      mountPath: /data
  - name: client
    image: $image
    command: ["sleep", "3600"]
    volumeMounts:
    - name: shared
      mountPath: /data
  volumes:
  - name: shared
    emptyDir: {}
EOF
}
# Many pods: a sleeper that exits on SIGTERM, so that tearing 50 pods down takes seconds.
sleeper='["sh", "-c", "trap \"exit 0\" TERM; sleep 3600 & wait"]'
many() { # many DIR N: N pods rkb-m-NN, one file each for rekon and all in DIR.yaml for podman
  mkdir -p "$1"
  : >"$1.yaml"
  for i in $(seq -w 1 "$2"); do
    pod1 "rkb-m-$i" "$sleeper" >"$1/rkb-m-$i.yaml"
    { cat "$1/rkb-m-$i.yaml"; echo ---; } >>"$1.yaml"
  done
}
mkdir -p "$work/one" "$work/init"
pod1 rkb-one '["sleep", "3600"]' >"$work/one/pod.yaml"
pod_init rkb-init >"$work/init/pod.yaml"
many "$work/m10" 10
many "$work/m50" 50

"$rekon" image import "$image" "$tar" --cmd /bin/sh >/dev/null
ms() { # ms JSON: "min median" of hyperfine's export, in ms
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.0f %.0f" % (r["min"]*1e3, r["median"]*1e3))' "$1"
}
ratio() { python3 -c 'import sys; print("%.1f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }
time_pair() { # time_pair LABEL DIR N_RUNNING: rekon then podman, prints a table row
  local label=$1 dir=$2
  hyperfine --runs "$runs" --warmup 1 --export-json "$work/r.json" \
    --prepare "'$rekon' down --yes >/dev/null 2>&1" \
    --cleanup "'$rekon' down --yes >/dev/null 2>&1" \
    -n "rekon: $label" "'$rekon' apply --yes --no-wait -f '$dir' >/dev/null && '$bench/wait-running.sh' '$REKON_STATE_DIR' 1 '$work/tick' '$uids'" >&2
  hyperfine --runs "$runs" --warmup 1 --export-json "$work/p.json" \
    --prepare "podman kube down '$dir/pod.yaml' >/dev/null 2>&1 || true" \
    --cleanup "podman kube down '$dir/pod.yaml' >/dev/null 2>&1 || true" \
    -n "podman: $label" "podman kube play '$dir/pod.yaml' >/dev/null" >&2
  read -r rmin rmed < <(ms "$work/r.json")
  read -r pmin pmed < <(ms "$work/p.json")
  rows+=("| $label | $rmin | $rmed | $pmin | $pmed | $(ratio "$pmin" "$rmin")× | $(ratio "$pmed" "$rmed")× |")
}

rows=()
time_pair "apply → Running, 1 pod, 1 container" "$work/one"
time_pair "apply → Running, 1 pod, init + 2 containers" "$work/init"

# Memory and idle CPU: start both tools' pods, then measure both in the same window.
mem_row() { # mem_row N: RSS/PSS per pod of N pods of each tool, as table rows
  local n=$1 rp pp rrss rpss prss ppss rsup
  rp=$(python3 "$bench/procstat.py" rekon "$REKON_STATE_DIR")
  pp=$(python3 "$bench/procstat.py" podman rkb-m-)
  read -r rrss rpss < <(python3 "$bench/procstat.py" mem $(awk '{print $2}' <<<"$rp"))
  read -r prss ppss < <(python3 "$bench/procstat.py" mem $(awk '{print $2}' <<<"$pp"))
  rsup=$(python3 "$bench/procstat.py" mem $(awk '$1=="supervisor"{print $2}' <<<"$rp"))
  memrows+=("| $n | rekon | $(grep -c . <<<"$rp") | $(awk -v a="$rrss" -v n="$n" 'BEGIN{printf "%.2f", a/n/1024}') | $(awk -v a="$rpss" -v n="$n" 'BEGIN{printf "%.2f", a/n/1024}') |")
  memrows+=("| $n | podman | $(grep -c . <<<"$pp") | $(awk -v a="$prss" -v n="$n" 'BEGIN{printf "%.2f", a/n/1024}') | $(awk -v a="$ppss" -v n="$n" 'BEGIN{printf "%.2f", a/n/1024}') |")
  split+=("$n rekon pods, RSS/PSS kB per pod: supervisor $(awk -v n="$n" '{printf "%d/%d", $1/n, $2/n}' <<<"$rsup"), pause processes $(grep -c '^sandbox' <<<"$rp" || true)")
}
start_many() { # start_many DIR N
  "$rekon" apply --yes -f "$1" >/dev/null
  wait_running "$2"
  podman kube play "$1.yaml" >/dev/null
}
stop_many() {
  "$rekon" down --yes >/dev/null
  podman kube down "$1.yaml" >/dev/null 2>&1 || true
  local p
  for p in $(podman_pods); do podman pod rm -f -t 0 "$p" >/dev/null 2>&1; done
}
memrows=() split=()
start_many "$work/m10" 10
mem_row 10
stop_many "$work/m10"

# rekon only (Podman runs no readiness probes): 10 web servers probed every second, measured
# after each has been probed about 6 times.
mkdir -p "$work/probed"
for i in $(seq -w 1 10); do
  cat >"$work/probed/rkb-p-$i.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: rkb-p-$i
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: $image
    command: ["sh", "-c", "echo ok > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"]
    readinessProbe:
      httpGet: {path: /, port: 8080}
      periodSeconds: 1
      failureThreshold: 100
EOF
done
"$rekon" apply --yes -f "$work/probed" >/dev/null
wait_running 10
sleep 6
rp=$(python3 "$bench/procstat.py" rekon "$REKON_STATE_DIR")
read -r rrss rpss < <(python3 "$bench/procstat.py" mem $(awk '{print $2}' <<<"$rp"))
memrows+=("| 10, httpGet probe every 1 s | rekon | $(grep -c . <<<"$rp") | $(awk -v a="$rrss" 'BEGIN{printf "%.2f", a/10/1024}') | $(awk -v a="$rpss" 'BEGIN{printf "%.2f", a/10/1024}') |")
"$rekon" down --yes >/dev/null

start_many "$work/m50" 50
mem_row 50
sleep 2 # let both settle after start-up before the idle window
rpids=$(python3 "$bench/procstat.py" rekon "$REKON_STATE_DIR" | awk '{print $2}')
ppids=$(python3 "$bench/procstat.py" podman rkb-m- | awk '{print $2}')
read -r rt0 rn0 < <(python3 "$bench/procstat.py" cpu $rpids)
read -r pt0 pn0 < <(python3 "$bench/procstat.py" cpu $ppids)
t0=$EPOCHREALTIME
sleep "$idle_seconds"
read -r rt1 rn1 < <(python3 "$bench/procstat.py" cpu $rpids)
read -r pt1 pn1 < <(python3 "$bench/procstat.py" cpu $ppids)
t1=$EPOCHREALTIME
hz=$(getconf CLK_TCK)
pct() { awk -v t="$1" -v d="$2" 'BEGIN{printf "%.4f", 100 * t / d}'; }
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')
cpurows=(
  "| rekon | $(wc -w <<<"$rpids") | $((rt1 - rt0)) | $(pct "$((rt1 - rt0))" "$(awk -v w="$wall" -v h="$hz" 'BEGIN{print w*h}')") % | $(((rn1 - rn0) / 1000)) | $(pct "$((rn1 - rn0))" "$(awk -v w="$wall" 'BEGIN{print w*1e9}')") % |"
  "| podman | $(wc -w <<<"$ppids") | $((pt1 - pt0)) | $(pct "$((pt1 - pt0))" "$(awk -v w="$wall" -v h="$hz" 'BEGIN{print w*h}')") % | $(((pn1 - pn0) / 1000)) | $(pct "$((pn1 - pn0))" "$(awk -v w="$wall" 'BEGIN{print w*1e9}')") % |"
)
stop_many "$work/m50"

cat <<EOF

Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname) ($(nproc) vCPU, $(uname -r)), rekon $(git rev-parse --short HEAD), $(podman --version), $runs runs after 1 warm-up.

| what (ms) | rekon min | rekon median | podman min | podman median | ratio min | ratio median |
|---|---|---|---|---|---|---|
$(printf '%s\n' "${rows[@]}")

| pods | tool | processes | RSS MB per pod | PSS MB per pod |
|---|---|---|---|---|
$(printf '%s\n' "${memrows[@]}")

$(printf '%s\n' "${split[@]}")

Idle CPU over $(printf '%.1f' "$wall") s, 50 pods (utime+stime at $hz Hz, and schedstat run time):

| tool | processes | ticks | % of one core | run time µs (schedstat) | % (schedstat) |
|---|---|---|---|---|---|
$(printf '%s\n' "${cpurows[@]}")

EOF
