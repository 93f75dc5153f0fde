"""The single-job lifecycle: create, submit, track, finish, fetch, restart, rerun, cancel, delete.

Everything is validated before the cluster is touched (:func:`prepare_job` does no remote I/O and also
serves ``--dry-run``). A creation that fails midway removes its remote directory through the safety
check, so no half job is left behind."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from namdrunner_core.analysis.report import Analysis
from namdrunner_core.errors import (
    NamdRunnerError,
    NotFoundError,
    RemoteCommandError,
    SchedulerError,
    SubmissionUncertainError,
    ValidationError,
)
from namdrunner_core.jobs import campaign
from namdrunner_core.jobs.analyze import analyze_job
from namdrunner_core.jobs.prepare import PreparedJob, prepare_job
from namdrunner_core.jobs.restart import check_restartable, find_checkpoint, plan_rerun, plan_restart
from namdrunner_core.jobs.safety import copy_remote_inputs, remove_job_dir
from namdrunner_core.jobs.script_output import (
    JobOutputs,
    SlurmLogs,
    advance_log,
    log_offset,
    parse_log_output,
    summary_from,
)
from namdrunner_core.jobs.submission import (
    SUBMIT_UNCERTAIN,
    find_by_token,
    lookup_token,
    new_token,
    settle_uncertain,
    submit_once,
    submitted,
    uncertain,
)
from namdrunner_core.jobs.sync import sync_jobs, write_job_infos
from namdrunner_core.models import JobRecord, OutputFile, utcnow
from namdrunner_core.namd.config import (
    INPUT_DIR,
    Template,
)
from namdrunner_core.namd.log import Progress
from namdrunner_core.paths import cache_dir
from namdrunner_core.scripts import CAT_FIRST, LIST_OUTPUTS, LOG_TAIL, STAGE_JOB
from namdrunner_core.serde import converter
from namdrunner_core.slurm.resources import Resources
from namdrunner_core.slurm.script import NAMD_LOG_NAME, SCRIPT_NAME
from namdrunner_core.slurm.states import JobStatus
from namdrunner_core.transport.protocol import ProgressCallback
from namdrunner_core.transport.transfer import TreeTransferReport, get_tree, put_files

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.store import JobStore

SUBMITTABLE = (JobStatus.CREATED, JobStatus.FAILED, JobStatus.CANCELLED)


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
        target_ns: float | None = None,
        su_budget: float | None = None,
    ) -> Job:
        """Validate, upload inputs, config, script and ``job_info.json``, and store the job.

        Nothing touches the cluster when validation fails; a failure after the job directory was
        made removes it again (through the safety check) and leaves no row in the store. ``target_ns``
        makes it a campaign: its ``run`` continues, segment after segment, until that simulated time.
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
            target_ns=target_ns,
            su_budget=su_budget,
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
                copy_remote_inputs(session, prepared.remote_inputs, f"{d}/{INPUT_DIR}")
            put_files(t, prepared.payload(extra_files), d, progress=progress, incremental=False)
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
    def submit(self, *, dependency: str | None = None, force: bool = False) -> Job:
        """Copy the project dir to scratch ON the cluster, ``sbatch --parsable`` there, record the id.

        Never double-submits: each attempt carries a token in ``--comment``; if the connection
        drops during sbatch, the queue is searched for the token before anything is retried. When
        that cannot tell (:class:`SubmissionUncertainError`), the job is marked "submission uncertain"
        and submitting it again is refused - it is looked up first - unless ``force``.
        """
        if self.record.campaign is not None and self.record.slurm_job_id and self.record.status.is_terminal:
            return self._resume_campaign()
        uncertain_before = self.record.slurm_state == SUBMIT_UNCERTAIN
        r = self._resolve_uncertain(force=force)
        if uncertain_before and r.slurm_job_id is not None and r.status.is_active:
            return self  # the uncertain submission was found: it IS queued
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
        token = new_token()
        r = attrs.evolve(r, submit_token=token, updated_at=utcnow())
        self.store.save_job(r)
        self.record = r
        s.run_remote(STAGE_JOB, [r.project_dir, r.scratch_dir])
        extra = []
        cap = campaign.first_time_limit(s, r) if r.campaign is not None else None
        if cap:  # a campaign's first segment ends before the next maintenance window
            extra.append(f"--time={cap}")
        if dependency:
            # A failed predecessor makes Slurm cancel this job instead of leaving it pending forever.
            extra += [f"--dependency={dependency}"]
            if s.profile.kill_invalid_dependants:
                extra.append("--kill-on-invalid-dep=yes")
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
        except SubmissionUncertainError as exc:
            self.record = uncertain(r, str(exc), utcnow())
            self.store.save_job(self.record)
            raise
        except SchedulerError as exc:
            self.record = attrs.evolve(r, error_info=exc.scheduler_message, updated_at=utcnow())
            self.store.save_job(self.record)
            raise
        return self._submitted(r, slurm_id)

    def _resolve_uncertain(self, *, force: bool) -> JobRecord:
        """Before a submission: a job whose last submission is uncertain is looked up by its token.
        Found: adopted (it is queued). Proven absent (Slurm answered, and sbatch cannot be running any
        more): submittable again. Still unknown: refused, unless ``force``."""
        r = self.record
        if r.slurm_state != SUBMIT_UNCERTAIN or not r.submit_token:
            return r
        lookup = lookup_token(self.session, r.submit_token, r.job_id, after_id=r.slurm_job_id)
        settled = settle_uncertain(r, lookup.slurm_id, conclusive=lookup.conclusive, now=utcnow(), force=force)
        if settled is not None:
            self.record = settled
            self.store.save_job(settled)
            if settled.slurm_job_id is not None and settled.status.is_active:
                write_job_infos(self.session, [settled])  # found: queued, as a submission records it
            return settled
        raise SubmissionUncertainError(
            f"job {r.job_id}: its last submission is still uncertain (Slurm may have queued it); "
            + ("Slurm did not answer the look-up" if not lookup.conclusive else "sbatch may still be running")
            + ": run `namdrunner sync` later, or submit with --force if you know it was not queued"
        )

    def _submitted(self, r: JobRecord, slurm_id: str) -> Job:
        """Record a submission: PENDING with its Slurm id, the last run's results cleared."""
        self.record = submitted(r, slurm_id, utcnow())
        self.store.save_job(self.record)
        write_job_infos(self.session, [self.record])
        return self

    # -- tracking -------------------------------------------------------------------------------
    def refresh(self) -> Job:
        """Sync this one job with Slurm (see :func:`~namdrunner_core.jobs.sync.sync_jobs`)."""
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
        chunk = parse_log_output(self.session.run_remote(LOG_TAIL, args).stdout).get(r.job_id)
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
            logs = self.slurm_logs()
            parts = {"out": logs.stdout, "err": logs.stderr}
            chosen = [parts["out"], parts["err"]] if stream == "both" else [parts[stream]]
            text = "".join(p if p.endswith("\n") or not p else p + "\n" for p in chosen)
        else:
            text = self._cat(f"{r.results_dir}/{NAMD_LOG_NAME}", tail=tail)
        if tail is not None:
            text = "\n".join(text.splitlines()[-tail:]) + ("\n" if text else "")
        return text

    def slurm_logs(self, *, tail: int | None = None) -> SlurmLogs:
        """Slurm's stdout and stderr apart, each with the name of the file it was read from.

        The files themselves are read (on scratch, then on project storage; under namdrunner's names,
        then the desktop app's ``<job_name>_<slurm id>.out``); the copy kept at completion (a tail, in
        the store and ``job_info.json``) is shown only when neither file exists any more, and is then
        labelled as such. Raises :class:`NotFoundError` when the job was never submitted or there is
        nothing to show.
        """
        r = self.record
        names = r.slurm_output_names
        if names is None:
            raise NotFoundError(f"job {r.job_id} has not been submitted: no Slurm logs yet")
        alt = r.app_slurm_output_names or names  # a job the desktop app made names them after the job
        cached = (r.slurm_stdout, r.slurm_stderr) if r.finalized else (None, None)
        shown: list[tuple[str, str | None]] = []
        for n, a, kept in zip(names, alt, cached, strict=True):
            candidates = list(dict.fromkeys([n, a]))
            paths = [f"{d}/{c}" for d in (r.scratch_dir, r.project_dir) for c in candidates]
            try:
                index, text = self._cat_first(paths)
                shown.append((paths[index].rsplit("/", 1)[-1], text))
            except NotFoundError:
                shown.append((f"{n} (kept at completion)", kept) if kept is not None else (n, None))
        if all(text is None for _, text in shown):
            raise NotFoundError(f"job {r.job_id}: Slurm's logs are not there yet ({r.status.value})")
        (out_name, out), (err_name, err) = ((name, text or "") for name, text in shown)
        if tail is not None:
            out, err = ("\n".join(t.splitlines()[-tail:]) + ("\n" if t else "") for t in (out, err))
        return SlurmLogs(out_name, out, err_name, err)

    def _cat_first(self, paths: list[str]) -> tuple[int, str]:
        """The first of ``paths`` that exists: its index and its text, in one remote command."""
        res = self.session.run_remote(CAT_FIRST, paths, check=False)
        if res.exit_code != 0:
            raise NotFoundError(f"{paths[0]} is not there yet (job {self.record.status.value})")
        head, _, text = res.stdout.partition("\n")
        return int(head), text

    def _cat(self, path: str, tail: int | None = None) -> str:
        args = ["tail", "-n", str(tail), "--", path] if tail else ["cat", "--", path]
        res = self.session.transport.run(args, check=False)
        if res.exit_code != 0:
            raise NotFoundError(f"{path} is not there yet (job {self.record.status.value})")
        return res.stdout

    def outputs(self) -> JobOutputs:
        """Files on project and scratch storage (one command)."""
        r = self.record
        out = self.session.run_remote(LIST_OUTPUTS, [r.project_dir, r.scratch_dir]).stdout
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

    def analysis(self, into: str | Path | None = None, *, select: str | None = None,
                 reference: str | Path | None = None, where: str = "auto") -> Analysis:  # fmt: skip
        """Is it equilibrated? Its NAMD log, .xst and PSF fetched into ``into`` (default: the cache dir;
        unchanged files are not fetched again), every series judged. ``select`` (MDAnalysis's selection
        language: ``"nucleic"``) adds the DCD's RMSD (to frame 1 or ``reference``, PDB or .coor), RMSF and
        radius of gyration, read here or on the cluster by a small Slurm job (``where``: local, cluster,
        auto - there when the DCD is over the profile's ``analysis_local_max_gb``)."""
        folder = Path(into) if into is not None else cache_dir() / "analysis" / self.id
        ref = Path(reference) if reference is not None else None
        return analyze_job(self.record, lambda to, patterns: self.download(to, include=patterns), folder,
                           selection=select, reference=ref, where=where, session=self.session)  # fmt: skip

    def _resume_campaign(self) -> Job:
        """A campaign that stopped (paused, failed, cancelled) continues from its newest valid restart files
        in its own directory (never staged again: campaign.json and the outputs are there)."""
        self.record = campaign.resume(self.session, self.record)
        self.store.save_job(self.record)
        return self

    def cancel(self) -> Job:
        """``scancel`` the job, then sync it (status becomes Cancelled, outputs copied back)."""
        r = self.record
        if not r.slurm_job_id or r.status.is_terminal:
            raise ValidationError("status", f"job {r.job_id} is {r.status.value}: nothing to cancel")
        if r.campaign is not None:
            campaign.cancel(self.session, r)  # the whole campaign: its running and its queued segment
        else:
            self.session.slurm(["scancel", r.slurm_job_id])
        for _ in range(10):
            self.refresh()
            if self.record.status.is_terminal:
                break
            time.sleep(1.0)
        return self

    def restart(
        self,
        *,
        steps: int | None = None,
        resources: Resources | None = None,
        name: str | None = None,
        submit: bool = False,
    ) -> Job:
        """A new job continuing this one from its newest checkpoint (copied on the cluster), submitted
        at once with ``submit``.

        ``firsttimestep`` comes from the checkpoint; the steps default to what this job had left
        (rounded up to a multiple of stepspercycle); resources may differ (another partition, QOS or
        GPUs: see :meth:`Resources.overridden`). This job is kept as the new one's parent. See
        :func:`~namdrunner_core.jobs.restart.plan_restart`.
        """
        check_restartable(self.record)
        checkpoint = find_checkpoint(self.session, self.record)
        s = self.session
        prepared = plan_restart(s.profile, s.user, self.store, self.record, checkpoint, steps=steps,
                                resources=resources, name=name)  # fmt: skip
        child = Job.create_prepared(s, self.store, prepared)
        return child.submit() if submit else child

    def rerun(self, *, resources: Resources | None = None, name: str | None = None, steps: int | None = None,
              submit: bool = False) -> Job:  # fmt: skip
        """A new job running this one again from its start (same template, values - ``steps`` in place of
        its own when given - and inputs, copied on the cluster), on the same or other resources; this job
        is kept as its parent."""
        s = self.session
        prepared = plan_rerun(s.profile, s.user, self.store, self.record, resources=resources, name=name, steps=steps)
        child = Job.create_prepared(s, self.store, prepared)
        return child.submit() if submit else child

    def check_deletable(self, *, force: bool = False) -> None:
        """Refuse (:class:`ValidationError` naming ``copy_back``) a job whose only results are on
        scratch - its copy-back failed, or it ended and was not settled yet - unless ``force``."""
        r = self.record
        if r.slurm_state == SUBMIT_UNCERTAIN and not force:
            raise SubmissionUncertainError(
                f"job {r.job_id}: its submission is uncertain - a Slurm job may be running in its directories; "
                "run `namdrunner sync` until it is resolved, or delete with --force"
            )
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

    def delete(self, *, force: bool = False, cancel: bool = True) -> None:
        """Cancel if active, remove the project and scratch dirs (through the safety check), drop the row.

        A job whose copy-back is not verified keeps its only results on scratch: refused unless ``force``
        (see :meth:`check_deletable`). ``cancel=False``: the caller cancelled it already.
        """
        self.check_deletable(force=force)
        r = self.record
        if cancel and r.slurm_job_id and r.status.is_active:
            self.session.slurm(["scancel", r.slurm_job_id], check=False)
        remove_job_dir(self.session, "project", r.job_id)
        remove_job_dir(self.session, "scratch", r.job_id)
        self.store.delete_job(r.job_id)
