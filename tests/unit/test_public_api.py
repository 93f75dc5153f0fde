"""The public API: the design card's four names, and every name in ``__all__`` importable."""

from __future__ import annotations


def test_the_design_cards_four_names_and_every_public_name_import() -> None:
    import namdrunner_core
    from namdrunner_core import Cluster, Job, JobStore, Workflow  # noqa: F401 - the design card's promise

    assert [name for name in namdrunner_core.__all__ if not hasattr(namdrunner_core, name)] == []


def test_the_public_face_is_generated_from_one_list() -> None:
    """``namdrunner_core/__init__.py`` and ``docs/api.md`` are exactly what ``namdrunner_core/_api.py`` makes."""
    from namdrunner_core import _api

    for path, text in _api.generated().items():
        assert path.read_text(encoding="utf-8") == text, f"{path}: run python -m namdrunner_core._api --write"
    names = [n for items in _api.API.values() for n, _ in items]
    assert 35 <= len(names) <= 50
    assert len(set(names)) == len(names)
