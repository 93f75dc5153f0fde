"""The public face of :mod:`namdrunner_core`: ONE list. ``namdrunner_core/__init__.py`` (its imports and
``__all__``) and ``docs/api.md`` are generated from it by ``python -m namdrunner_core._api --write``; a unit
test fails when they differ. Every other public name lives in its subpackage (``namdrunner_core.workflow``,
``namdrunner_core.namd``, ...), listed under :data:`SUBPACKAGES`."""

from __future__ import annotations

import sys
from pathlib import Path

#: section -> [(name, module)]: the names importable from ``namdrunner_core`` itself
API: dict[str, list[tuple[str, str]]] = {
    "Clusters and sessions": [
        ("Cluster", "namdrunner_core.cluster"),
        ("Session", "namdrunner_core.cluster"),
        ("ClusterProfile", "namdrunner_core.profile"),
        ("load_profile", "namdrunner_core.profile"),
        ("profile_names", "namdrunner_core.profile"),
        ("interactive_prompt", "namdrunner_core.auth"),
        ("check_cluster", "namdrunner_core.diagnostics"),
        ("detect_cluster", "namdrunner_core.diagnostics"),
    ],
    "Jobs": [
        ("Job", "namdrunner_core.jobs.job"),
        ("JobStore", "namdrunner_core.store"),
        ("JobRecord", "namdrunner_core.models"),
        ("JobStatus", "namdrunner_core.slurm.states"),
        ("Resources", "namdrunner_core.slurm.resources"),
        ("plan_job", "namdrunner_core.jobs.prepare"),
        ("Planned", "namdrunner_core.jobs.prepare"),
    ],
    "Keeping jobs up to date": [
        ("sync_jobs", "namdrunner_core.jobs.sync"),
        ("discover_jobs", "namdrunner_core.jobs.discover"),
        ("watch_jobs", "namdrunner_core.jobs.watch"),
        ("SyncReport", "namdrunner_core.jobs.sync"),
    ],
    "Workflows and sweeps": [
        ("Workflow", "namdrunner_core.workflow"),
        ("Sweep", "namdrunner_core.workflow"),
        ("StageSpec", "namdrunner_core.workflow"),
        ("load_group", "namdrunner_core.workflow"),
        ("workflows_from_file", "namdrunner_core.workflow"),
        ("validate_workflow_file", "namdrunner_core.workflow"),
        ("dna_origami_equilibration", "namdrunner_core.workflow"),
    ],
    "NAMD config templates": [
        ("Template", "namdrunner_core.namd.config"),
        ("list_templates", "namdrunner_core.template_library"),
        ("get_template", "namdrunner_core.template_library"),
        ("preview_template", "namdrunner_core.template_library"),
        ("check_config", "namdrunner_core.namd.config"),
        ("read_config", "namdrunner_core.namd.config"),
    ],
    "Logs, plots and the bill": [
        ("NamdLogParser", "namdrunner_core.namd.log"),
        ("iter_energy_rows", "namdrunner_core.namd.log"),
        ("plot_energies", "namdrunner_core.plot"),
        ("usage_report", "namdrunner_core.usage"),
        ("UsageReport", "namdrunner_core.usage"),
    ],
    "Is it equilibrated?": [
        ("Analysis", "namdrunner_core.analysis.report"),
        ("SeriesVerdict", "namdrunner_core.analysis.stats"),
        ("StructureSeries", "namdrunner_core.analysis.structure"),
        ("analyze_log", "namdrunner_core.analysis.report"),
        ("analyze_files", "namdrunner_core.analysis.report"),
        ("plot_analysis", "namdrunner_core.analysis.plot"),
    ],
    "Errors": [
        ("NamdRunnerError", "namdrunner_core.errors"),
        ("ValidationError", "namdrunner_core.errors"),
        ("ValidationErrors", "namdrunner_core.errors"),
        ("NotFoundError", "namdrunner_core.errors"),
        ("AuthenticationError", "namdrunner_core.errors"),
        ("RemoteError", "namdrunner_core.errors"),
    ],
}

