"""Workflows analyzed: every stage's run judged (:meth:`Job.analysis`), and - for several workflows of
the same stages, replicas - each stage's series compared across them
(:func:`namdrunner_core.analysis.compare.compare`: do they agree within error, which one is off)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from namdrunner_core.analysis.compare import SeriesComparison, compare
from namdrunner_core.analysis.report import Analysis
from namdrunner_core.errors import NamdRunnerError
from namdrunner_core.jobs.job import Job

if TYPE_CHECKING:
    from namdrunner_core.cluster import Session
    from namdrunner_core.store import JobStore


@attrs.frozen(slots=True)
class StageAnalysis:
    """One stage of one workflow: its job, and its analysis or why there is none (not run yet...)."""

    workflow_id: str
    stage: str
    job_id: str
    analysis: Analysis | None
    problem: str | None = None


@attrs.frozen(slots=True)
class WorkflowsAnalysis:
    """Every stage of the workflows analyzed, and per stage label its series compared across them."""

    stages: list[StageAnalysis]
    comparisons: dict[str, list[SeriesComparison]]


def analyze_workflows(
    session: Session, store: JobStore, workflow_ids: Sequence[str], into: Path | None = None
) -> WorkflowsAnalysis:
    """Each stage of each workflow analyzed (a stage with no log yet says so), then each stage label the
    workflows share compared across them."""
    stages: list[StageAnalysis] = []
    for wid in workflow_ids:
        group = store.get_workflow(wid)
        for job_id, label in zip(group.stages, group.stage_names, strict=False):
            job = Job(session, store, store.get_job(job_id))
            try:
                analysis = job.analysis(into / wid / label if into is not None else None)
                stages.append(StageAnalysis(wid, label, job_id, analysis))
            except NamdRunnerError as exc:
                stages.append(StageAnalysis(wid, label, job_id, None, exc.message))
    comparisons: dict[str, list[SeriesComparison]] = {}
    if len(workflow_ids) > 1:
        for label in dict.fromkeys(s.stage for s in stages):
            runs = {s.workflow_id: s.analysis for s in stages if s.stage == label and s.analysis is not None}
            if len(runs) > 1:
                comparisons[label] = compare(runs)
    return WorkflowsAnalysis(stages, comparisons)
