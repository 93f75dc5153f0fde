#!/usr/bin/env python3
"""The fake Slurm's commands: ``fake_slurm.py sbatch|squeue|sacct|scancel ARGS...`` (stdlib only).

State lives in ``$NR_FAKE_SLURM_STATE/jobs.json`` under a file lock. Jobs really run: ``sbatch``
starts the batch script with bash in the background (in its own session, with ``SLURM_JOB_ID``,
``SLURM_NTASKS``, ``SLURM_ARRAY_*``), honours ``--output/--error/--array`` from ``#SBATCH`` lines and
``--dependency=afterok:ID`` (``aftercorr:ARRAY``: task i after task i) with ``--kill-on-invalid-dep``;
every command first advances the state machine (a finished script's exit code makes the job COMPLETED
or FAILED, a satisfied dependency starts the job). Output formats are Slurm's for what namdrunner
asks (``squeue -o`` with %i %T %r %M %l %j %k, ``sacct -P -o`` fields), including "Invalid job id
specified" for unknown ids.

This is test infrastructure for :class:`namdrunner_core.testing.FakeSlurm`; it is not Slurm.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STATE = Path(os.environ.get("NR_FAKE_SLURM_STATE", "/tmp/nr-fake-slurm"))  # noqa: S108 - test default
ACTIVE = ("PENDING", "RUNNING")


@contextlib.contextmanager
def _locked() -> Iterator[dict[str, Any]]:
    STATE.mkdir(parents=True, exist_ok=True)
    import fcntl  # the fake cluster is POSIX, as the clusters it stands in for

    with (STATE / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = STATE / "jobs.json"
        data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"next": 1000, "jobs": {}}
        yield data
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(path)


def _now() -> str:
    return dt.datetime.now().replace(microsecond=0).isoformat()


def _elapsed(job: dict[str, Any]) -> str:
    if not job.get("start"):
        return "00:00:00"
    end = dt.datetime.fromisoformat(job["end"]) if job.get("end") else dt.datetime.now()
    s = max(0, int((end - dt.datetime.fromisoformat(job["start"])).total_seconds()))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _directives(script: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in script.read_text(errors="replace").splitlines():
        m = re.match(r"#SBATCH\s+--([a-z-]+)(?:=(.*))?$", line.strip())
        if m:
            out[m.group(1)] = (m.group(2) or "").strip()
    return out


def _pattern(name: str, job: dict[str, Any]) -> str:
    """``--output`` patterns: %j (job id), %A (array id), %a (task)."""
    return (
        name.replace("%j", job["id"]).replace("%A", job.get("array_id") or "").replace("%a", str(job.get("task", "")))
    )


def _start(job: dict[str, Any]) -> None:
    env = dict(os.environ)
    env.update(SLURM_JOB_ID=job["id"], SLURM_JOBID=job["id"], SLURM_NTASKS=str(job["ntasks"]),
               SLURM_SUBMIT_DIR=job["workdir"], SLURM_JOB_NAME=job["name"])  # fmt: skip
    if job.get("array_id") is not None:
        env.update(SLURM_ARRAY_JOB_ID=job["array_id"], SLURM_ARRAY_TASK_ID=str(job["task"]))
    out, err = _pattern(job["output"], job), _pattern(job["error"], job)
    rc_file = STATE / f"{job['id']}.rc"
    wrapper = 'bash "$1" > "$2" 2> "$3"; echo $? > "$4.tmp"; mv -f "$4.tmp" "$4"'
    proc = subprocess.Popen(
        ["/bin/bash", "-c", wrapper, "fake-slurm-job", job["script"], out, err, str(rc_file)],
        cwd=job["workdir"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    job.update(state="RUNNING", pid=proc.pid, start=_now(), reason="None")


def _advance(data: dict[str, Any]) -> None:
    jobs = data["jobs"]
    for job in sorted(jobs.values(), key=lambda j: int(j["id"].split("_")[0])):
        if job["state"] == "RUNNING":
            rc_file = STATE / f"{job['id']}.rc"
            if rc_file.exists():
                rc = int(rc_file.read_text().strip() or 1)
                job.update(state="COMPLETED" if rc == 0 else "FAILED", exit_code=f"{rc}:0", end=_now())
        elif job["state"] == "PENDING":
            dep = job.get("dependency")
            if dep:
                states = [jobs[d]["state"] if d in jobs else "COMPLETED" for d in dep]
                if any(s in ("FAILED", "CANCELLED", "TIMEOUT") for s in states):
                    if job.get("kill_on_invalid_dep"):
                        job.update(state="CANCELLED", reason="DependencyNeverSatisfied", end=_now())
                    else:
                        job["reason"] = "DependencyNeverSatisfied"
                    continue
                if any(s != "COMPLETED" for s in states):
                    job["reason"] = "Dependency"
                    continue
            _start(job)


def sbatch(args: list[str]) -> int:
    opts: dict[str, str] = {}
    script = None
    for a in args:
        if a.startswith("--"):
            key, _, value = a[2:].partition("=")
            opts[key] = value
        else:
            script = a
    if script is None:
        print("sbatch: error: no batch script", file=sys.stderr)
        return 1
    path = Path(script).resolve()
    if not path.is_file():
        print(f"sbatch: error: Unable to open file {script}", file=sys.stderr)
        return 1
    d = {**_directives(path), **opts}
    with _locked() as data:
        array_id = str(data["next"])
        data["next"] += 1
        kind, _, on = d.get("dependency", "").partition(":")
        dep = [x for x in on.split(":") if x]
        output = d.get("output") or "slurm-%j.out"
        base = {
            "name": d.get("job-name") or path.name, "comment": d.get("comment", ""), "workdir": os.getcwd(),
            "script": str(path), "output": output, "error": d.get("error") or output,
            "ntasks": int(d.get("ntasks") or 1), "limit": d.get("time", "1:00:00"), "state": "PENDING",
            "reason": "None", "submit": _now(), "dependency": dep, "exit_code": "0:0",
            "kill_on_invalid_dep": d.get("kill-on-invalid-dep") == "yes",
        }  # fmt: skip
        if "array" in d:
            lo, _, hi = d["array"].partition("-")
            for i in range(int(lo), int(hi or lo) + 1):
                tid = f"{array_id}_{i}"
                own = [f"{x}_{i}" for x in dep] if kind == "aftercorr" else dep  # task i after task i
                data["jobs"][tid] = {**base, "id": tid, "array_id": array_id, "task": i, "dependency": own}
        else:
            data["jobs"][array_id] = {**base, "id": array_id}
        _advance(data)
    print(array_id)
    return 0


def _matches(job: dict[str, Any], ids: list[str]) -> bool:
    return not ids or job["id"] in ids or job.get("array_id") in ids


def _opt(args: list[str], *names: str) -> str | None:
    for i, a in enumerate(args):
        for n in names:
            if a == n and i + 1 < len(args):
                return args[i + 1]
            if n.startswith("--") and a.startswith(n + "="):
                return a[len(n) + 1 :]
    return None


SQUEUE_CODES = {"i": "id", "T": "state", "r": "reason", "j": "name", "k": "comment", "l": "limit", "V": "submit"}


def squeue(args: list[str]) -> int:
    fmt = _opt(args, "-o", "--format") or "%i %T %j"
    ids = [x for x in (_opt(args, "-j", "--jobs") or "").split(",") if x]
    name = _opt(args, "-n", "--name")
    with _locked() as data:
        _advance(data)
        jobs = list(data["jobs"].values())
    if ids and not any(_matches(j, ids) for j in jobs):
        print("slurm_load_jobs error: Invalid job id specified", file=sys.stderr)
        return 1
    for job in jobs:
        if job["state"] not in ACTIVE or not _matches(job, ids) or (name and job["name"] != name):
            continue

        def field(m: re.Match[str], job: dict[str, Any] = job) -> str:
            code = m.group(1)
            return _elapsed(job) if code == "M" else str(job.get(SQUEUE_CODES.get(code, ""), ""))

        print(re.sub(r"%\.?\d*([a-zA-Z])", field, fmt))
    return 0


def sacct(args: list[str]) -> int:
    fields = (_opt(args, "-o", "--format") or "JobID,State").split(",")
    ids = [x for x in (_opt(args, "-j", "--jobs") or "").split(",") if x]
    name = _opt(args, "--name")
    with _locked() as data:
        _advance(data)
        jobs = list(data["jobs"].values())
    for job in jobs:
        if not _matches(job, ids) or (name and job["name"] != name):
            continue
        values = {"JobID": job["id"], "State": job["state"], "ExitCode": job["exit_code"], "Elapsed": _elapsed(job),
                  "Start": job.get("start") or "Unknown", "End": job.get("end") or "Unknown",
                  "Reason": job.get("reason") or "None", "JobName": job["name"], "Comment": job["comment"],
                  "Submit": job.get("submit", "")}  # fmt: skip
        print("|".join(values.get(f, "") for f in fields))
    return 0


def scancel(args: list[str]) -> int:
    ids = [a for a in args if not a.startswith("-")]
    with _locked() as data:
        _advance(data)
        for job in data["jobs"].values():
            if not _matches(job, ids) or job["state"] not in ACTIVE:
                continue
            if job["state"] == "RUNNING" and job.get("pid"):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(job["pid"], signal.SIGTERM)
            job.update(state="CANCELLED", end=_now(), exit_code="0:15")
    time.sleep(0.05)
    return 0


def main() -> int:
    command, args = sys.argv[1], sys.argv[2:]
    return {"sbatch": sbatch, "squeue": squeue, "sacct": sacct, "scancel": scancel}[command](args)


if __name__ == "__main__":
    sys.exit(main())
