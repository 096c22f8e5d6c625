#!/usr/bin/env python3
"""Side-by-side figures for runsvdir: ours vs Debian's runit.

    bench/runsvdir.py OURS_RUNSVDIR OURS_RUNSV [N_PICKUP] [N_SERVICES]

(Superseded by bench/run, which runs these cases and the others in one
run; kept for measuring runsvdir alone.)

Each runsvdir is a copy placed beside the runsv it should start (ours next
to ours, /usr/bin/runsvdir next to /usr/bin/runsv as installed). Measures:

- pickup latency: rename of a prepared service directory into the scan
  directory until its supervise/stat reads "run" (median, min, max over
  N_PICKUP tries, at random phases of runit's 5 s poll);
- idle wake-ups: voluntary + nonvoluntary context switches of runsvdir over
  60 s with 10 services running and nothing changing;
- start-up: N_SERVICES services present when runsvdir starts, until every
  supervise/stat reads "run".

Every process is started in its own session and killed with its process
groups at the end of each measurement.
"""
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time


def stat_is_run(svc):
    try:
        with open(os.path.join(svc, "supervise/stat")) as f:
            return f.read() == "run\n"
    except OSError:
        return False


def make_service(path):
    os.makedirs(path)
    with open(os.path.join(path, "run"), "w") as f:
        f.write("#!/bin/sh\nexec sleep 100000\n")
    os.chmod(os.path.join(path, "run"), 0o755)


def ctxt(pid):
    total = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if "ctxt_switches" in line:
                total += int(line.split()[1])
    return total


def children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
            if int(s[s.rindex(")") + 2:].split()[1]) == ppid:
                out.append(int(d))
        except (OSError, ValueError):
            pass
    return out


class Runsvdir:
    def __init__(self, binary, sd):
        self.p = subprocess.Popen([binary, "-P", sd], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)

    def stop(self):
        runsvs = children(self.p.pid)
        os.kill(self.p.pid, signal.SIGHUP)
        self.p.wait()
        deadline = time.time() + 30
        while time.time() < deadline and any(os.path.exists(f"/proc/{p}") and not zombie(p) for p in runsvs):
            time.sleep(0.05)
        for p in runsvs:
            for sig_target in (-p, p):
                try:
                    os.kill(sig_target, signal.SIGKILL)
                except OSError:
                    pass


def zombie(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return ") Z " in f.read()
    except OSError:
        return True


def setup(binary, runsv):
    """A temp dir with bin/runsvdir (copy) beside bin/runsv (symlink)."""
    tmp = tempfile.mkdtemp(prefix="runsvdir-bench")
    os.makedirs(f"{tmp}/bin")
    shutil.copy(binary, f"{tmp}/bin/runsvdir")
    os.symlink(runsv, f"{tmp}/bin/runsv")
    os.makedirs(f"{tmp}/sd")
    os.makedirs(f"{tmp}/stage")
    return tmp


def pickup(binary, runsv, n):
    tmp = setup(binary, runsv)
    r = Runsvdir(f"{tmp}/bin/runsvdir", f"{tmp}/sd")
    time.sleep(1)
    times = []
    for i in range(n):
        make_service(f"{tmp}/stage/s{i}")
        time.sleep(random.uniform(0.2, 5.2))
        t0 = time.monotonic()
        os.rename(f"{tmp}/stage/s{i}", f"{tmp}/sd/s{i}")
        while not stat_is_run(f"{tmp}/sd/s{i}"):
            if time.monotonic() - t0 > 15:
                break
            time.sleep(0.001)
        times.append(time.monotonic() - t0)
    r.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    return times


def idle(binary, runsv, secs):
    tmp = setup(binary, runsv)
    for i in range(10):
        make_service(f"{tmp}/sd/s{i}")
    r = Runsvdir(f"{tmp}/bin/runsvdir", f"{tmp}/sd")
    while not all(stat_is_run(f"{tmp}/sd/s{i}") for i in range(10)):
        time.sleep(0.01)
    time.sleep(7)  # let start-up rescans settle
    c0 = ctxt(r.p.pid)
    time.sleep(secs)
    c1 = ctxt(r.p.pid)
    r.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    return c1 - c0


def startup(binary, runsv, n):
    tmp = setup(binary, runsv)
    for i in range(n):
        make_service(f"{tmp}/sd/s{i}")
    t0 = time.monotonic()
    r = Runsvdir(f"{tmp}/bin/runsvdir", f"{tmp}/sd")
    pending = set(range(n))
    while pending and time.monotonic() - t0 < 120:
        pending = {i for i in pending if not stat_is_run(f"{tmp}/sd/s{i}")}
        time.sleep(0.01)
    took = time.monotonic() - t0
    r.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    return took, len(pending)


def main():
    ours, ours_runsv = sys.argv[1], sys.argv[2]
    n_pickup = int(sys.argv[3]) if len(sys.argv) > 3 else 9
    n_services = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    idle_secs = int(os.environ.get("IDLE_SECS", "60"))
    which = os.environ.get("ONLY", "pickup,idle,startup").split(",")
    for name, b, rs in (("ours", ours, ours_runsv), ("runit", "/usr/bin/runsvdir", "/usr/bin/runsv")):
        if "pickup" in which:
            t = pickup(b, rs, n_pickup)
            print(f"{name}: pickup median {statistics.median(t)*1000:.1f} ms, "
                  f"min {min(t)*1000:.1f} ms, max {max(t)*1000:.1f} ms (n={len(t)})", flush=True)
        if "idle" in which:
            w = idle(b, rs, idle_secs)
            print(f"{name}: idle wake-ups {w} in {idle_secs} s", flush=True)
        if "startup" in which:
            took, left = startup(b, rs, n_services)
            print(f"{name}: {n_services} services up in {took:.2f} s ({left} not up)", flush=True)


if __name__ == "__main__":
    main()
