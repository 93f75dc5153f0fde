#!/usr/bin/env python3
"""namdrunner's host runner: jobs on a machine without Slurm (profile ``scheduler = "none"``), with the
Slurm commands namdrunner uses, so that everything else works unchanged. Standard library only, one file,
run by the host's python3 (3.9 or newer). Installed by namdrunner as ``~/.namdrunner/hostq/bin/hostq.py``
with ``sbatch``, ``squeue``, ``sacct``, ``scancel``, ``scontrol``, ``sinfo`` and ``sacctmgr`` linked to it.

* ``sbatch`` queues a batch script (its ``#SBATCH`` lines and options as Slurm reads them: name, output,
  error, time, tasks, GPUs, comment, ``afterok`` and ``aftercorr`` dependencies, ``--kill-on-invalid-dep``,
  ``--signal``, ``--array``: one entry per task, ``<id>_<index>``). It starts the runner when none runs.
* The runner (one per user and host: it holds ``runner.lock`` for its life; a second one exits at once)
  starts queued jobs in order when their dependencies are met and their slots free: the host's GPUs and
  cores (``config.json``: one job per GPU, ``CUDA_VISIBLE_DEVICES`` set), enforces time limits (the
  warning signal before, SIGTERM at the limit, SIGKILL 30 s later: TIMEOUT), cancels (the job's process
  group), and stops when nothing is queued or running. Each job runs under a small wrapper in its own
  session that records its exit code: a runner killed and started again loses nothing and starts
  nothing twice; after the host restarted (another boot id) a running job is NODE_FAIL.
* ``squeue``, ``sacct``, ``scancel``, ``scontrol``, ``sinfo`` answer in Slurm's formats for what
  namdrunner asks.

State: ``$NR_HOSTQ_HOME`` (default ``~/.namdrunner/hostq``), owned by the user, mode 0700; ``state.json``
changed only under ``state.lock``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

HOME = Path(os.environ.get("NR_HOSTQ_HOME") or Path.home() / ".namdrunner" / "hostq")
ACTIVE = ("PENDING", "RUNNING")
KILL_WAIT_S = 30.0
IDLE_EXIT_S = 60.0
TICK_S = 0.5


def _fail(message: str, code: int = 1) -> NoReturn:
    sys.stderr.write(message.rstrip() + "\n")
    sys.exit(code)


def _home() -> Path:
    """The state folder, made private; one owned by someone else is refused."""
    HOME.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = HOME.stat()
    if st.st_uid != os.getuid():
        _fail(
            f"hostq: {HOME} belongs to user id {st.st_uid}, not to you ({os.getuid()}); "
            "set NR_HOSTQ_HOME to a folder of your own"
        )
    if st.st_mode & 0o077:
        os.chmod(HOME, 0o700)
    return HOME


@contextlib.contextmanager
def _state() -> Iterator[dict[str, Any]]:
    home = _home()
    with (home / "state.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = home / "state.json"
        data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"next": 1, "jobs": {}}
        yield data
        tmp = home / f".state.json.{os.getpid()}"
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, path)


def _config() -> dict[str, Any]:
    path = _home() / "config.json"
    cfg = json.loads(path.read_text()) if path.exists() else {}
    return {
        "gpus": int(cfg.get("gpus", 0)),
        "cores": int(cfg.get("cores") or os.cpu_count() or 1),
        "memory_mb": int(cfg.get("memory_mb", 0)),
        "partitions": str(cfg.get("partitions") or "host").split(","),
    }


def _now() -> float:
    return time.time()


def _iso(t: float | None) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%dT%H:%M:%S") if t else "Unknown"


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "UNLIMITED"
    s = max(0, int(seconds))
    d, rest = divmod(s, 86400)
    text = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{d}-{text}" if d else text


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "unknown"


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        return stat.read_text().split(") ", 1)[1].split()[0] != "Z"  # a zombie is gone
    return True


# -- sbatch ---------------------------------------------------------------------------------------
def _seconds(text: str) -> float | None:
    """Slurm's time formats: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS; UNLIMITED."""
    text = text.strip()
    if text.upper() in ("UNLIMITED", "INFINITE", ""):
        return None
    days = 0
    if "-" in text:
        d, text = text.split("-", 1)
        days = int(d)
        parts = [int(p) for p in text.split(":")] + [0, 0]
        h, m, s = parts[0], parts[1], parts[2]
    else:
        parts = [int(p) for p in text.split(":")]
        padded = {1: [0, parts[0], 0], 2: [0, parts[0], parts[1]]}.get(len(parts), parts[:3])
        h, m, s = padded[0], padded[1], padded[2]
    return float(days * 86400 + h * 3600 + m * 60 + s)


