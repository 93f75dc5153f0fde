"""Tables as a scientist meets them: at 60, 80 and 120 columns the id, name and status of every row
are there and never cut (lower-value columns drop first, ids shorten to a unique prefix only when
nothing else fits); piped, lists are plain tab-separated rows with a header."""

from __future__ import annotations

import pytest
from rich.console import Console

from namdrunner_cli.render.base import build_table, print_table, shortest_unique_prefixes
from namdrunner_cli.render.job import job_cells, job_columns

ROWS = [
    {
        "job_id": f"toy_npt_equilibration_17961179110504{i:02d}",
        "job_name": name,
        "status": status,
        "slurm_job_id": str(1200 + i),
        "slurm_state": state,
        "created_at": "2026-11-20T10:00:00Z",
        "progress": {"percent": 40.0 + i, "step": 9600, "total_steps": 24000, "eta_s": 30, "outcome": "running"},
        "workflow_id": "wf_origami_ladder_1796117911050400" if i % 2 else None,
    }
    for i, (name, status, state) in enumerate(
        [
            ("toy npt", "Completed", "COMPLETED"),
            ("hextube origami / npt_k0.5 at 310 K with restraints", "Running", "RUNNING"),
            ("x", "Failed", "TIMEOUT"),
        ]
    )
]


def render(width: int) -> str:
    console = Console(width=width, record=True, color_system=None, force_terminal=True)
    grouped = True
    table = build_table(job_columns(grouped), [job_cells(r, grouped) for r in ROWS], title=None, width=width)
    console.print(table)
    return console.export_text()


@pytest.mark.parametrize("width", [60, 80, 120])
def test_id_name_and_status_are_never_cut(width: int) -> None:
    text = render(width)
    assert max(len(line) for line in text.splitlines()) <= width
    flat = " ".join(text.split())  # names may wrap in their own column
    for row in ROWS:
        assert row["status"] in text
        for word in row["job_name"].split():
            assert word in flat, (width, word)
    ids = shortest_unique_prefixes([r["job_id"] for r in ROWS], minimum=12)
    for row in ROWS:
        assert row["job_id"] in text or ids[row["job_id"]] in text, (width, text)
    if width >= 120:
        assert all(r["job_id"] in text for r in ROWS)  # full ids when they fit
    assert not [line for line in text.splitlines() if "toy_npt" in line and "…" in line]  # nothing elided


def test_lower_value_columns_drop_first() -> None:
    wide, narrow = render(200), render(80)
    assert "Workflow/sweep" in wide
    assert "Created" in wide
    assert "Workflow/sweep" not in narrow  # dropped before anything a person reads or types


def test_unique_prefixes() -> None:
    short = shortest_unique_prefixes(["abc_000000000001", "abc_000000000002", "zzz_1"], minimum=4)
    assert short == {"abc_000000000001": "abc_000000000001", "abc_000000000002": "abc_000000000002", "zzz_1": "zzz_"}


def test_piped_lists_are_tab_separated_with_a_header(capsys: pytest.CaptureFixture[str]) -> None:
    grouped = True
    print_table(job_columns(grouped), [job_cells(r, grouped) for r in ROWS], title="3 jobs")
    out = capsys.readouterr().out.splitlines()
    assert out[0].split("\t") == ["ID", "NAME", "STATUS", "SLURM", "PROGRESS", "CREATED", "WORKFLOW/SWEEP"]
    first = out[1].split("\t")
    assert first[:3] == [ROWS[0]["job_id"], "toy npt", "Completed"]  # whole, no markup, grep-able
    assert len(out) == 4


def test_an_empty_list_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    print_table(job_columns(False), [], empty="no jobs")
    assert capsys.readouterr().out == "no jobs\n"


def test_slurm_logs_are_labelled_and_an_empty_one_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    from namdrunner_cli.render.job import print_slurm_logs
    from namdrunner_core.jobs.script_output import SlurmLogs

    print_slurm_logs(False, "j1", SlurmLogs("j1_7.out", "Loading modules...\nrunning", "j1_7.err", ""))
    assert capsys.readouterr().out == (
        "==> stdout (j1_7.out) <==\nLoading modules...\nrunning\n==> stderr (j1_7.err) <==\n(empty)\n"
    )


def test_usage_at_80_columns_keeps_ids_state_and_su_whole(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from namdrunner_cli.render.usage import print_usage
    from namdrunner_core.slurm.accounting import StorageUse
    from namdrunner_core.usage import JobUsage, UsageReport

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NAMDRUNNER_FORCE_TABLE", "1")
    jobs = [
        JobUsage(
            id=f"hextube_origami_npt_k0_5_17961179110504{i}",
            name="hextube",
            slurm_job_id=f"{4100 + i}",
            state="COMPLETED",
            partition="acpu",
            cores=24,
            gpus=0,
            elapsed_s=7200,
            su=48.0 + i,
            cpu_efficiency=0.41,
            memory_efficiency=0.2,
            ns_per_day=12.5,
            total_cpu_s=70848.0,
            memory_mb=92160.0,
            peak_memory_mb=18432.0,
            stage="npt_k0.5",
        )
        for i in range(2)
    ]
    quota = [StorageUse("/projects/ralph", "df /dev/sda1 on /projects", 1000, 250, 750)]
    print_usage(False, UsageReport("alpine", jobs, quota, [], []))
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    for j in jobs:
        assert j.id in out
    assert "COMPLETED" in out
    assert "48" in out
    assert "49" in out
    assert "total 97 SU over 2 job(s)" in out
    assert "[df /dev/sda1 on /projects]" in " ".join(out.split())  # shown, not eaten as markup


@pytest.mark.parametrize("width", [80, 140])
def test_cluster_show_keeps_every_preset_on_one_line(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from namdrunner_cli.main import cli

    monkeypatch.setenv("COLUMNS", str(width))
    out = CliRunner().invoke(cli, ["cluster", "show", "alpine"]).stdout
    assert max(len(line.rstrip()) for line in out.splitlines()) <= width
    row = next(line for line in out.splitlines() if "Production run" in line)
    assert row.split("│")[1:7] == [
        " Production run  ",
        " 48    ",
        " 32 ",
        " 24:00:00   ",
        " acpu      ",
        " cpu-normal ",
    ]
    said = "a day on CPUs (a campaign continues it: --target-ns)"
    assert (f"  Production run: {said}" in out) == (width < 120)  # under the table, or beside its row
    assert (said in row) == (width >= 120)
