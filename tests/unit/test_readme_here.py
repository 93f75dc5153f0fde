"""The README's third example, as written: the toy system run on this machine with profile
`this-machine` (no SSH, no Slurm: namdrunner's host runner), in a fresh home, to completion."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.posix


def test_the_readme_runs_the_toy_system_on_this_machine(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Without Slurm: this machine", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAMDRUNNER_") and k != "NR_HOSTQ_HOME"}
    env.update(HOME=str(tmp_path), PATH=f"{Path(sys.executable).parent}:{env['PATH']}", COLUMNS="200",
               XDG_CONFIG_HOME=str(tmp_path / ".config"), XDG_DATA_HOME=str(tmp_path / ".local/share"),
               XDG_CACHE_HOME=str(tmp_path / ".cache"))  # fmt: skip
    try:
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.group(1)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Completed" in done.stdout
        jobs = list((tmp_path / "namdrunner_jobs").glob("toy_here_*"))
        assert len(jobs) == 1
        assert "End of program" in (jobs[0] / "namd_output.log").read_text()
        assert (tmp_path / ".namdrunner" / "hostq" / "state.json").is_file()
    finally:
        subprocess.run(["pkill", "-f", f"{tmp_path}/.namdrunner/hostq/bin/hostq.py"], check=False)