_LONG = {
    "-J": "job-name",
    "-o": "output",
    "-e": "error",
    "-t": "time",
    "-n": "ntasks",
    "-c": "cpus-per-task",
    "-N": "nodes",
    "-p": "partition",
    "-q": "qos",
    "-A": "account",
    "-d": "dependency",
    "-G": "gpus",
    "-a": "array",
    "-D": "chdir",
}
_FLAGS = {"parsable", "requeue", "no-requeue", "hold", "exclusive"}


def _options(words: list[str]) -> tuple[dict[str, str], list[str]]:
    """Options (long names) and the rest (the script and its arguments)."""
    opts: dict[str, str] = {}
    i = 0
    while i < len(words):
        w = words[i]
        if not w.startswith("-") or w == "-":
            return opts, words[i:]
        if w.startswith("--"):
            key, eq, value = w[2:].partition("=")
            if not eq and key not in _FLAGS and i + 1 < len(words):
                value, i = words[i + 1], i + 1
            opts[key] = value if eq or key not in _FLAGS else "1"
        else:
            key = _LONG.get(w[:2], w[1:])
            value = w[2:] if len(w) > 2 else (words[i + 1] if i + 1 < len(words) else "")
            i += 0 if len(w) > 2 else 1
            opts[key] = value
        i += 1
    return opts, []


def _directives(script: Path) -> list[str]:
    words: list[str] = []
    for line in script.read_text(errors="replace").splitlines()[1:]:
        if line.startswith("#SBATCH"):
            words += shlex.split(line[7:], comments=True)
        elif line.strip() and not line.startswith("#"):
            break
    return words


def _gpus(opts: dict[str, str]) -> int:
    if opts.get("gpus"):
        return int(opts["gpus"].split(":")[-1])
    gres = opts.get("gres", "")
    m = re.match(r"gpu(?::[^:,]+)?:(\d+)", gres)
    return int(m.group(1)) if m else (1 if gres == "gpu" else 0)


def _signal(spec: str) -> list[int]:
    """``--signal=[B:]SIG[@SECONDS]``: [signal number, seconds before the limit]."""
    m = re.fullmatch(r"(?:B:)?([A-Z0-9]+)(?:@(\d+))?", spec)
    if m is None:
        _fail(f"sbatch: error: Invalid --signal specification: {spec}")
    name = m.group(1)
    number = int(name) if name.isdigit() else int(getattr(signal, "SIG" + name.removeprefix("SIG")))
    return [number, int(m.group(2) or 60)]


def _dependencies(spec: str) -> list[list[str]]:
    """``afterok:1:2,aftercorr:3`` as [kind, id] pairs (afterok and aftercorr only)."""
    deps: list[list[str]] = []
    for part in filter(None, spec.split(",")):
        kind, _, ids = part.partition(":")
        if kind not in ("afterok", "aftercorr"):
            _fail(f"sbatch: error: dependency {kind!r} is not supported by the host runner (afterok, aftercorr)")
        deps += [[kind, i] for i in ids.split(":") if i]
    return deps


