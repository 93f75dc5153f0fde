"""Bring your own config: NAMD's tokenizing (tabs, `;`, continuations, braces, quotes, `set`/`$var`,
`source`) and the three answers of preflight (refuse / warn / ok), each construct on its own snippet."""

from __future__ import annotations

import pytest

from namdrunner_core.namd.config import check_config, total_steps
from namdrunner_core.namd.reader import read_config, split_commands

BASE = """\
structure          sys.psf
coordinates        sys.pdb
parameters         par.prm
exclude            scaled1-4
cutoff             12.0
switching          on
switchdist         10.0
pairlistdist       14.0
outputName         out
temperature        300
stepspercycle      20
"""


def answer(text: str, includes: dict[str, str] | None = None) -> tuple[str, list[str], list[str]]:
    r = check_config(text, includes)
    return ("refuse" if r.problems else "warn" if r.warnings else "ok"), r.problems, r.warnings


def test_the_base_config_is_ok() -> None:
    assert answer(BASE + "run 1000\n") == ("ok", [], [])


def test_tabs_separate_keyword_and_value() -> None:
    cfg = read_config("extendedSystem\tin.restart.xsc\nparameters\t\t\tpar.prm\n")
    assert cfg.get("extendedsystem") == "in.restart.xsc"
    assert cfg.all("parameters") == ["par.prm"]
    text = BASE.replace("cutoff             12.0", "cutoff\t12.0") + "extendedSystem\tx.xsc\nPME\tyes\n"
    text += "PMEGridSpacing\t1.0\nrun 1000\n"
    assert answer(text)[0] == "ok"  # the cell comes from extendedSystem: no false PME refusal


def test_semicolon_ends_a_command() -> None:
    cfg = read_config("PME yes;\ncutoff 12.0;\nrun 50000000;\nset a 1; set b 2\n")
    assert cfg.get("PME") == "yes"
    assert cfg.number("cutoff") == 12.0
    assert cfg.commands == [("run", 50_000_000)]
    assert cfg.tcl_vars == {"a": "1", "b": "2"}
    # a real error behind a ';' is no longer hidden: PME on without any cell
    assert answer(BASE + "PME yes;\nPMEGridSpacing 1.0;\nrun 1000;\n")[0] == "refuse"
    assert answer(BASE + "run 1001;\n")[1] == [
        "run 1001: the number of steps must be a multiple of stepspercycle 20 (nearest: 1000 or 1020)"
    ]


def test_comments_where_tcl_sees_them() -> None:
    cfg = read_config("# whole line\ncutoff 12 ;# after a command\nswitchdist 10 # NAMD inline comment\n")
    assert cfg.get("cutoff") == "12"
    assert cfg.get("switchdist") == "10"


def test_backslash_continuation_is_one_command() -> None:
    text = BASE + "set opts [dict create \\\n    a 1 \\\n    b 2]\nrun 1000\n"
    assert [c for _, c in split_commands(text)][-2].startswith("set opts [dict create")
    verdict, problems, _ = answer(text)
    assert not any("more than once" in p for p in problems)
    assert verdict == "ok"  # a variable nothing uses is not a problem


def test_crlf_configs_read_the_same() -> None:
    assert answer((BASE + "run 1000\n").replace("\n", "\r\n")) == ("ok", [], [])


def test_set_and_var_substitution_braces_and_quotes() -> None:
    cfg = read_config(
        'set temp 310\nset name "eq 1"\nlangevinTemp $temp\noutputName ${name}\ncellBasisVector1 {50 0 0}\n'
    )
    assert cfg.get("langevinTemp") == "310"
    assert cfg.get("outputName") == "eq 1"
    assert cfg.get("cellBasisVector1") == "50 0 0"


