"""Parsers of sbatch, squeue and sacct output: every state, steps, arrays, odd names; never a crash."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from namdrunner_core.errors import SchedulerError
from namdrunner_core.slurm.parse import parse_sacct, parse_sbatch, parse_squeue, sacct_command
from namdrunner_core.slurm.states import JobStatus, explain_pending_reason, status_from_slurm


@pytest.mark.parametrize(("out", "job", "cluster"), [("123\n", "123", None), ("456;alpine\n", "456", "alpine")])
def test_sbatch_parsable(out: str, job: str, cluster: str | None) -> None:
    r = parse_sbatch(out)
    assert (r.job_id, r.cluster) == (job, cluster)


def test_sbatch_refusal_carries_slurms_message() -> None:
    err = "sbatch: error: Batch job submission failed: Invalid qos specification\n"
    with pytest.raises(SchedulerError) as exc:
        parse_sbatch("", err, 1)
    assert exc.value.scheduler_message == "Batch job submission failed: Invalid qos specification"
    assert "Invalid qos specification" in str(exc.value)


def test_squeue_names_with_delimiters_and_spaces() -> None:
    rows = parse_squeue(
        "12|RUNNING|None|1:02|4:00:00|2026-11-24T10:00:00|my|odd name|x\n"
        "13|PENDING|Priority|0:00|1:00:00|2026-11-24T10:00:01|plain\n\nbad\n"
    )
    assert [(r.job_id, r.status, r.name) for r in rows] == [
        ("12", JobStatus.RUNNING, "my|odd name|x"),
        ("13", JobStatus.PENDING, "plain"),
    ]


SACCT = """\
100|COMPLETED|0:0|00:01:00|2026-11-24T10:00:00|2026-11-24T10:01:00|None|2026-11-24T09:59:00|hex|tube run
100.batch|COMPLETED|0:0|00:01:00|2026-11-24T10:00:00|2026-11-24T10:01:00||2026-11-24T09:59:00|batch
100.extern|COMPLETED|0:0|00:01:00|2026-11-24T10:00:00|2026-11-24T10:01:00||2026-11-24T09:59:00|extern
100.0|COMPLETED|0:0|00:00:59|2026-11-24T10:00:00|2026-11-24T10:01:00||2026-11-24T09:59:00|namd3
101|CANCELLED by 1001|0:15|00:00:03|s|e|None|2026-11-24T09:59:00|c
102|TIMEOUT|0:0|00:01:00|s|e|None|2026-11-24T09:59:00|t
102.batch|CANCELLED|0:15|00:01:00|s|e||2026-11-24T09:59:00|batch
103|OUT_OF_MEMORY|0:125|||||2026-11-24T09:59:00|m
104_3|FAILED|1:0|||||2026-11-24T09:59:00|arr
104_[5-9]|PENDING|0:0||Unknown|Unknown|Priority|2026-11-24T09:59:00|arr
105.batch|RUNNING|0:0|||||2026-11-24T09:59:00|orphan step
106|FUTURE_STATE_X|0:0|||||2026-11-24T09:59:00|f
"""


def test_sacct_folds_steps_and_keeps_states() -> None:
    rows = parse_sacct(SACCT)
    assert rows["100"].name == "hex|tube run"
    assert rows["100"].steps == ("batch", "extern", "0")
    assert rows["100"].submit == "2026-11-24T09:59:00"
    assert rows["101"].status is JobStatus.CANCELLED
    assert rows["101"].state_name == "CANCELLED"
    assert (rows["102"].status, rows["102"].state_name) == (JobStatus.FAILED, "TIMEOUT")
    assert (rows["103"].status, rows["103"].state_name) == (JobStatus.FAILED, "OUT_OF_MEMORY")
    assert rows["104_3"].array_parent == "104"
    assert rows["104_[5-9]"].status is JobStatus.PENDING
    assert rows["105"].steps == ("batch",)
    assert rows["106"].status is JobStatus.UNKNOWN


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("PENDING", JobStatus.PENDING),
        ("REQUEUED", JobStatus.PENDING),
        ("RUNNING", JobStatus.RUNNING),
        ("COMPLETING", JobStatus.RUNNING),
        ("SUSPENDED", JobStatus.RUNNING),
        ("COMPLETED", JobStatus.COMPLETED),
        ("FAILED", JobStatus.FAILED),
        ("TIMEOUT", JobStatus.FAILED),
        ("OUT_OF_MEMORY", JobStatus.FAILED),
        ("NODE_FAIL", JobStatus.FAILED),
        ("PREEMPTED", JobStatus.FAILED),
        ("BOOT_FAIL", JobStatus.FAILED),
        ("DEADLINE", JobStatus.FAILED),
        ("CANCELLED", JobStatus.CANCELLED),
        ("CANCELLED by 0", JobStatus.CANCELLED),
        ("CANCELLED+", JobStatus.CANCELLED),
        ("CA", JobStatus.CANCELLED),
        ("TO", JobStatus.FAILED),
        ("SOMETHING_NEW", JobStatus.UNKNOWN),
        ("", JobStatus.UNKNOWN),
    ],
)
def test_state_mapping(state: str, status: JobStatus) -> None:
    assert status_from_slurm(state) is status


def test_blocking_pending_reasons_are_explained() -> None:
    assert explain_pending_reason("QOSMaxWallDurationPerJobLimit")[0] is True
    assert explain_pending_reason("DependencyNeverSatisfied")[0] is True
    assert explain_pending_reason("Priority") == (False, "waiting for its turn or for free resources")
    assert explain_pending_reason("None") == (False, "")


def test_sacct_command_batches_ids() -> None:
    cmd = sacct_command(["1", "2", "3"])
    assert cmd[cmd.index("-j") + 1] == "1,2,3"


@given(st.text())
def test_no_input_crashes_the_parsers(text: str) -> None:
    parse_squeue(text)
    parse_sacct(text)
    status_from_slurm(text)
    explain_pending_reason(text)
    with contextlib.suppress(SchedulerError):
        parse_sbatch(text)


@given(
    st.lists(
        st.tuples(
            st.integers(1, 10**9),
            st.sampled_from(["COMPLETED", "FAILED", "CANCELLED by 5", "RUNNING"]),
            st.text(alphabet=st.characters(blacklist_characters="\n\r"), max_size=30),
        ),
        max_size=20,
        unique_by=lambda t: t[0],
    )
)
def test_sacct_round_trip(rows: list[tuple[int, str, str]]) -> None:
    text = "".join(f"{i}|{s}|0:0||||||{name}\n{i}.batch|{s}|0:0||||||batch\n" for i, s, name in rows)
    parsed = parse_sacct(text)
    assert set(parsed) == {str(i) for i, _, _ in rows}
    for i, s, name in rows:
        assert parsed[str(i)].state == s
        assert parsed[str(i)].name == name
        assert parsed[str(i)].steps == ("batch",)