def _indices(spec: str) -> tuple[list[int], int | None]:
    """``--array=0-9``, ``0-9:2``, ``1,3,5``, ``0-9%2``: the task indices and the most at once."""
    spec, _, most = spec.partition("%")
    out: list[int] = []
    for part in filter(None, spec.split(",")):
        m = re.fullmatch(r"(\d+)(?:-(\d+)(?::(\d+))?)?", part)
        if m is None:
            _fail(f"sbatch: error: Invalid job array specification: {spec}")
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        out += list(range(first, last + 1, int(m.group(3) or 1)))
    if not out or len(out) > 1001:
        _fail("sbatch: error: Batch job submission failed: Invalid job array specification")
    return sorted(set(out)), int(most) if most.isdigit() else None


def _order(job_id: str) -> tuple[int, int]:
    """Jobs in the order they were queued: an array's tasks by index, after their array's number."""
    parent, _, task = job_id.partition("_")
    return int(parent), int(task) if task else -1


def _resolved(deps: list[list[str]], jobs: dict[str, Any], task: int | None) -> list[str]:
    """The ids a job (or array task ``task``) waits for: an array named whole is every task of it;
    ``aftercorr`` is the task of the same index."""
    out: list[str] = []
    for kind, dep in deps:
        tasks = [k for k in jobs if k.startswith(f"{dep}_")]
        if kind == "aftercorr" and task is not None and tasks:
            out.append(f"{dep}_{task}")
        elif tasks:
            out += tasks
        else:
            out.append(dep)
    return out


def _job(opts: dict[str, str], script: Path, rest: list[str]) -> dict[str, Any]:
    """A queued job from its options (refused when the host cannot run it)."""
    cfg = _config()
    gpus = _gpus(opts)
    cores = int(opts.get("ntasks") or 1) * int(opts.get("cpus-per-task") or 1)
    if gpus > cfg["gpus"] or cores > cfg["cores"]:
        _fail(
            "sbatch: error: Batch job submission failed: Requested node configuration is not available "
            f"(this host has {cfg['gpus']} GPU(s) and {cfg['cores']} core(s); the job asks for {gpus} and {cores})"
        )
    deps = _dependencies(opts.get("dependency", ""))
    return {
        "name": opts.get("job-name") or script.name, "comment": opts.get("comment", ""),
        "script": str(script), "workdir": str(Path(opts.get("chdir") or os.getcwd())), "args": rest[1:],
        "output": opts.get("output") or "slurm-%j.out", "error": opts.get("error") or "",
        "append": opts.get("open-mode") == "append", "limit": _seconds(opts.get("time", "")),
        "cores": cores, "gpus": gpus, "deps": deps, "kill_invalid": opts.get("kill-on-invalid-dep") == "yes",
        "warn": _signal(opts["signal"]) if opts.get("signal") else None, "state": "PENDING",
        "reason": "Priority" if not deps else "Dependency", "submit": _now(), "start": None, "end": None,
        "exit": "0:0", "user": os.environ.get("USER", ""), "partition": opts.get("partition", "host"),
        "devices": [], "wrapper": None, "shell": None, "boot": None, "cancel": False, "term_at": None,
        "warned": False, "timeout": False,
    }  # fmt: skip


def sbatch(argv: list[str]) -> None:
    cli, rest = _options(argv)
    if not rest:
        _fail("sbatch: error: Batch script is empty!")
    script = Path(rest[0]).resolve()
    if not script.is_file():
        _fail(f"sbatch: error: Unable to open file {rest[0]}")
    opts, _ = _options(_directives(script))
    opts.update(cli)
    job = _job(opts, script, rest)
    tasks, most = _indices(opts["array"]) if opts.get("array") else ([None], None)
    with _state() as st:
        job_id = str(st["next"])
        for task in tasks:
            one = f"{job_id}_{task}" if task is not None else job_id
            deps = _resolved(job["deps"], st["jobs"], task)
            if any(d not in st["jobs"] for d in deps):
                _fail("sbatch: error: Batch job submission failed: Job dependency problem")
            st["jobs"][one] = {**job, "id": one, "deps": deps, "array_job": job_id if task is not None else None,
                               "array_task": task, "array_most": most}  # fmt: skip
        st["next"] += 1
    _ensure_runner()
    print(job_id if "parsable" in opts else f"Submitted batch job {job_id}")


