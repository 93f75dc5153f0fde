"""Whose record is it: after a controller lost its state, Slurm hands ids out again, and a squeue or
sacct record of our job's id may be a stranger's. A record counts for a job only when its name and
submit time are the job's (:func:`belongs`); one slurmdbd could not name yet (``allocation``) only
when Slurm submitted it when the job's first record was and not after the job's sbatch had returned
(:func:`own_records`)."""

from __future__ import annotations

from collections.abc import Sequence

from namdrunner_core.jobs.script_output import ClusterClock
from namdrunner_core.models import SLURM_UNNAMED, JobRecord, named_as
from namdrunner_core.slurm.parse import SacctRow

#: A record of the same Slurm id submitted this long before ours belongs to an earlier job.
SUBMIT_SKEW_S = 600.0
#: A record slurmdbd could not name, submitted (by Slurm, on the laptop's clock) this long after ours
#: was stamped - beside the status answer's own time in flight - is another job's: a stranger given
#: our id after a controller reset. Slurm stamps its whole seconds: 2 s of rounding, 3 of margin.
UNNAMED_AFTER_S = 5.0


def belongs(r: JobRecord, name: str, submit: str, clock: ClusterClock | None) -> bool:
    """Whether a squeue/sacct record of ``r``'s Slurm id is ``r``'s own: after a controller lost its
    state, ids are handed out again, and another job's record must never be taken for ours. A plain
    job's name must be ours (array tasks carry the array's name: not checked), and it may not have
    been submitted before ours (beyond the clocks' skew). A record slurmdbd could not name
    (:data:`~namdrunner_core.models.SLURM_UNNAMED`) is ours only when it was submitted when ours was."""
    if not named_as(r, name):
        return False
    unnamed = name.strip() in SLURM_UNNAMED
    when = clock.to_utc(submit) if submit and clock is not None else None
    if when is not None and r.submitted_at is not None:
        skew = (r.submitted_at - when).total_seconds()
        if skew > SUBMIT_SKEW_S or (unnamed and abs(skew) > SUBMIT_SKEW_S):
            return False
    if unnamed and clock is not None and r.submitted_at is not None:
        # ours was stamped when sbatch had returned its id: a record Slurm submitted after that (on
        # the laptop's clock, the clocks' difference measured by this very answer) is another job's
        seen = clock.laptop_time(submit)
        if seen is not None and (seen - r.submitted_at).total_seconds() > UNNAMED_AFTER_S + clock.flight_s:
            return False
    return True


def own_records(r: JobRecord, rows: Sequence[SacctRow], clock: ClusterClock | None) -> list[SacctRow]:
    """The sacct records of ``r``'s Slurm id that are ``r``'s own (:func:`belongs`), in sacct's order.

    A record slurmdbd could not name (``allocation``: a stranger's too, for a moment after a controller
    reset handed our id out again) is ours only when Slurm says it was submitted when the first of our
    records was: strangers get the id after ours, so within the laptop's clock skew is not enough."""
    mine = [row for row in rows if belongs(r, row.name, row.submit, clock)]
    submits = [row.submit for row in mine if row.submit and row.submit != "Unknown"]
    if not submits:
        return mine
    first = min(submits)  # sacct's local ISO times: the string order is the time order

    def same_time(submit: str) -> bool:
        if submit == first:
            return True
        a, b = (clock.to_utc(submit), clock.to_utc(first)) if clock is not None else (None, None)
        return a is not None and b is not None and abs((a - b).total_seconds()) <= 2

    return [row for row in mine if row.name.strip() not in SLURM_UNNAMED or same_time(row.submit)]
