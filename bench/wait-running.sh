#!/usr/bin/env bash
# Waits until at least N pods under STATE_DIR/pods/ report `"phase": "Running"` in their
# status.json (the file each supervisor writes atomically). Bash builtins only, so the poll
# loop forks nothing: it sleeps 1 ms between rounds by timing out a read on TICK_FIFO, a
# FIFO that nobody writes. Appends the pod directories' names (the uids) to UID_LOG.
# Usage: wait-running.sh STATE_DIR N TICK_FIFO [UID_LOG] [TIMEOUT_SECONDS]
set -u
state=$1 want=$2 fifo=$3 log=${4:-} timeout=${5:-60}
exec 3<>"$fifo"
shopt -s nullglob
start=$EPOCHSECONDS
while :; do
  n=0
  for f in "$state"/pods/*/status.json; do
    s=
    IFS= read -r -d '' s 2>/dev/null <"$f"
    case $s in
      *'"phase": "Running"'*) n=$((n + 1)) ;;
      *'"phase": "Failed"'* | *'"phase": "Succeeded"'*)
        echo "wait-running: ${f%/status.json} ended before Running" >&2
        exit 1
        ;;
    esac
  done
  ((n >= want)) && break
  if ((EPOCHSECONDS - start > timeout)); then
    echo "wait-running: $n of $want pods Running after ${timeout}s" >&2
    exit 1
  fi
  read -r -t 0.001 -u 3 _ || true
done
if [[ -n $log ]]; then
  for d in "$state"/pods/*/; do
    d=${d%/}
    printf '%s\n' "${d##*/}" >>"$log"
  done
fi
