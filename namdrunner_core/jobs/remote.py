"""Batched remote scripts for the job lifecycle, and parsers of what they print.

Each script serves MANY jobs in ONE command, so that a sync costs a constant number of round trips
however many jobs are active. Scripts are fixed text; job values reach them only as quoted
positional arguments. File contents come back base64-encoded between ``@@`` marker lines.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import attrs

from namdrunner_core.namd.log import LogState, NamdLogParser, Progress
from namdrunner_core.serde import converter
from namdrunner_core.slurm.parse import SACCT_FIELDS, SQUEUE_FORMAT

#: NAMD log lines worth sending back for progress (ENERGY lines are sent one: the newest).
LOG_PATTERN = (
    r"^(ETITLE:|TIMING:|PERFORMANCE:|TCL: (Running|Minimizing) for|"
    r"Info: (NAMD |TIMESTEP|FIRST TIMESTEP|NUMBER OF STEPS|[0-9]+ ATOMS|Benchmark time|Initial time)|"
    r"WRITING |FINISHED WRITING RESTART COORD|WallClock:|"
    r"\[Partition [0-9]+\]\[Node [0-9]+\] End of program|Program finished|Warning:|ERROR:)|FATAL ERROR"
)

STATUS_SCRIPT = (
    r"""
ids=$1
echo "@@SQUEUE"
squeue -h -o '"""
    + SQUEUE_FORMAT
    + r"""' -j "$ids" 2>&1
echo "@@SQUEUE_RC $?"
echo "@@SACCT"
sacct -P -n -j "$ids" -o """
    + ",".join(SACCT_FIELDS)
    + r""" 2>&1
echo "@@SACCT_RC $?"
"""
)

_LOG_FUNCTION = (
    r"""
log_section() {  # job_id log_path offset
  local id=$1 log=$2 off=$3 size chunk consumed last partial
  if [ ! -f "$log" ]; then echo "@@LOG $id missing 0"; return; fi
  size=$(stat -c %s -- "$log")
  [ "$off" -le "$size" ] 2>/dev/null || off=0
  chunk=$(mktemp)
  tail -c +"$((off + 1))" -- "$log" | head -c "$((size - off))" > "$chunk"
  consumed=$((size - off))
  if [ "$consumed" -gt 0 ]; then
    last=$(tail -c 1 -- "$chunk" | od -An -tx1 | tr -d ' \n')
    if [ "$last" != "0a" ]; then
      partial=$(tail -n 1 -- "$chunk" | wc -c)
      consumed=$((consumed - partial))
    fi
  fi
  echo "@@LOG $id ok $consumed $off"
  { head -c "$consumed" -- "$chunk" | grep -a -E -e '"""
    + LOG_PATTERN.replace("'", "'\\''")
    + r"""';
    head -c "$consumed" -- "$chunk" | grep -a '^ENERGY:' | tail -n 1; } | base64 -w 0
  echo
  rm -f -- "$chunk"
}
"""
)

LOG_SCRIPT = (
    _LOG_FUNCTION
    + r"""
while [ $# -ge 3 ]; do log_section "$1" "$2" "$3"; shift 3; done
"""
)

