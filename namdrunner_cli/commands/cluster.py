"""``namdrunner cluster list|show|check``."""

from __future__ import annotations

import click

from namdrunner_cli import complete
from namdrunner_cli.context import AppContext


@click.group()
def cluster() -> None:
    """Cluster profiles: list, show, check against the real cluster."""


@cluster.command("list")
@click.pass_obj
def list_profiles(app: AppContext) -> None:
    """Every profile, bundled and yours (a broken one is listed with its error).

    \b
    Examples:
      namdrunner cluster list
    """
    from namdrunner_cli.render.cluster import print_profiles
    from namdrunner_core.profile import profile_infos

    print_profiles(app.json, profile_infos())


@cluster.command("show")
@click.argument("name", shell_complete=complete.profiles)
@click.pass_obj
def show(app: AppContext, name: str) -> None:
    """A profile's host, storage roots, modules, partitions and QOS.

    \b
    Examples:
      namdrunner cluster show alpine
    """
    from namdrunner_cli.render.cluster import print_profile
    from namdrunner_core.profile import load_profile

    print_profile(app.json, load_profile(name))


@cluster.command("edit")
@click.argument("name", shell_complete=complete.profiles)
@click.pass_obj
def edit(app: AppContext, name: str) -> None:
    """Edit a profile in $EDITOR: your file, or for a bundled profile a new one that extends it. Saved
    only when it loads; otherwise nothing changes and the loader says why.

    \b
    Examples:
      namdrunner cluster edit alpine
    """
    from namdrunner_core.profile_files import profile_text, save_profile_text

    current = profile_text(name)
    text = click.edit(current.text, extension=".toml")
    if text is None or text == current.text:
        click.echo(f"profile {name} unchanged")
        return
    click.echo(f"saved {save_profile_text(name, text)}")


@cluster.command("check")
@click.argument("name", shell_complete=complete.profiles)
@click.pass_obj
def check(app: AppContext, name: str) -> None:
    """Log in and check: Slurm answers, partitions exist, the NAMD module loads, roots are writable.
    Exit 3 when a check fails.

    \b
    Examples:
      namdrunner cluster check alpine
    """
    from namdrunner_cli.render.cluster import print_checks
    from namdrunner_core.diagnostics import check_cluster

    results = check_cluster(app.session(name))
    print_checks(app.json, results)
    if not all(r.ok for r in results):
        raise click.exceptions.Exit(3)


@cluster.command("detect")
@click.argument("name", shell_complete=complete.profiles)
@click.option("--write", "write_name", metavar="NAME", help="Save user profile NAME: the profile with what was found.")
@click.option("--force", is_flag=True, help="With --write: replace an existing user profile of that name.")
@click.pass_obj
def detect(app: AppContext, name: str, write_name: str | None, force: bool) -> None:
    """Read partitions, QOS, your accounts and the NAMD builds from the cluster (one remote command)
    and show where the profile differs. Caches the limits for profiles with use_detected_limits.

    \b
    Examples:
      namdrunner cluster detect alpine
      namdrunner cluster detect alpine --json
      namdrunner cluster detect alpine --write alpine   # a user profile that extends the bundled one
    """
    from namdrunner_cli.render.cluster import print_detection
    from namdrunner_core.diagnostics import detect_cluster, write_detected_profile

    session = app.session(name)
    found = detect_cluster(session)
    written = write_detected_profile(found, session.profile, write_name, force=force) if write_name else None
    print_detection(app.json, found, written)


@cluster.command("analysis-env")
@click.argument("name", shell_complete=complete.profiles)
@click.option("--mdanalysis", is_flag=True, help="MDAnalysis too (any selection keyword), beside numpy.")
@click.option("--python", "python", default="python3", show_default=True, help="The Python to make it with.")
@click.pass_obj
def analysis_env(app: AppContext, name: str, mdanalysis: bool, python: str) -> None:
    """Make a Python for analysis jobs in namdrunner's folder of your project space (numpy, and
    MDAnalysis with --mdanalysis); a second call finds it ready. Then set in the profile:
    analysis_python = the path it prints, analysis_modules = [].

    \b
    Examples:
      namdrunner cluster analysis-env alpine
      namdrunner cluster analysis-env alpine --mdanalysis --python python3.11
    """
    from namdrunner_cli.render.cluster import print_analysis_env
    from namdrunner_core.jobs.analyze_remote import make_analysis_env

    print_analysis_env(app.json, name, make_analysis_env(app.session(name), mdanalysis=mdanalysis, python=python))