def test_source_is_read_when_the_file_is_an_input() -> None:
    main = "source ../common.inc\noutputName out\ntemperature 300\nrun 1000\n"
    common = "\n".join(line for line in BASE.splitlines() if not line.startswith(("outputName", "temperature")))
    assert answer(main, {"common.inc": common}) == ("ok", [], [])
    # without the file: the required options may come from it, so they are warnings, never a refusal
    verdict, problems, warnings = answer(main)
    assert verdict == "warn"
    assert problems == []
    assert any("source ../common.inc" in w for w in warnings)
    assert any("'structure' is a required configuration option" in w for w in warnings)


@pytest.mark.parametrize(
    ("snippet", "note"),
    [
        ("proc setup {} {\n  cutoff 12\n}\nsetup\n", "proc setup"),
        ("for {set i 0} {$i < 3} {incr i} {\n  run 1000\n}\n", "for ..."),
        ("foreach t {300 310} {\n  langevinTemp $t\n  run 1000\n}\n", "foreach ..."),
        ("if {$restart} {\n  PME yes\n}\n", "if ..."),
        ("callback {proc cb {x} {}}\n", "callback ..."),
    ],
)
def test_tcl_blocks_are_warnings_naming_the_part(snippet: str, note: str) -> None:
    text = "set restart 1\n" + BASE + snippet
    verdict, problems, warnings = answer(text)
    assert verdict == "warn", (problems, warnings)
    assert any(note in w and "not checked" in w for w in warnings), warnings


def test_computed_values_are_not_guessed() -> None:
    text = BASE.replace("cutoff             12.0", "cutoff [expr 2*6]") + "run 1000\n"
    cfg = read_config(text)
    assert not cfg.is_known("cutoff")
    verdict, problems, warnings = answer(text)
    assert verdict == "warn"
    assert problems == []
    assert any("cutoff" in w and "computed by Tcl" in w for w in warnings)


def test_step_counts_from_tcl_are_warnings_and_no_plan() -> None:
    text = BASE + "set n [expr 1000*2]\nrun $n\n"
    assert answer(text)[0] == "warn"
    assert total_steps(text) is None


def test_certain_refusals_remain_certain() -> None:
    for bad, fragment in (
        ("temperature 300\nbinvelocities x.vel\nrun 1000\n", "both an initial temperature"),
        ("run 1010\n", "run 1010"),
        ("minimize 1010\n", "minimize 1010"),
        ("firsttimestep 1010\nrun 1000\n", "firsttimestep 1010"),
        ("cutoff 13\nrun 1000\n", "defined more than once"),
        ("extraBonds on\nrun 1000\n", "extraBonds is on"),
    ):
        verdict, problems, _ = answer(BASE + bad)
        assert verdict == "refuse", bad
        assert any(fragment in p for p in problems), (bad, problems)


def test_a_missing_required_option_is_refused_only_when_the_whole_config_was_read() -> None:
    text = BASE.replace("structure          sys.psf\n", "") + "run 1000\n"
    assert answer(text)[0] == "refuse"
    assert answer(text + "if {1} {\n  structure sys.psf\n}\n")[0] == "warn"


def test_stepspercycle_set_by_tcl_makes_the_step_rule_a_warning() -> None:
    text = BASE.replace("stepspercycle      20\n", "") + "if {1} {\n  stepspercycle 10\n}\nrun 50\n"
    verdict, problems, warnings = answer(text)
    assert verdict == "warn"
    assert problems == []
    assert any("run 50" in w for w in warnings)


def test_files_the_config_names_but_the_job_lacks_are_warned() -> None:
    from namdrunner_core.namd.config import missing_references

    text = "structure input_files/sys.psf\ncoordinates ../sys.pdb\nparameters /shared/toppar/par.prm\nsource x.inc\n"
    warnings = missing_references(text, ["sys.psf"])
    assert warnings == [
        "the config names '../sys.pdb', which is not among the job's input files (add it with --file)",
        "the config names 'x.inc', which is not among the job's input files (add it with --file)",
    ]  # an absolute path is the cluster's business; an uploaded input is fine
