#!/usr/bin/env python3
"""Process accounting for bench/runtime.sh, read from /proc.

  procstat.py rekon STATE_DIR          pids of rekon's supervisors and pause processes of STATE_DIR
                                       (`ROLE PID`, role supervisor|sandbox)
  procstat.py podman NAME_PREFIX       pids of conmon (per container) and the infra process
                                       (catatonit) of running podman pods named NAME_PREFIX*
  procstat.py mem PID...               `RSS_KB PSS_KB` summed over PIDs (smaps_rollup)
  procstat.py cpu PID...               `TICKS NS` summed: utime+stime from /proc/PID/stat
                                       (clock ticks) and the run time from /proc/PID/schedstat
"""
import json
import os
import subprocess
import sys


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def ppid(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def rekon(state):
    prefix = os.path.join(os.path.realpath(state), "pods").encode() + b"/"
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        args = cmdline(p)
        supervisor = b"__supervise" in args or (args and args[0].endswith(b"rekon-shim"))
        if supervisor and any(a.startswith(prefix) for a in args):
            pids.append(int(p))
    mine = set(pids)
    for p in sorted(pids):
        # A pause process (shareProcessNamespace) is a clone(2) of its supervisor: same
        # command line, parent in the set.
        try:
            role = "sandbox" if ppid(p) in mine else "supervisor"
        except OSError:
            continue
        print(role, p)


def podman(prefix):
    out = subprocess.run(
        ["podman", "ps", "--pod", "--no-trunc", "--format", "{{.ID}} {{.PodName}}"],
        check=True, capture_output=True, text=True).stdout
    ids = [line.split()[0] for line in out.splitlines()
           if len(line.split()) == 2 and line.split()[1].startswith(prefix)]
    if not ids:
        return
    info = json.loads(subprocess.run(["podman", "inspect", *ids], check=True,
                                     capture_output=True, text=True).stdout)
    for c in info:
        print("conmon", c["State"]["ConmonPid"])
        if c.get("IsInfra"):
            print("infra", c["State"]["Pid"])


def mem(pids):
    rss = pss = 0
    for p in pids:
        with open(f"/proc/{p}/smaps_rollup") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k == "Rss":
                    rss += int(v.split()[0])
                elif k == "Pss":
                    pss += int(v.split()[0])
    print(rss, pss)


def cpu(pids):
    ticks = ns = 0
    for p in pids:
        with open(f"/proc/{p}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        with open(f"/proc/{p}/schedstat") as f:
            ns += int(f.read().split()[0])
    print(ticks, ns)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "rekon":
        rekon(args[0])
    elif cmd == "podman":
        podman(args[0])
    elif cmd == "mem":
        mem(args)
    elif cmd == "cpu":
        cpu(args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
