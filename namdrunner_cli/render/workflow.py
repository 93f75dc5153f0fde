"""`namdrunner workflow ...` and `sweep ...`: groups, plans and workflow files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from namdrunner_cli.render.base import (
    Column,
    humanize_age,
    plural,
    print_json,
    print_table,
    status_markup,
)
from namdrunner_cli.render.job import (
    _progress_cell,
    echo_prepared,
)
from namdrunner_core.serde import to_data

if TYPE_CHECKING:
    from pathlib import Path

    from namdrunner_core.jobs.prepare import PreparedJob
    from namdrunner_core.workflow import GroupSummary, Workflow, WorkflowFileInfo, WorkflowPlan
    from namdrunner_core.workflow.equilibration import WorkflowsAnalysis


def print_plan(as_json: bool, group_id: str, prepared: Sequence[PreparedJob], extra: dict[str, str]) -> None:
    """A workflow or sweep dry run: every member's config and script, and ``extra`` texts."""
    if as_json:
        from namdrunner_core.answers import GroupDryRun, PreparedView

        views = [PreparedView.of(p) for p in prepared]
        print_json(GroupDryRun(group_id, views, array=next(iter(extra.values()), None)))
        return
    for p in prepared:
        click.echo(f"# ==== {p.record.job_name} ({p.record.job_id}) ====")
        echo_prepared(p)
    for title, text in extra.items():
        click.echo(f"# ==== {title} ====")
        click.echo(text, nl=False)


def print_group(as_json: bool, wf: Workflow) -> None:
    """A workflow or sweep with every stage's job."""
    data = to_data(wf.view())
    if as_json:
        print_json(data)
        return
    cols = [Column("#", priority=1), Column("Stage", key=True, wrap=True), Column("Job", key=True, shorten=True),
            Column("Status", key=True), Column("Slurm", priority=3), Column("Progress", priority=2),
            Column("Note", priority=0, wrap=True)]  # fmt: skip
    cells = [
        [
            str(i),
            str(st["stage"]),
            st["id"],
            status_markup(st["status"]),
            st["slurm_job_id"] or "-",
            _progress_cell(st["progress"]),
            st["error"] or "",
        ]
        for i, st in enumerate(data["stages"])
    ]
    print_table(cols, cells, title=f"{data['kind']} {wf.id} ({wf.name}): {data['status']}", empty="no stages")


def print_groups(as_json: bool, summaries: Sequence[GroupSummary]) -> None:
    """``workflow list``."""
    rows = to_data(list(summaries))
    if as_json:
        print_json(rows)
        return
    cols = [Column("ID", key=True, shorten=True), Column("Name", key=True, wrap=True), Column("Kind", priority=2),
            Column("Status", key=True), Column("Jobs", priority=3), Column("Created", priority=1)]  # fmt: skip
    cells = [
        [r["id"], str(r["name"]), r["kind"], status_markup(r["status"]), str(r["jobs"]), humanize_age(r["created_at"])]
        for r in rows
    ]
    print_table(cols, cells, empty="no workflows or sweeps")


def print_plans(as_json: bool, plans: WorkflowPlan | Sequence[WorkflowPlan], arrays: Sequence[str] = ()) -> None:
    """A workflow dry run: one plan, or one per replica (then ``arrays``: each stage's job-array script,
    as submitted)."""
    many = list(plans) if isinstance(plans, Sequence) else [plans]
    if as_json and len(many) > 1:
        from namdrunner_core.answers import GroupDryRun

        print_json([GroupDryRun.of(p, arrays=arrays) for p in many])
        return
    for p in many:
        print_plan(as_json, p.id, p.prepared, {})
    for i, script in enumerate(arrays):
        after = f", each task after the same task of stage {i} (sbatch --dependency=aftercorr)" if i else ""
        click.echo(
            f"# ---- stage {i + 1}: ONE job array over the {len(many)} replicas (task r = replica r+1){after} ----"
        )
        click.echo(script, nl=False)


def print_groups_made(as_json: bool, made: Sequence[Workflow]) -> None:
    """What ``workflow create`` made: one group, or one per replica."""
    if as_json and len(made) > 1:
        print_json([wf.view() for wf in made])
        return
    for wf in made:
        print_group(as_json, wf)


def print_validated(as_json: bool, path: Path, plan: WorkflowPlan, *, replicas: int = 1) -> None:
    """``workflow validate``: the file is fine - its stages and the steps each runs."""
    from namdrunner_core.answers import FileValidated

    answer = FileValidated.of(str(path), plan, replicas)
    if as_json:
        print_json(answer)
        return
    rows = answer.stages
    click.echo(
        f"{path}: valid, {plural(len(rows), 'stage')}: " + ", ".join(f"{r.stage} ({r.steps} steps)" for r in rows)
    )


def print_workflow_files(as_json: bool, infos: Sequence[WorkflowFileInfo]) -> None:
    """``workflow template list|import``."""
    if as_json:
        print_json(infos)
        return
    cols = [Column("ID", key=True), Column("Name", key=True, wrap=True), Column("Kind", priority=2),
            Column("Stages", priority=3), Column("Description", priority=1, wrap=True)]  # fmt: skip

    def stages(i: WorkflowFileInfo) -> str:
        return str(i.stages) + (f" x {i.replicas}" if i.replicas > 1 else "")

    cells = [[i.id, i.name, "builtin" if i.builtin else "user", stages(i), i.description] for i in infos]
    print_table(cols, cells, empty="no workflow files")


def print_workflows_analysis(as_json: bool, result: WorkflowsAnalysis) -> None:
    """``workflow analyze``: each stage's series judged, then (several workflows) the stages compared."""
    if as_json:
        print_json(result)
        return
    from namdrunner_cli.render.job import print_analysis

    for st in result.stages:
        click.echo(f"== {st.workflow_id} / {st.stage} ({st.job_id})")
        if st.analysis is None:
            click.echo(f"   not analyzed: {st.problem}")
        else:
            print_analysis(False, st.analysis)
    cols = [Column("Stage", key=True), Column("Series", key=True), Column("Mean of runs", priority=2),
            Column("chi2 / dof", priority=1), Column("Agree", key=True), Column("Off", priority=3)]  # fmt: skip
    rows = [[stage, c.name, f"{c.mean:.6g}", f"{c.chi2:.2f} / {c.dof}", "yes" if c.agree else "[yellow]no[/]",
             c.off or "-"] for stage, comps in result.comparisons.items() for c in comps]  # fmt: skip
    if result.comparisons:
        print_table(cols, rows, title="the workflows compared, stage by stage (95 %)", empty="nothing to compare")
