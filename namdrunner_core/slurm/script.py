"""Render the sbatch script from the packaged Jinja2 template. Everything user-supplied is quoted."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from functools import lru_cache

import attrs
import jinja2

from namdrunner_core._version import __version__
from namdrunner_core.errors import ValidationError
from namdrunner_core.profile import ClusterProfile
from namdrunner_core.slurm.resources import ResolvedResources

CONFIG_NAME = "config.namd"
NAMD_LOG_NAME = "namd_output.log"
SCRIPT_NAME = "job.sbatch"
EXIT_MARKER = ".namdrunner_exit"
# #SBATCH lines are parsed by sbatch, not by a shell: only plain names may appear there.
_SBATCH_SAFE = re.compile(r"^[A-Za-z0-9_.\-]{1,200}$")
_MAIL = re.compile(r"^[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9.\-]{1,190}$")


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("namdrunner_core.slurm", "sbatch"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - shell text, not HTML; values are shell-quoted with |q
    )
    env.filters["q"] = lambda v: shlex.quote(str(v))
    return env


def render_sbatch(
    *,
    job_name: str,
    job_id: str,
    workdir: str,
    resources: ResolvedResources,
    profile: ClusterProfile,
    comment: str | None = None,
    stage_in: Sequence[tuple[str, str]] = (),
    campaign: CampaignScript | None = None,
) -> str:
    """The batch script for one job running ``config.namd`` in ``workdir`` (the scratch dir); with
    ``campaign``, one segment of a campaign (``campaign_step.py`` decides what it runs and submits the
    next one; Slurm may requeue it; its time limit's warning stops NAMD cleanly).

    ``stage_in`` holds (remote source path, file name) pairs copied into ``input_files/`` when the
    job starts: how a workflow stage takes the previous stage's outputs on the cluster.
    """
    for field, value in (("job_name", job_name), ("comment", comment or "x")):
        if not _SBATCH_SAFE.match(value):
            raise ValidationError(field, f"{value!r} may only hold letters, digits, '_', '.' and '-'")
    if profile.mail_user and not _MAIL.match(profile.mail_user):
        raise ValidationError("mail_user", f"{profile.mail_user!r} is not an e-mail address (profile {profile.name})")
    if resources.gpus:
        if not profile.gpu_namd_bin:
            raise ValidationError(
                "gpus",
                f"profile {profile.name!r} has no GPU NAMD: set gpu_namd_bin (and gpu_modules) in your profile, "
                "or run on a CPU partition",
            )
        devices = ",".join(str(i) for i in range(resources.gpus))
        launcher = profile.gpu_launcher.format(
            namd_bin=shlex.quote(profile.gpu_namd_bin), cores=resources.cores, devices=devices
        )
        modules = profile.gpu_modules
    else:
        launcher = profile.cpu_launcher
        modules = profile.modules
    return (
        _env()
        .get_template("job.sbatch.j2")
        .render(
            job_name=job_name,
            job_id=job_id,
            workdir=workdir,
            r=resources,
            comment=comment,
            source_profile=profile.source_profile,
            modules=modules,
            launcher=launcher,
            config_name=CONFIG_NAME,
            stage_in=list(stage_in),
            log_name=NAMD_LOG_NAME,
            version=__version__,
            campaign=campaign,
            script_name=SCRIPT_NAME,
            mail_user=profile.mail_user,
        )
    )


@attrs.frozen(slots=True)
class CampaignScript:
    """What a campaign segment's batch script needs: Slurm's warning ``warn_s`` seconds before the time
    limit, the cluster's ``python`` for campaign_step.py, and whether a compute node may submit the next
    segment itself (else namdrunner's sync does)."""

    warn_s: int
    python: str = "python3"
    can_submit: bool = True
    #: the site's Slurm module (Alpine: ``slurm/alpine``): loaded before the segment calls Slurm
    slurm_module: str | None = None
    #: the segment's wall time, the most the next one asks for (less before a maintenance window)
    walltime_s: int = 0


def render_array_sbatch(*, name: str, job_sbatch: str, scratch_dirs: Sequence[str], job_ids: Sequence[str]) -> str:
    """The ONE array script a sweep submits: task *i* runs job *i*'s own ``job.sbatch`` in its own dir.

    Its resources are the points' own (``job_sbatch``, the first point's script: every point asks for
    the same), without the per-job name and log lines.
    """
    if not _SBATCH_SAFE.match(name):
        raise ValidationError("name", f"{name!r} may only hold letters, digits, '_', '.' and '-'")
    if not scratch_dirs or len(scratch_dirs) != len(job_ids):
        raise ValidationError("sweep", "an array needs one scratch dir per job")
    skip = ("#SBATCH --job-name", "#SBATCH --output", "#SBATCH --error")
    resource_lines = [ln for ln in job_sbatch.splitlines() if ln.startswith("#SBATCH") and not ln.startswith(skip)]
    return (
        _env()
        .get_template("array.sbatch.j2")
        .render(
            name=name,
            last=len(job_ids) - 1,
            resource_lines=resource_lines,
            dirs=list(scratch_dirs),
            ids=list(job_ids),
            version=__version__,
        )
    )
