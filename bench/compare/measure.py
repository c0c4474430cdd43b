#!/usr/bin/python3
"""kleene side by side with the floor, runc, crun, podman and docker: the measuring half of
bench/compare/run.sh, which prepares the engines and describes them in a JSON file (argument 1)
and runs this inside the bench's network namespace. Standard library only (Debian's python3).

Every figure is the wall time of one command of the engine's own CLI (what a user types),
taken with time.perf_counter_ns around the process, with the engines interleaved run by run
(A B C A B C ..., the first engine rotating each round), so that a noisy machine slows all of
them alike. Writes <out>.json, <out>.md and <out>.png (gnuplot), <out> being argument 2.
"""

import concurrent.futures
import json
import os
import platform
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

if len(sys.argv) != 3:
    sys.exit("usage: measure.py ENGINES.json OUT | measure.py --replot OUT (the chart again from "
             "OUT.json)")
REPLOT = sys.argv[1] == "--replot"
OUT = sys.argv[2]
if REPLOT:
    SAVED = json.load(open(OUT + ".json", encoding="utf-8"))
    CFG = {"runs": SAVED["runs"], "parallel": next(iter(SAVED["parallel"].values()), {}).get(
        "count", 50)}
else:
    CFG = json.load(open(sys.argv[1], encoding="utf-8"))
RUNS = CFG["runs"]
SLEEPER = ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]
DEVNULL = subprocess.DEVNULL


class OpFailed(Exception):
    pass


def run(argv, env=None, capture=False):
    """Runs argv to its end; returns (ms, stdout). Raises OpFailed on a non-zero exit. stderr
    goes to a file, not a pipe: a container process that inherits it (runc create) would hold
    a pipe open, and the wait for its end would never return."""
    with tempfile.TemporaryFile(dir="/dev/shm") as err:
        start = time.perf_counter_ns()
        proc = subprocess.run(argv, stdin=DEVNULL, stdout=subprocess.PIPE if capture else DEVNULL,
                              stderr=err, env=env, check=False)
        ms = (time.perf_counter_ns() - start) / 1e6
        if proc.returncode != 0:
            err.seek(0)
            lines = err.read().decode(errors="replace").strip().splitlines()
            raise OpFailed(f"`{' '.join(argv[-4:])}` exited {proc.returncode}: "
                           f"{lines[-1] if lines else '(no message)'}")
    return ms, (proc.stdout.decode(errors="replace") if capture else "")


def proc_status(pid, key):
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split()[1]
    return None


def memory_kib(pid):
    """(VmRSS, Pss) of a process in KiB."""
    rss = int(proc_status(pid, "VmRSS") or 0)
    pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="utf-8") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def children(pid, comm=None):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if proc_status(entry, "PPid") == str(pid):
                with open(f"/proc/{entry}/comm", encoding="utf-8") as f:
                    if comm is None or f.read().strip() == comm:
                        found.append(int(entry))
        except OSError:
            continue
    return found


def wait_exit(pid, timeout_s=30):
    """Waits for a process that is not our child to exit (pidfd), True if it did."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout_s)[0])
    finally:
        os.close(fd)


# --- the engines: each op is one CLI command; names are unique per sample -----------------

class Engine:
    """An engine's commands. Ops an engine does not have raise NotImplementedError(reason)."""
    name = ""
    monitor = None  # what watches a running container: its process name, or None

    def __init__(self, cfg):
        self.cfg = cfg
        self.env = dict(os.environ, **cfg.get("env", {}))

    def cli(self, *args):
        return list(self.cfg["cli"]) + list(args)

    def do(self, *args, capture=False):
        return run(self.cli(*args), env=self.env, capture=capture)

    # Defaults: a CLI with docker's verbs (docker, podman); kleene and the OCI runtimes override.
    def run_true(self, n):
        return self.do("run", "--name", n, "--network", "none", self.cfg["image"], "/bin/true")[0]

    def after_run(self, n):
        self.do("rm", n)

    def create(self, n, network="none", cmd=None):
        return self.do("create", "--name", n, "--network", network, self.cfg["image"],
                       *(cmd or SLEEPER))[0]

    def start(self, n):
        return self.do("start", n)[0]

    def start_attached(self, n):
        return self.do("start", "-a", n)[0]

    def exec_true(self, n):
        return self.do("exec", n, "/bin/true")[0]

    def stop(self, n):
        return self.do("stop", n)[0]

    def rm(self, n):
        return self.do("rm", n)[0]

    def run_detached(self, n):
        return self.do("run", "-d", "--name", n, "--network", "none", self.cfg["image"],
                       *SLEEPER)[0]

    def remove_all(self, names):
        for i in range(0, len(names), 100):
            self.do("rm", "-f", *names[i:i + 100])

    def ls_all(self):
        return self.do("ps", "-a")[0]

    def build(self, ctx, tag):
        return self.do("build", "-t", tag, ctx)[0]

    def init_pid(self, n):
        return int(self.do("inspect", "-f", "{{.State.Pid}}", n, capture=True)[1].strip())