FINALIZE_SCRIPT = (
    _LOG_FUNCTION
    + r"""
# Per job: id project scratch slurm_out slurm_err alt_out alt_err log_offset (alt: the desktop app's
# names for the same logs, <job_name>_<slurm id>.out/.err)
while [ $# -ge 8 ]; do
  id=$1; project=$2; scratch=$3; out=$4; err=$5; alt_out=$6; alt_err=$7; off=$8; shift 8
  echo "@@JOB $id"
  if [ -d "$scratch" ]; then
    # job_info.json stays out: the project copy is the current one (the desktop app's bug).
    errf=$(mktemp)
    rsync -a --exclude=job_info.json -- "$scratch/" "$project/" 2> "$errf"
    rc=$?
    echo "@@RSYNC $rc $(tail -c 300 -- "$errf" | tr '\n\t' '  ')"
    rm -f -- "$errf"
    if [ "$rc" = 0 ]; then
      # Verified copy-back: a manifest of every file on scratch (name and sha256, so size too), checked
      # against the project copy, both here on the cluster. Only a full match makes the results safe
      # from the purge (an unreadable scratch file fails the manifest, a missing or different copy the check).
      man=$(mktemp)
      if (cd -- "$scratch" && find . -type f ! -name job_info.json -print0 | LC_ALL=C sort -z \
            | xargs -0 -r sha256sum --) > "$man" \
         && { [ ! -s "$man" ] || (cd -- "$project" && sha256sum --quiet --status -c -- "$man" 2>/dev/null); }; then
        echo "@@VERIFY ok"
      else
        echo "@@VERIFY mismatch"
      fi
      rm -f -- "$man"
    fi
  else
    echo "@@RSYNC missing"
  fi
  for pair in "$out/$alt_out" "$err/$alt_err" ".namdrunner_exit/.namdrunner_exit"; do
    f=${pair%%/*}; alt=${pair#*/}
    echo "@@FILE $f"
    if [ -f "$project/$f" ]; then tail -c 65536 -- "$project/$f" | base64 -w 0
    elif [ -f "$project/$alt" ]; then tail -c 65536 -- "$project/$alt" | base64 -w 0; fi
    echo
  done
  echo "@@LIST"
  (cd -- "$project" 2>/dev/null && find . -path ./input_files -prune -o -type f ! -name '.nr*' ! -name '.namdrunner*' \
     -printf '%P\t%s\t%TY-%Tm-%TdT%TH:%TM:%.2TSZ\n')
  echo "@@ENDLIST"
  log_section "$id" "$project/namd_output.log" "$off"
done
"""
)

WRITE_FILES_SCRIPT = r"""
# stdin: records "<path>\t<size>\n" followed by <size> bytes; every path must be below a root argument.
roots=("$@")
while IFS=$'\t' read -r path size; do
  [ -n "$path" ] || continue
  ok=0
  for r in "${roots[@]}"; do case "$path" in "$r"/*) ok=1 ;; esac; done
  case "$path" in *..*) ok=0 ;; esac
  tmp="$path.nrtmp.$$"
  if [ "$ok" = 1 ] && [ -d "$(dirname -- "$path")" ]; then
    head -c "$size" > "$tmp" && mv -f -- "$tmp" "$path" && echo "@@WROTE $path"
  else
    head -c "$size" > /dev/null; echo "@@SKIPPED $path"
  fi
done
"""

DISCOVER_SCRIPT = r"""
root=$1
[ -d "$root" ] || exit 0
for f in "$root"/*/job_info.json; do
  [ -f "$f" ] || continue
  [ -L "$(dirname -- "$f")" ] && continue
  echo "@@INFO $(basename -- "$(dirname -- "$f")")"
  head -c 1048576 -- "$f" | base64 -w 0
  echo
done
"""


@attrs.frozen(slots=True)
class StatusOutput:
    """What the status script printed: squeue and sacct text and whether each answered."""

    squeue: str
    squeue_ok: bool
    sacct: str
    sacct_ok: bool


def parse_status_output(text: str) -> StatusOutput:
    """Split the status script's output; an "Invalid job id" from squeue means "none queued"."""
    sections: dict[str, list[str]] = {"SQUEUE": [], "SACCT": []}
    rcs: dict[str, int] = {}
    current: str | None = None
    for line in text.split("\n"):
        if line.startswith("@@SQUEUE_RC ") or line.startswith("@@SACCT_RC "):
            key, _, rc = line[2:].partition(" ")
            rcs[key[: -len("_RC")]] = int(rc) if rc.strip().isdigit() else 1
            current = None
        elif line in ("@@SQUEUE", "@@SACCT"):
            current = line[2:]
        elif current is not None:
            sections[current].append(line)
    squeue = "\n".join(sections["SQUEUE"])
    squeue_ok = rcs.get("SQUEUE", 1) == 0 or "Invalid job id" in squeue
    return StatusOutput(squeue, squeue_ok, "\n".join(sections["SACCT"]), rcs.get("SACCT", 1) == 0)


@attrs.frozen(slots=True)
class LogChunk:
    """New, filtered NAMD log lines for one job and the byte offset they advance to."""

    job_id: str
    found: bool
    data: bytes
    new_offset: int