# -- the runner -----------------------------------------------------------------------------------
def _ensure_runner() -> None:
    """Start the runner detached unless one holds its lock (a second one would exit at once)."""
    lock_path = _home() / "runner.lock"
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # one runs
        fcntl.flock(lock, fcntl.LOCK_UN)
    log = (_home() / "runner.log").open("a")
    subprocess.Popen(
        [sys.executable, os.path.realpath(__file__), "runner"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
        close_fds=True,
    )


def _killpg(pgid: int | None, sig: int) -> None:
    if pgid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)


def _exit_file(job_id: str) -> Path:
    return _home() / "exit" / job_id


def _finish(job: dict[str, Any], now: float) -> None:
    """A running job whose wrapper ended: its state from the recorded exit code (or the reason it was
    ended)."""
    exit_path = _exit_file(job["id"])
    code = int(exit_path.read_text().strip() or "1") if exit_path.exists() else None
    job["end"] = now
    job["reason"] = "None"
    if job["cancel"]:
        job["state"], job["exit"] = "CANCELLED", f"0:{signal.SIGTERM}"
    elif job["timeout"]:
        job["state"], job["exit"] = "TIMEOUT", "0:0"
    elif code is None:
        job["state"], job["exit"], job["reason"] = "FAILED", "1:0", "the job's wrapper ended without a result"
    elif code >= 128:
        job["state"], job["exit"] = "FAILED", f"0:{code - 128}"
    else:
        job["state"], job["exit"] = ("COMPLETED" if code == 0 else "FAILED"), f"{code}:0"


def _watch_running(job: dict[str, Any], now: float, boot: str) -> None:
    if job["shell"] is None:  # the wrapper records the batch shell's pid (its process group) as it starts it
        pid_file = _home() / "run" / f"{job['id']}.shell"
        with contextlib.suppress(OSError, ValueError):
            job["shell"] = int(pid_file.read_text())
    if job["boot"] != boot:
        job["state"], job["reason"], job["end"], job["exit"] = "NODE_FAIL", "the host restarted", now, "0:0"
        return
    if not _alive(job["wrapper"]):
        _finish(job, now)
        return
    limit, start = job["limit"], job["start"]
    if job["warn"] and limit and not job["warned"] and now >= start + limit - job["warn"][1]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(job["shell"], job["warn"][0])  # B: the batch shell only
        job["warned"] = True
    if limit and not job["term_at"] and now >= start + limit:
        job["timeout"], job["term_at"] = True, now
        _killpg(job["shell"], signal.SIGTERM)
    if job["cancel"] and not job["term_at"]:
        job["term_at"] = now
        _killpg(job["shell"], signal.SIGTERM)
    if job["term_at"] and now >= job["term_at"] + KILL_WAIT_S:
        _killpg(job["shell"], signal.SIGKILL)


