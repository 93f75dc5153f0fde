"""Slurm's start estimate for a planned job (`sbatch --test-only`), read from what the script printed:
the start on the cluster's clock (Slurm prints local time without a zone), or Slurm's refusal."""

from __future__ import annotations

import datetime as dt

import pytest

from namdrunner_core.errors import RemoteError
from namdrunner_core.start_estimate import parse_start_estimate

MST = dt.timezone(dt.timedelta(hours=-7))


def test_a_start_later_is_read_on_the_clusters_clock() -> None:
    asked = int(dt.datetime(2026, 12, 7, 10, 0, 0, tzinfo=MST).timestamp())
    out = (f"@@NOW {asked} -0700\n"
           "sbatch: Job 4242 to start at 2026-12-07T13:30:00 using 64 processors on nodes c3cpu-a2-u1-[1-2] "
           "in partition amilan\n@@RC 0\n")  # fmt: skip
    e = parse_start_estimate(out)
    assert e.start == dt.datetime(2026, 12, 7, 13, 30, tzinfo=MST)
    assert e.wait_s == 3.5 * 3600
    assert (e.partition, e.nodes, e.refused) == ("amilan", "c3cpu-a2-u1-[1-2]", "")


def test_at_once_on_one_node() -> None:
    out = ("@@NOW 1796664004 +0000\nsbatch: Job 2853 to start at 2026-12-07T17:20:04 using 2 processors on "
           "nodes nr-node1 in partition amilan\n@@RC 0\n")  # fmt: skip
    e = parse_start_estimate(out)
    assert e.wait_s == 0
    assert e.nodes == "nr-node1"


def test_a_refusal_is_said_in_slurms_words() -> None:
    e = parse_start_estimate("@@NOW 1796664004 +0000\nallocation failure: Requested node configuration is not "
                             "available\n@@RC 1\n")  # fmt: skip
    assert e.start is None
    assert e.wait_s is None
    assert e.refused == "allocation failure: Requested node configuration is not available"
    qos = parse_start_estimate(
        "@@NOW 1796664004 +0000\nsbatch: error: Batch job submission failed: Job violates "
        "accounting/QOS policy (job submit limit, user's size and/or time limits)\n@@RC 1\n"
    )
    assert qos.refused.startswith("Batch job submission failed: Job violates accounting/QOS policy")


def test_no_answer_is_an_error_not_a_guess() -> None:
    with pytest.raises(RemoteError, match="no answer"):
        parse_start_estimate("namdrunner: module load slurm/alpine failed\n")