@attrs.frozen(slots=True)
class FinalizeOutput:
    """What the finalize script found for one job."""

    job_id: str
    rsync_ok: bool
    files: dict[str, bytes]
    listing: list[tuple[str, int, str]]
    log: LogChunk | None
    #: "verified" (manifests equal), "failed" (with ``copy_back_error``) or "none" (nothing on scratch)
    copy_back: str = "failed"
    copy_back_error: str | None = None


def advance_log(
    log_state: dict[str, Any] | None, chunk: LogChunk | None, total_steps: int | None
) -> tuple[Progress, LogState]:
    """A job's stored NAMD-log state advanced by a fetched chunk: (progress, new state)."""
    state = converter.structure(log_state, LogState) if log_state else LogState()
    parser = NamdLogParser(state)
    if chunk is not None and chunk.found:
        parser.feed(chunk.data)
        parser.state.offset = chunk.new_offset
    return parser.progress(total_steps), parser.state


def log_offset(log_state: dict[str, Any] | None) -> int:
    """Where the next read of a job's NAMD log starts."""
    return int(log_state.get("offset", 0)) if log_state else 0


def _b64(line: str) -> bytes:
    try:
        return base64.b64decode(line.strip(), validate=False)
    except (ValueError, TypeError):
        return b""


def _log_header(line: str) -> tuple[str, bool, int, int]:
    parts = line.split()
    job_id = parts[1] if len(parts) > 1 else ""
    if len(parts) >= 5 and parts[2] == "ok":
        return job_id, True, int(parts[3]), int(parts[4])
    return job_id, False, 0, 0


def parse_log_output(text: str) -> dict[str, LogChunk]:
    """Parse LOG_SCRIPT output into chunks by job id."""
    out: dict[str, LogChunk] = {}
    lines = iter(text.split("\n"))
    for line in lines:
        if line.startswith("@@LOG "):
            job_id, found, consumed, off = _log_header(line)
            data = _b64(next(lines, "")) if found else b""
            out[job_id] = LogChunk(job_id, found, data, off + consumed)
    return out


def parse_finalize_output(text: str) -> dict[str, FinalizeOutput]:
    """Parse FINALIZE_SCRIPT output into one result per job."""
    results: dict[str, FinalizeOutput] = {}
    lines: Iterator[str] = iter(text.split("\n"))
    job_id: str | None = None
    rsync_ok = False
    files: dict[str, bytes] = {}
    listing: list[tuple[str, int, str]] = []
    copy_back, copy_error = "failed", None
    for line in lines:
        if line.startswith("@@JOB "):
            job_id, rsync_ok, files, listing = line[6:].strip(), False, {}, []
            copy_back, copy_error = "failed", "copy-back not attempted"
        elif line.startswith("@@RSYNC "):
            rc, _, why = line[8:].strip().partition(" ")
            rsync_ok = rc == "0"
            if rc == "missing":
                copy_back, copy_error = "none", None  # nothing on scratch to copy back
            elif not rsync_ok:
                copy_back, copy_error = "failed", f"rsync scratch -> project exit {rc}: {why.strip()}"[:400]
        elif line.startswith("@@VERIFY "):
            if line[9:].strip() == "ok":
                copy_back, copy_error = "verified", None
            else:
                copy_back, copy_error = "failed", "the project copy differs from scratch (sha256 manifests)"
        elif line.startswith("@@FILE "):
            files[line[7:].strip()] = _b64(next(lines, ""))
        elif line == "@@LIST":
            for entry in lines:
                if entry == "@@ENDLIST":
                    break
                parts = entry.split("\t")
                if len(parts) == 3 and parts[1].isdigit():
                    listing.append((parts[0], int(parts[1]), parts[2]))
        elif line.startswith("@@LOG ") and job_id is not None:
            lid, found, consumed, off = _log_header(line)
            data = _b64(next(lines, "")) if found else b""
            results[job_id] = FinalizeOutput(
                job_id, rsync_ok, files, listing, LogChunk(lid, found, data, off + consumed), copy_back, copy_error
            )
            job_id = None
    return results


def parse_discover_output(text: str) -> list[tuple[str, bytes]]:
    """(directory name, job_info.json bytes) pairs from DISCOVER_SCRIPT."""
    out = []
    lines = iter(text.split("\n"))
    for line in lines:
        if line.startswith("@@INFO "):
            out.append((line[7:].strip(), _b64(next(lines, ""))))
    return out