class Kleene(Engine):
    name = "kleene"
    monitor = "kleene-keeper"

    def run_true(self, n):
        return self.do("run", "--name", n, "-l", "disabled", self.cfg["image"], "/bin/true")[0]

    def after_run(self, n):
        self.do("container", "rm", n)

    def create(self, n, network="none", cmd=None):
        net = ["-l", "disabled"] if network == "none" else ["-l", "vnet", "-n", network]
        return self.do("create", "--name", n, *net, self.cfg["image"], *(cmd or SLEEPER))[0]

    def start(self, n):
        return self.do("start", "-d", n)[0]

    def rm(self, n):
        return self.do("container", "rm", n)[0]

    def run_detached(self, n):
        return self.do("run", "-d", "--name", n, "-l", "disabled", self.cfg["image"], *SLEEPER)[0]

    def remove_all(self, names):
        for i in range(0, len(names), 100):
            self.do("container", "rm", "-f", *names[i:i + 100])

    def ls_all(self):
        return self.do("container", "ls", "-a")[0]

    def init_pid(self, n):
        # The container list's summaries carry the init's PID ("jid"); klee prints it too,
        # but the API's JSON is the unambiguous source.
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.cfg["socket"])
        sock.sendall(b"GET /containers/list?all=true HTTP/1.0\r\nHost: kleened\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        sock.close()
        for c in json.loads(data.split(b"\r\n\r\n", 1)[1]):
            if c.get("name") == n:
                return c.get("jid")
        return None


class Docker(Engine):
    name = "docker"
    monitor = "containerd-shim-runc-v2"


class Podman(Engine):
    name = "podman"
    monitor = "conmon"

    def build(self, ctx, tag):
        return self.do("build", "--network", "none", "-t", tag, ctx)[0]


class Oci(Engine):
    """runc and crun: no images, no daemon, no monitor; one OCI bundle of the same rootfs for
    /bin/true and one for the sleeper. stop = kill TERM + wait for the init to exit."""
    monitor = None

    def __init__(self, cfg):
        super().__init__(cfg)
        self.name = cfg["name"]
        self.pids = {}

    def run_true(self, n):
        return self.do("run", "--bundle", self.cfg["bundle_true"], n)[0]

    def after_run(self, n):
        pass

    def create(self, n, network="none", cmd=None):
        if network != "none":
            raise NotImplementedError("an OCI runtime has no networks of its own")
        return self.do("create", "--bundle", self.cfg["bundle_sleep"], n)[0]

    def start(self, n):
        return self.do("start", n)[0]

    def start_attached(self, n):
        raise NotImplementedError("an OCI runtime has no networks of its own")

    def exec_true(self, n):
        return self.do("exec", n, "/bin/true")[0]

    def stop(self, n):
        pid = self.init_pid(n)  # untimed: what a caller of the runtime knows already
        start = time.perf_counter_ns()
        self.do("kill", n, "TERM")
        if not wait_exit(pid):
            raise OpFailed(f"{self.name}: {n} did not exit on SIGTERM within 30 s")
        return (time.perf_counter_ns() - start) / 1e6

    def rm(self, n):
        return self.do("delete", n)[0]

    def run_detached(self, n):
        return self.do("run", "--detach", "--bundle", self.cfg["bundle_sleep"], n)[0]

    def remove_all(self, names):
        for n in names:
            quiet(run, self.cli("delete", "--force", n), self.env)

    def ls_all(self):
        raise NotImplementedError("an OCI runtime keeps no stopped containers (each created "
                                  "one is a waiting process)")

    def build(self, ctx, tag):
        raise NotImplementedError("no image builder")

    def init_pid(self, n):
        return json.loads(self.do("state", n, capture=True)[1])["pid"]


class Floor(Engine):
    """clone + pivot_root + exec (floor.c); exec = nsenter into a running floor container."""
    name = "floor"

    def __init__(self, cfg):
        super().__init__(cfg)
        self.holder = None

    def run_true(self, n):
        return run([self.cfg["floor"], self.cfg["rootfs"], "/bin/true"])[0]

    def after_run(self, n):
        pass

    def exec_true(self, n):
        if self.holder is None:
            # A floor container that says when it runs inside its root, then sleeps (exec: the
            # same PID).
            self.holder = subprocess.Popen(
                [self.cfg["floor"], self.cfg["rootfs"], "/bin/sh", "-c",
                 "echo ready; exec sleep 100000"], stdin=DEVNULL, stdout=subprocess.PIPE)
            if self.holder.stdout.readline() != b"ready\n":
                raise OpFailed("the floor container did not start")
            self.target = children(self.holder.pid)[0]
        return run(["nsenter", "--target", str(self.target), "--mount", "--uts", "--ipc",
                    "--net", "--pid", "--root", "--wd", "/bin/true"])[0]

    def close(self):
        if self.holder is not None:
            os.kill(self.target, 9)
            self.holder.wait()


NO_OBJECT = "the floor makes no container object: nothing to create, start, stop or remove"
for op in ("create", "start", "start_attached", "stop", "rm", "run_detached", "ls_all", "build",
           "remove_all", "init_pid"):
    def refuse(self, *a, **k):
        raise NotImplementedError(NO_OBJECT)
    setattr(Floor, op, refuse)


def make_engines():
    engines, skipped = [], {}
    for cfg in CFG["engines"]:
        if not cfg.get("available"):
            skipped[cfg["name"]] = cfg.get("reason", "not available")
            continue
        cls = {"kleene": Kleene, "docker": Docker, "podman": Podman, "runc": Oci, "crun": Oci,
               "floor": Floor}[cfg["name"]]
        engines.append(cls(cfg))
    return engines, skipped


# --- results ------------------------------------------------------------------------------

samples = {}   # op -> engine -> [ms]
notes = {}     # op -> engine -> why there is no figure
counter = [0]


def uid(op):
    counter[0] += 1
    return f"kl-b-{op}-{counter[0]}"


def record(op, engine, fn, *args):
    """Times one op unless the engine cannot do it or failed it before; True if it ran."""
    if engine.name in notes.get(op, {}):
        return False
    try:
        ms = fn(*args)
        samples.setdefault(op, {}).setdefault(engine.name, []).append(ms)
        return True
    except NotImplementedError as e:
        notes.setdefault(op, {})[engine.name] = f"n/a: {e}"
    except OpFailed as e:
        notes.setdefault(op, {})[engine.name] = f"failed: {e}"
    return False


def rounds(engines):
    """Yields (round, engine) A B C, B C A, C A B, ..."""
    for r in range(RUNS):
        for i in range(len(engines)):
            yield r, engines[(r + i) % len(engines)]


def quiet(fn, *args):
    try:
        fn(*args)
    except (OpFailed, NotImplementedError):
        pass


def bench_run(engines):
    print("run: attached /bin/true", flush=True)
    for _, e in rounds(engines):
        n = uid("run")
        if record("run", e, e.run_true, n):
            quiet(e.after_run, n)
        elif e.name not in ("floor",):
            quiet(e.remove_all, [n])


def bench_lifecycle(engines):
    print("lifecycle: create, start, exec, stop, rm; run -d", flush=True)
    for _, e in rounds(engines):
        n = uid("life")
        made = record("create", e, e.create, n)
        if made and record("start", e, e.start, n):
            record("exec", e, e.exec_true, n)
            record("stop", e, e.stop, n)
        elif e.name == "floor":
            record("exec", e, e.exec_true, n)
        if made and not record("rm", e, e.rm, n):
            quiet(e.remove_all, [n])
        d = uid("rund")
        record("run -d", e, e.run_detached, d)
        quiet(e.remove_all, [d])


def bench_network(engines):
    print("network: start -a of /bin/true with a bridge network and with none", flush=True)
    for _, e in rounds(engines):
        for op, net in (("start bridge", CFG["bridge"].get(e.name)), ("start none", "none")):
            if net is None:
                notes.setdefault(op, {}).setdefault(
                    e.name, "n/a: " + CFG["bridge_reason"].get(e.name, "no bridge network"))
                continue
            n = uid("net")
            try:
                e.create(n, network=net, cmd=["/bin/true"])
            except NotImplementedError as x:
                notes.setdefault(op, {}).setdefault(e.name, f"n/a: {x}")
                continue
            except OpFailed as x:
                notes.setdefault(op, {}).setdefault(e.name, f"failed: {x}")
                continue
            record(op, e, e.start_attached, n)
            quiet(e.remove_all, [n])


parallel = {}  # engine -> {"wall": [ms], "starts": [ms]}


def bench_parallel(engines):
    count = CFG["parallel"]
    print(f"parallel: {count} detached starts at once", flush=True)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=count)
    for r in range(CFG["parallel_rounds"]):
        for i in range(len(engines)):
            e = engines[(r + i) % len(engines)]
            if e.name == "floor" or e.name in notes.get("parallel", {}):
                continue
            names = [uid("par") for _ in range(count)]
            start = time.perf_counter_ns()
            futures = [pool.submit(e.run_detached, n) for n in names]
            times, error = [], None
            for f in futures:
                try:
                    times.append(f.result())
                except (OpFailed, NotImplementedError) as x:
                    error = x
            wall = (time.perf_counter_ns() - start) / 1e6
            quiet(e.remove_all, names)
            if error is not None:
                notes.setdefault("parallel", {})[e.name] = f"failed: {error}"
                continue
            p = parallel.setdefault(e.name, {"wall": [], "starts": []})
            p["wall"].append(wall)
            p["starts"].extend(times)
    pool.shutdown()