#: where the rest is: module -> what it holds (docs/api.md lists these with their own pages' names)
SUBPACKAGES: dict[str, str] = {
    "namdrunner_core.jobs": "one job's lifecycle: prepare, submit, sync, restart, settle, watch",
    "namdrunner_core.workflow": "workflows, sweeps, replicas, workflow files and their library, the origami protocol",
    "namdrunner_core.namd": "NAMD config templates, the config reader and rules, input files, the log parser",
    "namdrunner_core.slurm": "resources, batch scripts, Slurm's answers parsed, states, inventory, accounting",
    "namdrunner_core.transport": "SSH and local transports, verified transfers, the shared-session client",
    "namdrunner_core.template_library": "the NAMD config template library as a user sees it (builtin and own)",
    "namdrunner_core.answers": "the typed answers of commands (what --json prints)",
    "namdrunner_core.analysis": "series from logs, .xst files and DCDs; equilibration, errors, drift; replicas; plots",
    "namdrunner_core.job_info": "the desktop app's job_info.json, both ways",
    "namdrunner_core.serde": "the one serialization layer",
    "namdrunner_core.usage": "the bill: SUs, efficiency, storage, purge and queue",
    "namdrunner_core.plot": "energy and SU plots (matplotlib, the notebooks extra)",
    "namdrunner_core.profile": "cluster profiles: loading, the user's files, partitions and QOS",
    "namdrunner_core.diagnostics": "cluster check and cluster detect",
    "namdrunner_core.testing": "FakeSlurm: a fake Slurm for fast tests of code built on namdrunner",
    "namdrunner_core.errors": "the error hierarchy rooted in NamdRunnerError, and exit codes",
    "namdrunner_core.campaign_view": "where a campaign stands (done of target ns, segment, attempt, ETA)",
}

_ROOT = Path(__file__).resolve().parent


def _init_text() -> str:
    head = (_ROOT / "__init__.py").read_text(encoding="utf-8").split("# -- generated by namdrunner_core._api")[0]
    by_module: dict[str, list[str]] = {}
    for items in API.values():
        for name, module in items:
            by_module.setdefault(module, []).append(name)
    imports = "".join(_import_line(module, sorted(names)) for module, names in sorted(by_module.items()))
    public = "".join(_public_line(module, sorted(names)) for module, names in sorted(by_module.items()))
    names = sorted([n for items in API.values() for n, _ in items] + ["__version__"])
    all_text = "".join(f'    "{n}",\n' for n in names)
    return (
        head + "# -- generated by namdrunner_core._api (python -m namdrunner_core._api --write): do not edit --\n\n"
        "if TYPE_CHECKING:\n" + imports + "\n#: where each public name lives (imported on first use, so that "
        "``import namdrunner_core`` stays fast)\n_PUBLIC: dict[str, tuple[str, ...]] = {\n" + public + "}\n"
        "_LAZY: dict[str, str] = {name: module for module, names in _PUBLIC.items() for name in names}\n\n\n"
        "def __getattr__(name: str) -> Any:\n"
        "    module = _LAZY.get(name)\n"
        "    if module is None:\n"
        "        raise AttributeError(f\"module 'namdrunner_core' has no attribute {name!r}\")\n"
        "    value = getattr(importlib.import_module(module), name)\n"
        "    globals()[name] = value\n"
        "    return value\n\n\n"
        "def __dir__() -> list[str]:\n"
        "    return sorted(__all__)\n\n\n"
        "__all__ = [\n" + all_text + "]\n"
    )


def _import_line(module: str, names: list[str]) -> str:
    line = f"    from {module} import {', '.join(names)}\n"
    if len(line) <= 121:
        return line
    return f"    from {module} import (\n" + "".join(f"        {n},\n" for n in names) + "    )\n"


def _public_line(module: str, names: list[str]) -> str:
    quoted = [f'"{n}"' for n in names]
    line = f'    "{module}": ({", ".join(quoted)},),\n'
    if len(line) <= 121:
        return line
    return f'    "{module}": (\n' + "".join(f"        {q},\n" for q in quoted) + "    ),\n"


def _api_md_text() -> str:
    out = [
        "# API reference",
        "",
        "<!-- generated by namdrunner_core._api (python -m namdrunner_core._api --write): do not edit -->",
        "",
        "The names a script or notebook needs are importable from `namdrunner_core` itself "
        "(`from namdrunner_core import Job, sync_jobs`); every call the CLI and the web page make is one of "
        "these or lives in a subpackage listed at the end.",
        "",
    ]
    for section, items in API.items():
        out += [f"## {section}", ""]
        for name, module in items:
            out += [f"::: {module}.{name}", ""]
    out += ["## Everything else, by subpackage", "", "| module | what it holds |", "| --- | --- |"]
    out += [f"| `{m}` | {what} |" for m, what in SUBPACKAGES.items()]
    return "\n".join(out) + "\n"


def generated() -> dict[Path, str]:
    """The files generated from :data:`API`, with their text."""
    return {_ROOT / "__init__.py": _init_text(), _ROOT.parent / "docs" / "api.md": _api_md_text()}


if __name__ == "__main__":
    for path, text in generated().items():
        if "--write" in sys.argv:
            path.write_text(text, encoding="utf-8")
        elif path.read_text(encoding="utf-8") != text:
            sys.exit(f"{path} differs from namdrunner_core/_api.py: run python -m namdrunner_core._api --write")
