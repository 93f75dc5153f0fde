"""The single-job lifecycle: create, submit, track, finish, fetch, cancel, delete.

Everything is validated before the cluster is touched (:func:`prepare_job` does no remote I/O and
also serves ``--dry-run``). A creation that fails midway removes its remote directory through the
safety check, so no half job is left behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from namdrunner_core.errors import (
    NamdRunnerError,
    NotFoundError,
    RemoteCommandError,
    SchedulerError,
    ValidationError,
)
from namdrunner_core.jobs.record import (
    JOB_INFO_NAME,
    JobRecord,
    OutputFile,
    ProgressSummary,
    job_info_bytes,
    utcnow,
)
from namdrunner_core.jobs.remote import LOG_SCRIPT, advance_log, log_offset, parse_log_output
from namdrunner_core.jobs.safety import remove_job_dir
from namdrunner_core.jobs.submission import find_by_token, submit_once
from namdrunner_core.namd.config import (
    INPUT_DIR,
    Template,
    check_config,
    missing_references,
    read_config,
    render_config,
    total_steps,
    validate_values,
)
from namdrunner_core.namd.inputs import check_file_name, check_input_files
from namdrunner_core.namd.library import builtin_templates
from namdrunner_core.namd.log import LogState, Progress
from namdrunner_core.serde import converter
from namdrunner_core.slurm.resources import ResolvedResources, Resources, resolve_resources
from namdrunner_core.slurm.script import CONFIG_NAME, NAMD_LOG_NAME, SCRIPT_NAME, render_sbatch
from namdrunner_core.slurm.states import JobStatus
from namdrunner_core.transport.base import ProgressCallback
from namdrunner_core.transport.transfer import TreeTransferReport, get_tree, put_files

if TYPE_CHECKING:
    from namdrunner_core.cluster import ClusterProfile, Session
    from namdrunner_core.store import JobStore

_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
SUBMITTABLE = (JobStatus.CREATED, JobStatus.FAILED, JobStatus.CANCELLED)


def make_job_id(name: str, now: dt.datetime | None = None) -> str:
    """``<sanitised name>_<microsecond timestamp>``, as the desktop app makes them."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("name", "a job needs a name (any printable text)")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ValidationError("name", "the name holds control characters")
    safe = _NAME_CHARS.sub("_", name.strip()).strip("_-")[:60] or "job"
    if not safe[0].isalnum():
        safe = "job_" + safe
    stamp = int((now or utcnow()).timestamp() * 1_000_000)
    return f"{safe}_{stamp}"


def resolve_template(store: JobStore | None, template: str | Template) -> Template:
    """A Template object, a builtin id, or a user template id from the store."""
    if isinstance(template, Template):
        return template
    builtins = builtin_templates()
    if template in builtins:
        return builtins[template]
    if store is not None:
        try:
            return store.get_template(template)
        except NotFoundError:
            pass
    user = [t.id for t in store.list_templates()] if store is not None else []
    raise ValidationError(
        "template",
        f"unknown template {template!r}"
        + (
            f" (did you mean {close[0]}?)"
            if (close := difflib.get_close_matches(template, [*builtins, *user], n=1))
            else ""
        )
        + f"; known: {', '.join(sorted(builtins) + sorted(user))}",
    )


#: Extensions too generic to say what a file is: such a file fills a variable only when named with
#: ``--set KEY=file`` (a notes.txt must never switch extraBonds on by itself).
GENERIC_EXTENSIONS = frozenset({".txt", ".dat", ".in", ".log", ".csv"})