def bench_ls(engines):
    count = CFG["ls_count"]
    print(f"ls -a with {count} containers: creating them", flush=True)
    listed = []
    made = {}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=4)
    for e in engines:
        try:
            e.ls_all()
        except NotImplementedError as x:
            notes.setdefault("ls -a", {})[e.name] = f"n/a: {x}"
            continue
        except OpFailed as x:
            notes.setdefault("ls -a", {})[e.name] = f"failed: {x}"
            continue
        names = [f"kl-b-ls-{i}" for i in range(count)]
        made[e.name] = names
        t0 = time.perf_counter()
        errors = [f.exception() for f in [pool.submit(e.create, n) for n in names]]
        errors = [x for x in errors if x is not None]
        print(f"  {e.name}: {count} created in {time.perf_counter() - t0:.1f} s", flush=True)
        if errors:
            notes.setdefault("ls -a", {})[e.name] = f"failed: creating {count}: {errors[0]}"
            continue
        listed.append(e)
    print("ls -a: timing", flush=True)
    for r in range(RUNS):
        for i in range(len(listed)):
            e = listed[(r + i) % len(listed)]
            record("ls -a", e, e.ls_all)
    for e in engines:
        if e.name in made:
            quiet(e.remove_all, made[e.name])
    pool.shutdown()


