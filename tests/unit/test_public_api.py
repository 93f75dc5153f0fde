"""The public API: the design card's four names, and every name in ``__all__`` importable."""

from __future__ import annotations


def test_the_design_cards_four_names_and_every_public_name_import() -> None:
    import namdrunner_core
    from namdrunner_core import Cluster, Job, JobStore, Workflow  # noqa: F401 - the design card's promise

    assert [name for name in namdrunner_core.__all__ if not hasattr(namdrunner_core, name)] == []