def _assign_files(template: Template, values: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """Fill file variables left empty from the uploaded files, by the template's declared extensions
    (generic ones such as ``.txt`` excepted), in template order."""
    out = dict(values)
    used = {str(v) for k, v in values.items() if v}
    for var in template.file_variables():
        if out.get(var.key):
            continue
        for name in names:
            if name in used:
                continue
            if any(
                name.lower().endswith(ext.lower()) for ext in var.extensions if ext.lower() not in GENERIC_EXTENSIONS
            ):
                out[var.key] = name
                used.add(name)
                break
    return out


@attrs.frozen(slots=True)
class PreparedJob:
    """A job validated and rendered, not yet on any cluster (``--dry-run`` shows this)."""

    record: JobRecord
    template: Template
    resources: ResolvedResources
    config_text: str
    sbatch_text: str
    files: dict[str, Path]
    remote_inputs: dict[str, str] = attrs.Factory(dict)


_MAX_SOURCE_BYTES = 4 * 1024 * 1024


def _source_texts(config_text: str, local_files: Mapping[str, Path]) -> dict[str, str]:
    """The texts of the files a config ``source``s that are among the job's local inputs (by base name)."""
    texts: dict[str, str] = {}
    pending = [config_text]
    while pending and len(texts) < 20:
        for target in read_config(pending.pop()).sources:
            name = target.rsplit("/", 1)[-1]
            path = local_files.get(name)
            if name in texts or path is None or path.stat().st_size > _MAX_SOURCE_BYTES:
                continue
            texts[name] = path.read_text(encoding="utf-8", errors="replace")
            pending.append(texts[name])
    return texts


def prepare_job(
    profile: ClusterProfile,
    user: str,
    store: JobStore | None,
    *,
    name: str,
    template: str | Template,
    values: Mapping[str, Any] | None = None,
    files: Sequence[str | Path] = (),
    resources: Resources,
    parent_job_id: str | None = None,
    workflow_id: str | None = None,
    workflow_stage: int | None = None,
    remote_inputs: Mapping[str, str] | None = None,
    staged_inputs: Mapping[str, str] | None = None,
    now: dt.datetime | None = None,
    run_preflight: bool = True,
) -> PreparedJob:
    """Validate everything and render the config and script. No remote I/O.

    Raises :class:`ValidationError` naming the field for any problem: unknown template or value out
    of range, missing or malformed input file, resources over a limit, or a config NAMD would refuse.

    ``remote_inputs`` (file name -> path on the cluster) are copied into ``input_files/`` on the
    cluster when the job is created (a restart's checkpoint); ``staged_inputs`` are copied when the
    job starts (a workflow stage's predecessor outputs, which do not exist yet).
    """
    tmpl = resolve_template(store, template)
    paths = [Path(f).expanduser() for f in files]
    for p in paths:
        if not p.is_file():
            raise ValidationError(f"file {p.name or p}", f"not found at {p}")
    check_input_files(paths)
    by_name = {p.name: p for p in paths}
    remote = dict(remote_inputs or {})
    staged = dict(staged_inputs or {})
    for fname, src in {**remote, **staged}.items():
        check_file_name(fname, field=f"file {fname}")
        if not src.startswith("/") or ".." in src.split("/"):
            raise ValidationError(f"file {fname}", f"remote source {src!r} must be an absolute path without '..'")
        if fname in by_name:
            raise ValidationError(f"file {fname}", "given both as a local file and as a remote input")
    available = [*by_name, *remote, *staged]
    filled = _assign_files(tmpl, tmpl.canonical(values or {}), list(by_name))
    for var in tmpl.file_variables():
        given = filled.get(var.key)
        if given and str(given) not in available:
            raise ValidationError(var.key, f"{given!r} is not among the files given; add it with --file")
    config_text = render_config(tmpl, filled)
    includes = _source_texts(config_text, by_name)
    report = check_config(config_text, includes=includes)
    notes = list(report.warnings) + missing_references(config_text, available, includes)
    assigned = {str(v) for v in filled.values() if v}
    notes += [
        f"{n} is uploaded but no template variable uses it (name it with --set KEY={n})"
        for n in by_name
        if n not in assigned and n not in includes
    ]
    if report.problems and run_preflight:
        raise ValidationError(
            "config",
            "NAMD would refuse this config: " + "; ".join(report.problems) + " (--no-preflight submits it anyway)",
        )
    if not run_preflight:
        notes.insert(0, "preflight skipped (--no-preflight)" + "".join(f"; would refuse: {p}" for p in report.problems))
    resolved = resolve_resources(resources, profile)
    now = now or utcnow()
    job_id = make_job_id(name, now)
    jobs_root, scratch_root = profile.roots_for(user)
    project_dir, scratch_dir = f"{jobs_root}/{job_id}", f"{scratch_root}/{job_id}"
    sbatch_text = render_sbatch(
        job_name=job_id,
        job_id=job_id,
        workdir=scratch_dir,
        resources=resolved,
        profile=profile,
        stage_in=sorted((src, fname) for fname, src in staged.items()),
    )
    # stored typed (steps 2000, not "2000"), under the template's own keys
    given = tmpl.canonical(filled)
    typed = validate_values(tmpl, given)
    checked_values = {k: typed[k] for k in given}
    record = JobRecord(
        job_id=job_id,
        job_name=name.strip(),
        profile=profile.name,
        remote_user=user,
        status=JobStatus.CREATED,
        template_id=tmpl.id,
        template_values=checked_values,
        resources=attrs.evolve(
            resources,
            partition=resolved.partition.name,
            qos=resolved.qos.name,
            walltime=resolved.walltime,
            gpu_type=resolved.gpu_type,
        ),
        project_dir=project_dir,
        scratch_dir=scratch_dir,
        created_at=now,
        updated_at=now,
        input_files=sorted(available),
        total_steps=total_steps(config_text),
        parent_job_id=parent_job_id,
        workflow_id=workflow_id,
        workflow_stage=workflow_stage,
        preflight_notes=notes,
    )
    uploads = {f"{INPUT_DIR}/{n}": p for n, p in by_name.items()}
    return PreparedJob(record, tmpl, resolved, config_text, sbatch_text, uploads, remote)


@attrs.frozen(slots=True)
class JobOutputs:
    """Files of a job on project storage and on scratch."""

    project: list[OutputFile]
    scratch: list[OutputFile]


class Job:
    """A job in the store, bound to a session. Use :meth:`create` or :meth:`load`."""

    def __init__(self, session: Session, store: JobStore, record: JobRecord) -> None:
        self.session = session
        self.store = store
        self.record = record

    def __repr__(self) -> str:
        return f"<Job {self.record.job_id} {self.record.status.value}>"

    @property
    def id(self) -> str:
        """The job id (also the name of its remote directories)."""
        return self.record.job_id

    @property
    def status(self) -> JobStatus:
        """The status as last synced."""
        return self.record.status

    # -- creation -------------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        session: Session,
        store: JobStore,
        *,
        name: str,
        template: str | Template,
        values: Mapping[str, Any] | None = None,
        files: Sequence[str | Path] = (),
        resources: Resources,
        progress: ProgressCallback | None = None,
        extra_files: Mapping[str, bytes] | None = None,
        parent_job_id: str | None = None,
        workflow_id: str | None = None,
    ) -> Job:
        """Validate, upload inputs, config, script and ``job_info.json``, and store the job.

        Nothing touches the cluster when validation fails; a failure after the job directory was
        made removes it again (through the safety check) and leaves no row in the store.
        """
        prepared = prepare_job(
            session.profile,
            session.user,
            store,
            name=name,
            template=template,
            values=values,
            files=files,
            resources=resources,
            parent_job_id=parent_job_id,
            workflow_id=workflow_id,
        )
        return cls.create_prepared(session, store, prepared, progress=progress, extra_files=extra_files)

    @classmethod
    def create_prepared(
        cls,
        session: Session,
        store: JobStore,
        prepared: PreparedJob,
        *,
        progress: ProgressCallback | None = None,
        extra_files: Mapping[str, bytes] | None = None,
    ) -> Job:
        """Upload a :class:`PreparedJob` and store it (see :meth:`create`)."""
        record = prepared.record
        t = session.transport
        d = record.project_dir
        try:
            t.run(["mkdir", "-p", "-m", "0755", "--", session.jobs_root])
            t.run(["mkdir", "-m", "0755", "--", d], idempotent=False)
        except RemoteCommandError as exc:
            raise NamdRunnerError(f"cannot create job directory {d}: {exc.stderr.strip() or exc}") from exc
        try:
            t.run(["mkdir", "-m", "0755", "--", f"{d}/{INPUT_DIR}", f"{d}/outputs"])
            if prepared.remote_inputs:
                _copy_remote_inputs(session, prepared.remote_inputs, f"{d}/{INPUT_DIR}")
            payload: dict[str, Path | bytes] = dict(prepared.files)
            for rel, data in (extra_files or {}).items():
                payload[rel] = data
            payload[CONFIG_NAME] = prepared.config_text.encode()
            payload[SCRIPT_NAME] = prepared.sbatch_text.encode()
            payload[JOB_INFO_NAME] = job_info_bytes(record)
            put_files(t, payload, d, progress=progress, incremental=False)
            store.add_job(record)
        except BaseException:
            # The original error matters more; if cleanup fails too, the dir is left for `job delete`.
            with contextlib.suppress(NamdRunnerError):
                remove_job_dir(session, "project", record.job_id)
            raise
        return cls(session, store, record)

    @classmethod
    def load(cls, session: Session, store: JobStore, job_id: str) -> Job:
        """A stored job by id (or unique prefix)."""
        return cls(session, store, store.get_job(job_id))

    # -- submission -----------------------------------------------------------------------------
    def submit(self, *, dependency: str | None = None) -> Job:
        """Copy the project dir to scratch ON the cluster, ``sbatch --parsable`` there, record the id.

        Never double-submits: each attempt carries a token in ``--comment``; if the connection
        drops during sbatch, the queue is searched for the token before anything is retried.
        """
        r = self.record
        if r.status not in SUBMITTABLE:
            raise ValidationError(
                "status", f"job {r.job_id} is {r.status.value}; only Created, Failed or Cancelled jobs can be submitted"
            )
        s = self.session
        previous = r.slurm_job_id
        # A token saved by an attempt that never learned its Slurm id (a crash, a lost connection):
        # that attempt may have queued the job, so look for it before submitting again.
        adopted = find_by_token(s, r.submit_token, r.job_id, after_id=previous) if r.submit_token else None
        if adopted is not None and adopted != previous:
            return self._submitted(r, adopted)
        token = f"nr-{secrets.token_hex(6)}"
        r = attrs.evolve(r, submit_token=token, updated_at=utcnow())
        self.store.save_job(r)
        self.record = r
        s.transport.run_script(
            'mkdir -p -- "$(dirname -- "$2")" && rsync -a -- "$1/" "$2/"',
            [r.project_dir, r.scratch_dir],
        )
        extra = []
        if dependency:
            # A failed predecessor makes Slurm cancel this job instead of leaving it pending forever.
            extra += [f"--dependency={dependency}", "--kill-on-invalid-dep=yes"]
        try:
            slurm_id = submit_once(
                s,
                workdir=r.scratch_dir,
                script_name=SCRIPT_NAME,
                token=token,
                job_name=r.job_id,
                extra=extra,
                after_id=previous,
            )
        except SchedulerError as exc:
            self.record = attrs.evolve(r, error_info=exc.scheduler_message, updated_at=utcnow())
            self.store.save_job(self.record)
            raise
        return self._submitted(r, slurm_id)

    def _submitted(self, r: JobRecord, slurm_id: str) -> Job:
        """Record a submission: PENDING with its Slurm id, the last run's results cleared."""
        s = self.session
        now = utcnow()
        r = attrs.evolve(
            r,
            status=JobStatus.PENDING,
            slurm_job_id=slurm_id,
            slurm_state="PENDING",
            slurm_reason=None,
            submitted_at=now,
            completed_at=None,
            updated_at=now,
            error_info=None,
            finalized=False,
            log_state=None,
            progress=None,
            exit_code=None,
            slurm_stdout=None,
            slurm_stderr=None,
        )
        self.record = r
        self.store.save_job(r)
        from namdrunner_core.jobs.sync import write_job_infos

        write_job_infos(s, [r])
        return self

    # -- tracking -------------------------------------------------------------------------------
    def refresh(self) -> Job:
        """Sync this one job with Slurm (see :meth:`JobStore.sync`)."""
        from namdrunner_core.jobs.sync import sync_jobs

        sync_jobs(self.store, self.session, [self.record])
        self.record = self.store.get_job(self.record.job_id)
        return self

    def wait(
        self, *, timeout: float = 3600, poll: Callable[[Job], None] | None = None, max_interval: float = 60.0
    ) -> Job:
        """Sync until the job is finished, backing off 2, 4, 8 ... s (capped): polite to login nodes."""
        deadline = time.monotonic() + timeout
        interval = 2.0
        while True:
            self.refresh()
            if poll:
                poll(self)
            if self.record.status.is_terminal and self.record.finalized:
                return self
            if time.monotonic() > deadline:
                raise NamdRunnerError(f"job {self.id} still {self.record.status.value} after {timeout:g} s")
            time.sleep(interval)
            interval = min(interval * 2, max_interval)

    def progress(self) -> Progress:
        """Parse the NAMD log's new lines (one remote command) and return step, %, ns/day, ETA."""
        r = self.record
        args = [r.job_id, f"{r.results_dir}/{NAMD_LOG_NAME}", str(log_offset(r.log_state))]
        chunk = parse_log_output(self.session.transport.run_script(LOG_SCRIPT, args).stdout).get(r.job_id)
        prog, state = advance_log(r.log_state, chunk, r.total_steps)
        self.record = attrs.evolve(
            r, log_state=converter.unstructure(state), progress=summary_from(prog, state), updated_at=utcnow()
        )
        self.store.save_job(self.record)
        return prog

    def logs(
        self,
        kind: Literal["slurm", "namd"] = "slurm",
        *,
        tail: int | None = None,
        stream: Literal["out", "err", "both"] = "both",
    ) -> str:
        """Slurm's stdout/stderr (cached once the job finished) or the NAMD log, optionally the last lines."""
        r = self.record
        if kind == "slurm":
            names = r.slurm_output_names
            if names is None:
                raise NotFoundError(f"job {r.job_id} has not been submitted: no Slurm logs yet")
            if r.finalized and r.slurm_stdout is not None:
                parts = {"out": r.slurm_stdout or "", "err": r.slurm_stderr or ""}
            else:
                alt = r.app_slurm_output_names or names  # a job the desktop app made names them after the job
                found: dict[str, str | None] = {}
                for k, n, a in zip(("out", "err"), names, alt, strict=True):
                    try:
                        found[k] = self._cat_first(
                            [f"{r.scratch_dir}/{n}", f"{r.scratch_dir}/{a}", f"{r.project_dir}/{a}"]
                        )
                    except NotFoundError:
                        found[k] = None
                if all(v is None for v in found.values()):
                    raise NotFoundError(f"job {r.job_id}: Slurm's logs are not there yet ({r.status.value})")
                parts = {k: v or "" for k, v in found.items()}
            chosen = [parts["out"], parts["err"]] if stream == "both" else [parts[stream]]
            text = "".join(p if p.endswith("\n") or not p else p + "\n" for p in chosen)
        else:
            text = self._cat(f"{r.results_dir}/{NAMD_LOG_NAME}", tail=tail)
        if tail is not None:
            text = "\n".join(text.splitlines()[-tail:]) + ("\n" if text else "")
        return text

    def _cat_first(self, paths: list[str]) -> str:
        """The first of ``paths`` that exists, in one remote command."""
        script = 'for p in "$@"; do if [ -f "$p" ]; then exec cat -- "$p"; fi; done; exit 44'
        res = self.session.transport.run_script(script, paths, check=False)
        if res.exit_code != 0:
            raise NotFoundError(f"{paths[0]} is not there yet (job {self.record.status.value})")
        return res.stdout

    def _cat(self, path: str, tail: int | None = None) -> str:
        args = ["tail", "-n", str(tail), "--", path] if tail else ["cat", "--", path]
        res = self.session.transport.run(args, check=False)
        if res.exit_code != 0:
            raise NotFoundError(f"{path} is not there yet (job {self.record.status.value})")
        return res.stdout

    def outputs(self) -> JobOutputs:
        """Files on project and scratch storage (one command)."""
        r = self.record
        out = self.session.transport.run_script(
            'for d in "$@"; do echo "@@DIR $d"; if [ -d "$d" ]; then (cd -- "$d" && find . -path ./input_files '
            "-prune -o -type f ! -name '.nr*' ! -name '.namdrunner*' -printf '%P\\t%s\\t%TY-%Tm-%TdT%TH:%TM:%.2TSZ\\n')"
            "; fi; done",
            [r.project_dir, r.scratch_dir],
        ).stdout
        lists: dict[str, list[OutputFile]] = {r.project_dir: [], r.scratch_dir: []}
        current: str | None = None
        for line in out.splitlines():
            if line.startswith("@@DIR "):
                current = line[6:]
            elif current is not None:
                parts = line.split("\t")
                if len(parts) == 3 and parts[1].isdigit():
                    lists.setdefault(current, []).append(OutputFile(parts[0], int(parts[1]), parts[2]))
        return JobOutputs(
            sorted(lists[r.project_dir], key=lambda o: o.name), sorted(lists[r.scratch_dir], key=lambda o: o.name)
        )

    def download(
        self, to: str | Path, *, include: Sequence[str] | None = None, progress: ProgressCallback | None = None
    ) -> TreeTransferReport:
        """Fetch the job's files from where they are now (:attr:`JobRecord.results_dir`), verified.

        ``include`` holds glob patterns (e.g. ``["outputs/*.dcd", "*.log"]``); unchanged local files
        are not fetched again.
        """
        return get_tree(
            self.session.transport,
            self.record.results_dir,
            Path(to),
            include=list(include) if include else None,
            progress=progress,
        )

    def cancel(self) -> Job:
        """``scancel`` the job, then sync it (status becomes Cancelled, outputs copied back)."""
        r = self.record
        if not r.slurm_job_id or r.status.is_terminal:
            raise ValidationError("status", f"job {r.job_id} is {r.status.value}: nothing to cancel")
        self.session.slurm(["scancel", r.slurm_job_id])
        for _ in range(10):
            self.refresh()
            if self.record.status.is_terminal:
                break
            time.sleep(1.0)
        return self

    def restart(self, *, steps: int | None = None, resources: Resources | None = None, name: str | None = None) -> Job:
        """A new job continuing this one from its newest checkpoint.

        See :func:`namdrunner_core.workflow.restart_job`.
        """
        from namdrunner_core.workflow import restart_job

        return restart_job(self, steps=steps, resources=resources, name=name)

    def delete(self, *, force: bool = False) -> None:
        """Cancel if active, remove the project and scratch dirs (through the safety check), drop the row.

        A job whose copy-back is not verified keeps its only results on scratch: refused unless ``force``.
        """
        r = self.record
        # results on scratch only: a copy-back that failed, or a job that ran and has not been settled
        # (copied back) yet; a stage that never ran, or a job cancelled while pending, has none there
        unsettled = r.status in (JobStatus.COMPLETED, JobStatus.FAILED) and not r.finalized
        if (r.copy_back == "failed" or unsettled) and r.slurm_job_id and not force:
            raise ValidationError(
                "copy_back",
                f"job {r.job_id}'s results are on scratch only (copy-back {r.copy_back or 'not verified yet'}"
                f"{': ' + r.copy_back_error if r.copy_back_error else ''}); run `namdrunner sync` to retry it, "
                "download them, or delete with --force",
            )
        if r.slurm_job_id and r.status.is_active:
            self.session.slurm(["scancel", r.slurm_job_id], check=False)
        remove_job_dir(self.session, "project", r.job_id)
        remove_job_dir(self.session, "scratch", r.job_id)
        self.store.delete_job(r.job_id)