def bench_build(engines):
    print("build: a cached rebuild", flush=True)
    ready = []
    for e in engines:
        try:
            e.build(CFG["build_context"][e.name] if e.name in CFG["build_context"]
                    else CFG["build_context"]["default"], "kl-bench-built")
            ready.append(e)
        except NotImplementedError as x:
            notes.setdefault("cached build", {})[e.name] = f"n/a: {x}"
        except OpFailed as x:
            notes.setdefault("cached build", {})[e.name] = f"failed: {x}"
        except KeyError:
            notes.setdefault("cached build", {})[e.name] = "n/a: no build context"
    for r in range(RUNS):
        for i in range(len(ready)):
            e = ready[(r + i) % len(ready)]
            ctx = CFG["build_context"].get(e.name, CFG["build_context"]["default"])
            record("cached build", e, e.build, ctx, "kl-bench-built")


def bench_storage(engines):
    """What kleene's create and rm spend in ZFS: `zfs clone` of the image's snapshot and `zfs
    destroy` of the clone, run directly (under kleened's command lock, as it runs them), on
    the same pool in the same run. Rows "zfs clone" and "zfs destroy" of the kleene column."""
    zfs = CFG.get("zfs")
    if not zfs or not any(e.name == "kleene" for e in engines):
        return
    print("storage: zfs clone and destroy of the image snapshot, directly", flush=True)
    lock = [] if os.path.exists("/dev/zfs") else ["flock", "-w", "60", zfs["lock"]]
    kleene = next(e for e in engines if e.name == "kleene")
    for r in range(RUNS):
        clone = f"{zfs['parent']}/kl-b-probe-{r}"
        if not record("zfs clone", kleene, lambda: run(lock + ["zfs", "clone", zfs["snapshot"],
                                                                 clone])[0]):
            return
        if not record("zfs destroy", kleene, lambda: destroy(clone)):
            return


