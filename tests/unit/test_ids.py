"""Id arguments: what is refused before any lookup, and the exact-id rule for changing commands."""

from __future__ import annotations

import pytest

from namdrunner_core.errors import NotFoundError, ValidationError
from namdrunner_core.ids import check_id_argument, match_prefix, select_for_change

KNOWN = ["only_1796111045324229", "toy_npt_1796111045324230", "toy_npt_1796111045324231"]


@pytest.mark.parametrize("bad", ["", " ", "\t", "*", "..", ".", "a/../b", "/", "job\x00", "job\n", "a b", "$ID", "-rf"])
def test_ids_no_job_can_have_are_refused_before_lookup(bad: str) -> None:
    with pytest.raises(ValidationError) as info:
        check_id_argument(bad, "JOB_ID")
    assert info.value.field == "JOB_ID"
    assert "\n" not in info.value.message
    for call in (
        lambda: match_prefix(bad, KNOWN),
        lambda: select_for_change(bad, KNOWN, confirm=lambda _id: True),
    ):
        with pytest.raises(ValidationError):
            call()


def test_empty_id_message_names_the_likely_cause() -> None:
    with pytest.raises(ValidationError, match="shell variable unset"):
        check_id_argument("")


def test_reading_takes_a_unique_prefix_and_reports_it() -> None:
    m = match_prefix("only", KNOWN)
    assert (m.id, m.exact, m.note) == ("only_1796111045324229", False, "matched only_1796111045324229 from 'only'")
    exact = match_prefix(KNOWN[1], KNOWN)
    assert exact.exact
    assert exact.note is None
    with pytest.raises(ValidationError, match="matches 2 jobs"):
        match_prefix("toy", KNOWN)
    with pytest.raises(NotFoundError, match="did you mean only_1796111045324229"):
        match_prefix("only_1796111045324228", KNOWN)


def test_changing_needs_the_exact_id_without_a_person() -> None:
    assert select_for_change(KNOWN[0], KNOWN, confirm=None) == KNOWN[0]
    with pytest.raises(ValidationError, match=r"need the exact id.*full id is only_1796111045324229"):
        select_for_change("only_17", KNOWN, confirm=None)


def test_a_person_may_confirm_a_long_unique_prefix_only() -> None:
    asked: list[str] = []

    def yes(full: str) -> bool:
        asked.append(full)
        return True

    assert select_for_change("only_1", KNOWN, confirm=yes) == KNOWN[0]
    assert asked == [KNOWN[0]]  # the person saw the FULL id
    with pytest.raises(ValidationError, match="too short"):
        select_for_change("onl", KNOWN, confirm=yes)
    with pytest.raises(ValidationError, match="matches 2 jobs"):
        select_for_change("toy_npt", KNOWN, confirm=yes)
    with pytest.raises(ValidationError, match="not confirmed; nothing was changed"):
        select_for_change("only_1", KNOWN, confirm=lambda _id: False)
    assert len(asked) == 1  # refused prefixes never reach the prompt