def _start_pending(jobs: dict[str, dict[str, Any]], cfg: dict[str, Any], now: float, boot: str) -> None:
    """Queued jobs in order: a job starts when its dependencies are met and its slots are free; the
    first one that must wait for slots holds the later ones back (no job overtakes another)."""
    running = [j for j in jobs.values() if j["state"] == "RUNNING"]
    used_gpus = {d for j in running for d in j["devices"]}
    free_cores = cfg["cores"] - sum(j["cores"] for j in running)
    blocked = False
    for job in sorted((j for j in jobs.values() if j["state"] == "PENDING"), key=lambda j: _order(j["id"])):
        if job["cancel"]:
            job["state"], job["end"], job["reason"], job["exit"] = "CANCELLED", now, "None", "0:0"
            continue
        states = [jobs[d]["state"] for d in job["deps"] if d in jobs]
        if any(s not in ("COMPLETED", *ACTIVE) for s in states):
            if job["kill_invalid"]:
                job["state"], job["end"], job["reason"] = "CANCELLED", now, "DependencyNeverSatisfied"
            else:
                job["reason"] = "DependencyNeverSatisfied"
            continue
        if any(s != "COMPLETED" for s in states):
            job["reason"] = "Dependency"
            continue
        free_gpus = [g for g in range(cfg["gpus"]) if g not in used_gpus]
        siblings = [j for j in running if job.get("array_job") and j.get("array_job") == job["array_job"]]
        if job.get("array_most") and len(siblings) >= job["array_most"]:
            job["reason"] = "JobArrayTaskLimit"
            continue
        if blocked or len(free_gpus) < job["gpus"] or free_cores < job["cores"]:
            job["reason"], blocked = "Resources", True
            continue
        job["devices"] = free_gpus[: job["gpus"]]
        used_gpus.update(job["devices"])
        free_cores -= job["cores"]
        job.update(state="RUNNING", reason="None", start=now, boot=boot)
        _exit_file(job["id"]).unlink(missing_ok=True)
        spec = _home() / "run" / f"{job['id']}.json"  # what the wrapper runs (the state is written later)
        spec.write_text(json.dumps(job))
        wrapper = subprocess.Popen([sys.executable, os.path.realpath(__file__), "exec", job["id"]],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True, close_fds=True, cwd=job["workdir"])  # fmt: skip
        job["wrapper"] = wrapper.pid
        running.append(job)


