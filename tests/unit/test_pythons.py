"""`cluster detect` finds the Pythons an analysis job could run (namdrunner_core/slurm/pythons.py): the
plain python3 and the Python modules, with numpy's and MDAnalysis's versions; the profile's
`analysis_modules` is said to differ when its Python lacks numpy (or MDAnalysis another one has)."""

from __future__ import annotations

import attrs

from namdrunner_core.profile import load_profile
from namdrunner_core.slurm.pythons import AnalysisPython, best, parse_pythons, python_differences, python_overrides

OUTPUT = """@@USER jdoe
@@PYTHON -|/usr/bin/python3|-|-
@@PYTHON anaconda/2024.10|/opt/anaconda/bin/python3|2.1.3|-
@@PYTHON python/3.12|/opt/python/bin/python3|1.26.4|2.8.0
@@PYTHON broken line
"""


def test_the_detected_pythons_are_parsed() -> None:
    found = parse_pythons(OUTPUT)
    assert found == [
        AnalysisPython(None, "/usr/bin/python3", None, None),
        AnalysisPython("anaconda/2024.10", "/opt/anaconda/bin/python3", "2.1.3", None),
        AnalysisPython("python/3.12", "/opt/python/bin/python3", "1.26.4", "2.8.0"),
    ]
    assert best(found) == found[2]  # MDAnalysis too
    assert best(found[:2]) == found[1]
    assert best(found[:1]) is None


def test_a_profile_whose_python_lacks_numpy_is_told_the_module_that_has_it() -> None:
    profile = attrs.evolve(load_profile("loopback"), analysis_modules=[])
    found = parse_pythons(OUTPUT)
    (diff,) = python_differences(found, profile)
    assert diff.field == "analysis_modules"
    assert diff.cluster == ["python/3.12"]
    assert diff.message == (
        "the analysis Python (the plain python3) has no numpy; module python/3.12 has numpy 1.26.4 and MDAnalysis 2.8.0"
    )
    assert python_overrides(found, profile) == {"analysis_modules": ["python/3.12"]}
    good = attrs.evolve(profile, analysis_modules=["python/3.12"])
    assert python_differences(found, good) == []
    numpy_only = attrs.evolve(profile, analysis_modules=["anaconda/2024.10"])
    (lacks,) = python_differences(found, numpy_only)
    assert "has no MDAnalysis" in lacks.message
    assert python_differences(found[:2], numpy_only) == []  # nothing better on the cluster
    by_name = attrs.evolve(profile, analysis_modules=["anaconda"])  # Lmod's default version
    assert python_differences(found[:2], by_name) == []
    assert python_differences([], profile) == []  # nothing detected: nothing to say