_COPY_INPUTS_SCRIPT = r"""
dest=$1; shift
roots=()
while [ "$1" != "--" ]; do roots+=("$1"); shift; done
shift
while [ $# -ge 2 ]; do
  src=$1; name=$2; shift 2
  real=$(realpath -e -- "$src") || { echo "missing: $src" >&2; exit 51; }
  ok=0
  for r in "${roots[@]}"; do rr=$(realpath -e -- "$r" 2>/dev/null) && case "$real" in "$rr"/*) ok=1 ;; esac; done
  [ "$ok" = 1 ] || { echo "outside the job roots: $src" >&2; exit 52; }
  cp -- "$real" "$dest/$name" || exit 53
done
"""


def _copy_remote_inputs(session: Session, inputs: Mapping[str, str], dest: str) -> None:
    """Copy files already on the cluster (inside the job roots) into a job's input dir, on the cluster."""
    args = [dest, session.jobs_root, session.scratch_root, "--"]
    for name, src in sorted(inputs.items()):
        args += [src, name]
    result = session.transport.run_script(_COPY_INPUTS_SCRIPT, args, check=False)
    if result.exit_code != 0:
        raise ValidationError("files", f"cannot copy inputs on the cluster: {result.stderr.strip()}")


def summary_from(prog: Progress, state: LogState) -> ProgressSummary:
    """The stored summary of a :class:`Progress`."""
    return ProgressSummary(
        step=prog.step,
        total_steps=prog.total_steps,
        percent=prog.percent,
        ns_per_day=prog.ns_per_day,
        eta_s=prog.eta_s,
        outcome=prog.outcome.value,
        message=prog.message,
        last_checkpoint_step=state.last_checkpoint_step,
        wallclock_s=state.wallclock_s,
    )