def destroy(dataset):
    """`zfs destroy` as kleene's storage plugin runs it: zfs-fuse answers "dataset is busy" for
    a while after a mount, so on busy it unmounts and retries after 10 ms, doubling to 400 ms.
    The time includes the retries: what a `klee rm` waits for."""
    lock = [] if os.path.exists("/dev/zfs") else ["flock", "-w", "60", CFG["zfs"]["lock"]]
    start, delay = time.perf_counter_ns(), 0.01
    for attempt in range(1, 13):
        try:
            run(lock + ["zfs", "destroy", dataset])
            return (time.perf_counter_ns() - start) / 1e6
        except OpFailed as e:
            if "busy" not in str(e) or attempt == 12:
                raise
        quiet(run, lock + ["zfs", "unmount", dataset])
        time.sleep(delay)
        delay = min(delay * 2, 0.4)


memory = {}  # "what" -> {"rss": KiB, "pss": KiB, "note": ...}


def measure_daemons():
    memory["kleened (idle, one image)"] = CFG["kleened_idle"]
    # Idle as kleened means it: it gives its freed heap back 1 s after its last request.
    time.sleep(1.5)
    for what, pidfile in CFG["daemons"].items():
        try:
            pid = int(open(pidfile, encoding="utf-8").read().strip())
        except (OSError, ValueError):
            continue
        rss, pss = memory_kib(pid)
        label = "kleened (idle, one image and a bridge network)" if what == "kleened" else what
        memory[label] = {"rss": rss, "pss": pss, "pid": pid}
        if what == "dockerd":
            for c in children(pid, "containerd"):
                rss, pss = memory_kib(c)
                memory["containerd (dockerd's)"] = {"rss": rss, "pss": pss, "pid": c}


def measure_monitors(engines):
    for e in engines:
        if e.monitor is None:
            continue
        n = uid("mon")
        try:
            e.run_detached(n)
            pid = e.init_pid(n)
            parent = int(proc_status(pid, "PPid"))
            with open(f"/proc/{parent}/comm", encoding="utf-8") as f:
                comm = f.read().strip()
            rss, pss = memory_kib(parent)
            memory[f"monitor: {comm} ({e.name})"] = {"rss": rss, "pss": pss, "pid": parent}
        except (OpFailed, NotImplementedError, OSError, TypeError, ValueError) as x:
            memory[f"monitor ({e.name})"] = {"note": f"failed: {x}"}
        quiet(e.remove_all, [n])


# --- statistics and the report -------------------------------------------------------------