def runner() -> None:
    lock = (_home() / "runner.lock").open("a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return  # another runner has it: never two
    for sub in ("exit", "run"):
        (_home() / sub).mkdir(exist_ok=True)
    boot = _boot_id()
    idle_since = _now()
    while True:
        now = _now()
        with contextlib.suppress(ChildProcessError):  # wrappers this runner started and that ended
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        with _state() as st:
            jobs = st["jobs"]
            for job in jobs.values():
                if job["state"] == "RUNNING":
                    _watch_running(job, now, boot)
            _start_pending(jobs, _config(), now, boot)
            busy = any(j["state"] in ACTIVE for j in jobs.values())
        if busy:
            idle_since = now
        elif now - idle_since > IDLE_EXIT_S:
            return
        time.sleep(TICK_S)


def exec_job(job_id: str) -> None:
    """The wrapper of one job (in its own session): the batch script under bash in a process group of
    its own, its output where ``--output``/``--error`` say, its exit code recorded when it ends."""
    home = _home()
    job = json.loads((home / "run" / f"{job_id}.json").read_text())
    env = dict(os.environ)
    env.update({"SLURM_JOB_ID": job_id, "SLURM_JOBID": job_id, "SLURM_JOB_NAME": job["name"],
                "SLURM_NTASKS": str(job["cores"]), "SLURM_CPUS_ON_NODE": str(job["cores"]),
                "SLURM_SUBMIT_DIR": job["workdir"], "SLURM_JOB_NUM_NODES": "1", "SLURM_NNODES": "1",
                "SLURM_JOB_PARTITION": job["partition"], "SLURMD_NODENAME": os.uname().nodename,
                "CUDA_VISIBLE_DEVICES": ",".join(str(d) for d in job["devices"]),
                "SLURM_JOB_GPUS": ",".join(str(d) for d in job["devices"]),
                "SLURM_ARRAY_JOB_ID": str(job.get("array_job") or ""),
                "SLURM_ARRAY_TASK_ID": "" if job.get("array_task") is None else str(job["array_task"]),
                "PATH": f"{Path(__file__).resolve().parent}:{env.get('PATH', '/usr/bin:/bin')}"})  # fmt: skip
    mode = "a" if job["append"] else "w"

    def where(pattern: str) -> Path:
        name = pattern.replace("%j", job_id).replace("%x", job["name"]).replace("%u", job["user"])
        name = name.replace("%A", str(job.get("array_job") or job_id)).replace("%a", str(job.get("array_task") or 0))
        return Path(job["workdir"]) / name

    out = where(job["output"]).open(mode)
    err = where(job["error"]).open(mode) if job["error"] else subprocess.STDOUT
    shell = subprocess.Popen(["bash", job["script"], *job["args"]], cwd=job["workdir"], env=env,
                             stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)  # fmt: skip
    (home / "run" / f"{job_id}.shell").write_text(str(shell.pid))
    code = shell.wait()
    tmp = home / "exit" / f".{job_id}.{os.getpid()}"
    tmp.write_text(str(code if code >= 0 else 128 - code))
    os.replace(tmp, _exit_file(job_id))


# -- the other commands ---------------------------------------------------------------------------
def _selected(st: dict[str, Any], opts: dict[str, str]) -> list[dict[str, Any]]:
    jobs = sorted(st["jobs"].values(), key=lambda j: _order(j["id"]))
    if opts.get("jobs"):
        wanted = {i for i in opts["jobs"].split(",") if i}
        jobs = [j for j in jobs if j["id"] in wanted or j["id"].split("_")[0] in wanted]
    if opts.get("name"):
        names = set(opts["name"].split(","))
        jobs = [j for j in jobs if j["name"] in names]
    return jobs


def _field(job: dict[str, Any], key: str, now: float) -> str:
    elapsed = ((job["end"] or now) - job["start"]) if job["start"] else 0.0
    values = {
        "i": job["id"], "T": job["state"], "r": job["reason"], "M": _clock(elapsed), "l": _clock(job["limit"]),
        "V": _iso(job["submit"]), "j": job["name"], "k": job["comment"],
        "S": _iso(job["start"]) if job["start"] else "N/A",
        "L": _clock(max(0.0, job["limit"] - elapsed)) if job["limit"] else "UNLIMITED", "u": job["user"],
        "P": job["partition"], "D": "1", "C": str(job["cores"]), "b": f"gpu:{job['gpus']}" if job["gpus"] else "N/A",
        "JobID": job["id"], "JobIDRaw": job["id"],
        "State": job["state"] + (" by 0" if job["state"] == "CANCELLED" else ""),
        "ExitCode": job["exit"], "Elapsed": _clock(elapsed), "Start": _iso(job["start"]), "End": _iso(job["end"]),
        "Reason": job["reason"], "Submit": _iso(job["submit"]), "JobName": job["name"], "Comment": job["comment"],
        "AllocCPUS": str(job["cores"]), "NCPUS": str(job["cores"]), "Timelimit": _clock(job["limit"]),
        "Partition": job["partition"], "User": job["user"], "NNodes": "1",
        "AllocTRES": f"cpu={job['cores']}" + (f",gres/gpu={job['gpus']}" if job["gpus"] else ""),
        "ElapsedRaw": str(int(elapsed)), "TimelimitRaw": str(int((job["limit"] or 0) // 60)),
    }  # fmt: skip
    return str(values.get(key, ""))


def squeue(argv: list[str]) -> None:
    opts, _ = _options(argv)
    fmt = opts.get("format", "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R")
    if "start" in opts or "-start" in opts:
        fmt = opts.get("format", "%i|%S|%r")
    now = _now()
    with _state() as st:
        jobs = [j for j in _selected(st, opts) if j["state"] in ACTIVE]
        busy = any(j["state"] in ACTIVE for j in st["jobs"].values())
    if busy:
        _ensure_runner()  # a runner killed (or the host restarted) is started again by the next look
    if "noheader" not in opts and "h" not in opts:
        print("JOBID|STATE")
    for job in jobs:

        def one(m: re.Match[str], j: dict[str, Any] = job) -> str:
            return _field(j, m.group(1), now)

        print(re.sub(r"%\.?\d*([a-zA-Z])", one, fmt))


def sacct(argv: list[str]) -> None:
    opts, _ = _options(argv)
    fields = (opts.get("format") or "JobID,JobName,Partition,State,ExitCode").split(",")
    now = _now()
    with _state() as st:
        jobs = _selected(st, opts)
        busy = any(j["state"] in ACTIVE for j in st["jobs"].values())
    if busy:
        _ensure_runner()
    for job in jobs:
        print("|".join(_field(job, f.split("%")[0], now) for f in fields))


def scancel(argv: list[str]) -> None:
    _, ids = _options(argv)
    with _state() as st:
        for raw in ids:
            named = [j for k, j in st["jobs"].items() if k == raw or k.split("_")[0] == raw]
            if not named:
                sys.stderr.write(f"scancel: error: Invalid job id {raw}\n")
            for job in named:
                if job["state"] in ACTIVE:
                    job["cancel"] = True
    _ensure_runner()


def scontrol(argv: list[str]) -> None:
    words = [w for w in argv if not w.startswith("-")]
    what = words[1] if len(words) > 1 and words[0] == "show" else ""
    if what == "reservation":
        print("No reservations in the system")
    elif what == "config":
        print("MaxArraySize            = 1001")
    elif what == "partition":
        cfg = _config()
        for i, name in enumerate(cfg["partitions"]):
            print(f"PartitionName={name} Default={'YES' if i == 0 else 'NO'} MaxTime=UNLIMITED MaxNodes=1 "
                  f"TotalCPUs={cfg['cores']} TotalNodes=1")  # fmt: skip
    else:
        _fail(f"scontrol: {' '.join(argv)}: not known to the host runner")


def sinfo(argv: list[str]) -> None:
    """The profile's partitions (all this one host), as ``sinfo -o '%P|%c|%m|%l|%G|%a|%D'`` prints them."""
    cfg = _config()
    gres = f"gpu:{cfg['gpus']}" if cfg["gpus"] else "(null)"
    for i, name in enumerate(cfg["partitions"]):
        print(f"{name}{'*' if i == 0 else ''}|{cfg['cores']}|{cfg['memory_mb']}|infinite|{gres}|up|1")


def sacctmgr(argv: list[str]) -> None:
    """No accounts, QOS or associations on a host: nothing to list."""


def main() -> None:
    name = Path(sys.argv[0]).name
    args = sys.argv[1:]
    if name in ("hostq.py", "hostq") and args:
        name, args = args[0], args[1:]
    # the short options namdrunner uses, in their long forms (squeue's -n is --name, sacct's --noheader)
    short = {"squeue": {"-h": "--noheader", "-o": "--format", "-j": "--jobs", "-n": "--name", "-u": "--user"},
             "sacct": {"-n": "--noheader", "-P": "--parsable2", "-o": "--format", "-j": "--jobs", "-u": "--user",
                       "-S": "--starttime", "-D": "--duplicates", "-X": "--allocations"}}.get(name, {})  # fmt: skip
    flags = {"--noheader", "--parsable2", "--duplicates", "--allocations", "--start"}
    args = [short.get(a, a) for a in args]
    args = [a + "=1" if a in flags else a for a in args]
    commands = {"sbatch": sbatch, "squeue": squeue, "sacct": sacct, "scancel": scancel, "scontrol": scontrol,
                "sinfo": sinfo, "sacctmgr": sacctmgr}  # fmt: skip
    if name == "runner":
        runner()
    elif name == "exec":
        exec_job(args[0])
    elif name in commands:
        commands[name](args)
    else:
        _fail(f"hostq: unknown command {name!r} ({', '.join(commands)}, runner, exec)")


if __name__ == "__main__":
    main()