def pct(values, q):
    """Nearest-rank percentile."""
    v = sorted(values)
    return v[max(0, min(len(v) - 1, int(-(-q * len(v) // 100)) - 1))]


def summary(values):
    return {"n": len(values), "median": statistics.median(values), "p90": pct(values, 90),
            "p99": pct(values, 99), "min": min(values), "max": max(values)}


OPS = ["run", "create", "start", "exec", "stop", "rm", "run -d", "start none", "start bridge",
       "ls -a", "cached build", "zfs clone", "zfs destroy"]
TARGETS = [  # (what, op, peer, bound of kleene/peer)
    ("`klee run` ≤ 1.0 × `runc run`", "run", "runc", 1.0),
    ("`klee run` ≤ 0.1 × `docker run`", "run", "docker", 0.1),
    ("`klee run` ≤ 0.12 × `podman run`", "run", "podman", 0.12),
    ("`klee exec` ≤ 0.1 × `docker exec`", "exec", "docker", 0.1),
    ("`klee lsc -a` with N ≤ 2 × `docker ps -a` with N", "ls -a", "docker", 2.0),
]


def fmt(ms):
    return f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def median_of(op, engine):
    s = samples.get(op, {}).get(engine)
    return statistics.median(s) if s else None


def versions():
    out = {}
    for cfg in CFG["engines"]:
        out[cfg["name"]] = cfg.get("version", "")
    return out


def chart(names):
    """Box plots (min, p10, median, p90, max) of each op, one panel per op, log scale."""
    ops = [op for op in OPS if any(samples.get(op, {}).get(n) for n in names)]
    if not ops:
        return None
    data_dir = os.path.dirname(OUT) or "."
    rows_of_panels = -(-(len(ops) + 1) // 4)
    script = [f"set terminal pngcairo size 1600,{330 * rows_of_panels} font 'sans,9'",
              f"set output '{OUT}.png'",
              f"set multiplot layout {rows_of_panels},4 title 'kleene and its peers: wall time of "
              "one command "
              f"[ms], log scale (box: p10-p90, line: median, whiskers: min-max), {RUNS} runs'",
              "set logscale y", "set style fill solid 0.3", "set boxwidth 0.6", "unset key",
              "set grid ytics", "set xtics rotate by -30"]
    files = []
    for op in ops + ["parallel"]:
        rows = []
        for i, n in enumerate(names):
            v = (parallel.get(n, {}).get("starts") if op == "parallel"
                 else samples.get(op, {}).get(n))
            if v:
                rows.append(f"{i} {n} {min(v)} {pct(v, 10)} {statistics.median(v)} "
                            f"{pct(v, 90)} {max(v)}")
        if not rows:
            continue
        path = f"{data_dir}/.chart-{op.replace(' ', '_')}.dat"
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(rows) + "\n")
        files.append(path)
        title = (f"{CFG['parallel']} parallel run -d (each)" if op == "parallel" else op)
        script += [f"set title '{title}'", f"set xrange [-0.7:{len(names) - 0.3}]",
                   f"plot '{path}' using 1:4:3:7:6:xticlabels(2) with candlesticks whiskerbars, "
                   f"'' using 1:5:5:5:5 with candlesticks lw 2"]
    script.append("unset multiplot")
    gp = f"{data_dir}/.chart.gp"
    with open(gp, "w", encoding="utf-8") as f:
        f.write("\n".join(script) + "\n")
    proc = subprocess.run(["gnuplot", gp], stdin=DEVNULL, capture_output=True, check=False)
    for path in files + [gp]:
        os.unlink(path)
    if proc.returncode != 0:
        print("gnuplot failed: " + proc.stderr.decode(errors="replace"), file=sys.stderr)
        return None
    return os.path.basename(OUT) + ".png"


def storage_share(targets):
    """Lines on what of a missed run or parallel target is the `zfs clone` (the storage phase
    measures it directly on kleene's pool in the same run); [] when nothing is missed or the
    clone was not measured. The profile behind it is in bench/README.md."""
    clone = median_of("zfs clone", "kleene")
    missed = [t for t in targets if t.get("met") is False]
    if clone is None or not missed:
        return []
    lines = []
    run = median_of("run", "kleene")
    for t in missed:
        if t.get("op") == "run":
            rest = run - clone
            lines.append(f"- {t['target']}: kleene's run ({fmt(run)} ms) makes one `zfs clone` of "
                         f"the image's snapshot, {fmt(clone)} ms measured directly on the same "
                         f"pool ({100 * clone / run:.0f} %); the rest, {fmt(rest)} ms, is "
                         f"{rest / t['peer_ms']:.2f} × the peer's run.")
        elif t.get("op") == "parallel" and "zfs-fuse" in CFG.get("storage", {}).get("kleene", ""):
            one = median_of("run -d", "kleene")
            wall = t["ratio"] * one
            clones = CFG["parallel"] * clone
            lines.append(f"- {t['target']}: the {CFG['parallel']} clones take "
                         f"{CFG['parallel']} × {fmt(clone)} = {fmt(clones)} ms of the "
                         f"{fmt(wall)} ms wall, one at a time (zfs-fuse's command lock: "
                         f"bench/README.md); the rest, {fmt(wall - clones)} ms, is "
                         f"{(wall - clones) / one:.1f} × one `run -d`.")
    if lines:
        lines = ["", "Where the missed targets' time goes (the profile: bench/README.md):", ""] + lines
    return lines


def report(engines, skipped):
    names = [e.name for e in engines]
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "host": {"kernel": platform.release(), "machine": platform.machine(),
                 "cpus": os.cpu_count(), "load": open("/proc/loadavg").read().split()[:3]},
        "kleene_commit": CFG["commit"], "runs": RUNS, "versions": versions(),
        "skipped_engines": skipped, "storage": CFG["storage"],
        "ops": {op: {n: summary(v) | {"samples_ms": v} for n, v in samples.get(op, {}).items()}
                for op in OPS},
        "not_measured": notes,
        "parallel": {n: {"count": CFG["parallel"], "wall": summary(p["wall"]),
                         "starts": summary(p["starts"]), "wall_ms": p["wall"],
                         "starts_ms": p["starts"]} for n, p in parallel.items()},
        "memory_kib": memory,
        "ls_count": CFG["ls_count"],
    }
    targets = []
    for what, op, peer, bound in TARGETS:
        k, p = median_of(op, "kleene"), median_of(op, peer)
        if k is None or p is None:
            targets.append({"target": what, "op": op, "ratio": None, "met": None,
                            "note": notes.get(op, {}).get(peer if p is None else "kleene",
                                                          "not measured")})
        else:
            targets.append({"target": what, "op": op, "ratio": k / p, "bound": bound,
                            "met": k / p <= bound,
                            "kleene_ms": k, "peer_ms": p})
    k1 = median_of("run -d", "kleene")
    kp = parallel.get("kleene")
    if k1 and kp:
        ratio = statistics.median(kp["wall"]) / k1
        targets.append({"target": f"{CFG['parallel']} parallel `klee run -d` ≤ 30 × one",
                        "op": "parallel", "ratio": ratio, "bound": 30.0, "met": ratio <= 30.0})
    for what, key, bound in (("kleened idle RSS ≤ 10 MiB", "kleened (idle, one image)", 10240),
                             ("keeper RSS ≤ 1 MiB", "monitor: kleene-keeper (kleene)", 1024)):
        m = memory.get(key, {})
        if "rss" in m:
            targets.append({"target": what, "ratio": m["rss"] / bound, "bound": 1.0,
                            "met": m["rss"] <= bound, "value_kib": m["rss"]})
    result["targets"] = targets
    png = chart(names)
    result["chart"] = png
    with open(OUT + ".json", "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)

    L = []
    h = result["host"]
    L += [f"# kleene and its peers, side by side — {result['date'][:10]}", "",
          f"Host: Linux {h['kernel']} {h['machine']}, {h['cpus']} CPUs, load "
          f"{' '.join(h['load'])} at the end; kleene {CFG['commit']}; {RUNS} runs of each figure, "
          "the engines interleaved run by run (A B C, B C A, …). Each figure is the wall time of "
          "one command of the engine's CLI, in ms. Storage: "
          + "; ".join(f"{k}: {v}" for k, v in CFG["storage"].items()) + ".", ""]
    L += ["| engine | version | status |", "|---|---|---|"]
    for cfg in CFG["engines"]:
        status = "measured" if cfg["name"] in names else f"**not measured**: {skipped[cfg['name']]}"
        L.append(f"| {cfg['name']} | {cfg.get('version', '')} | {status} |")
    L += ["", "## Targets", "", "| target | kleene / peer | met |", "|---|---:|---|"]
    for t in targets:
        if t["ratio"] is None:
            L.append(f"| {t['target']} | — | not measured: {t['note']} |")
            continue
        by = "" if t["met"] else f" (by {t['ratio'] / t['bound']:.1f}×)"
        L.append(f"| {t['target']} | {t['ratio']:.2f} | {'met' if t['met'] else 'missed' + by} |")
    L += storage_share(targets)
    L += ["", "## Latency (median / p90 [min–max], ms)", "",
          "| op | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for op in OPS:
        cells = []
        for n in names:
            s = samples.get(op, {}).get(n)
            if s:
                cells.append(f"{fmt(statistics.median(s))} / {fmt(pct(s, 90))} "
                             f"[{fmt(min(s))}–{fmt(max(s))}]")
            else:
                cells.append("—")
        label = f"{op} ({CFG['ls_count']})" if op == "ls -a" else op
        L.append(f"| {label} | " + " | ".join(cells) + " |")
    peers = [n for n in names if n != "kleene"]
    if "kleene" in names:
        L += ["", "## kleene / peer (ratio of medians; < 1: kleene is faster)", "",
              "| op | " + " | ".join(peers) + " |", "|---|" + "---:|" * len(peers)]
        for op in OPS:
            k = median_of(op, "kleene")
            if k is None:
                continue
            cells = [f"{k / p:.2f}" if (p := median_of(op, n)) else "—" for n in peers]
            L.append(f"| {op} | " + " | ".join(cells) + " |")
    L += ["", f"## {CFG['parallel']} detached starts at once (`run -d` of a sleeper, "
          f"{CFG['parallel_rounds']} rounds)", "",
          "| engine | wall, median [ms] | per start p50 / p99 [ms] | wall / one `run -d` |",
          "|---|---:|---:|---:|"]
    for n in names:
        p = parallel.get(n)
        one = median_of("run -d", n)
        if p:
            w = statistics.median(p["wall"])
            L.append(f"| {n} | {fmt(w)} | {fmt(statistics.median(p['starts']))} / "
                     f"{fmt(pct(p['starts'], 99))} | {w / one:.1f} |" if one else
                     f"| {n} | {fmt(w)} | — | — |")
    L += ["", "## Memory", "",
          "| process | VmRSS [KiB] | Pss [KiB] |", "|---|---:|---:|"]
    for what, m in memory.items():
        if "rss" in m:
            L.append(f"| {what} | {m['rss']} | {m['pss']} |")
        else:
            L.append(f"| {what} | {m['note']} | |")
    L += ["", "Daemon memory is taken idle, 1.5 s after the last request (kleened trims its "
          "heap 1 s after a busy period): kleened with the image only, then with the bridge "
          "network too (libnftables and the firewall loaded), dockerd after the import; a "
          "monitor's with one sleeping container. podman, runc, crun and the floor have no "
          "daemon; runc, crun and the floor no monitor."]
    if any(notes.values()):
        L += ["", "## Not measured", ""]
        for op, per in notes.items():
            for n, why in per.items():
                L.append(f"- {op}, {n}: {why}")
    if png:
        L += ["", f"![latency distributions]({png})"]
    L += ["", "Raw samples: " + os.path.basename(OUT) + ".json."]
    with open(OUT + ".md", "w", encoding="utf-8") as f:
        f.write("\n".join(L) + "\n")
    print("\n".join(L))


def replot():
    names = list(SAVED["versions"])
    names = [n for n in names if n not in SAVED["skipped_engines"]]
    for op, per in SAVED["ops"].items():
        for n, summary_ in per.items():
            samples.setdefault(op, {})[n] = summary_["samples_ms"]
    for n, p in SAVED["parallel"].items():
        parallel[n] = {"wall": p["wall_ms"], "starts": p["starts_ms"]}
    print(chart(names))


def main():
    if REPLOT:
        replot()
        return
    # run.sh's cleanup sends SIGTERM when it is interrupted: end through the finally below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    engines, skipped = make_engines()
    measure_daemons()
    try:
        measure_monitors(engines)
        for phase in CFG["phases"]:
            {"run": bench_run, "lifecycle": bench_lifecycle, "network": bench_network,
             "parallel": bench_parallel, "ls": bench_ls, "build": bench_build,
             "storage": bench_storage}[phase](engines)
    finally:
        for e in engines:
            if isinstance(e, Floor):
                e.close()
    report(engines, skipped)


if __name__ == "__main__":
    main()
