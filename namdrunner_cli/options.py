"""Options shared by every command that asks Slurm for resources: one model for single jobs,
restarts, workflow stages and sweep points (``--partition --qos --gpus --gpu-type --account
--constraint`` wherever ``--cores`` is)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from namdrunner_core.profile import ClusterProfile
    from namdrunner_core.slurm.resources import Resources

RESOURCE_KEYS = ("cores", "memory_gb", "walltime", "partition", "qos", "gpus", "gpu_type", "account", "constraint")


def resource_options(*, required: bool) -> Callable[[Any], Any]:
    """The resource options; with ``required=False`` (a restart) every one defaults to the parent's."""
    keep = " (default: the parent job's)" if not required else " (or from --preset)"
    options = [
        click.option(
            "--preset",
            help="Start from the profile's resource preset NAME (`cluster show` lists them); "
            "the options given beside it win.",
        ),
        click.option("--cores", type=int, help=f"Cores (MPI tasks){keep}."),
        click.option("--memory", "memory_gb", type=float, help=f"Memory per node in GB{keep}."),
        click.option("--walltime", help=f"Wall time, HH:MM:SS or D-HH:MM:SS{keep}."),
        click.option("--partition", help=f"Partition (default: the profile's default){keep}."),
        click.option("--qos", help=f"QOS (default: the partition's default){keep}."),
        click.option("--gpus", type=int, help="GPUs (GPU partitions only; e.g. --partition aa100 --gpus 1)."),
        click.option("--gpu-type", help="GRES type, e.g. a MIG slice a100_3g.20gb (default: the partition's/QOS's)."),
        click.option("--account", help="Slurm account, if your site needs one."),
        click.option("--constraint", help="Slurm --constraint (default: the partition's)."),
    ]

    def decorate(f: Any) -> Any:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def pop_resources(kw: dict[str, Any], base: Resources | None = None, *, profile: str | None = None) -> Resources:
    """Take the resource options out of a command's keyword arguments: over ``--preset`` (of ``profile``)
    when given, else over ``base`` (what a restart keeps); without either, --cores, --memory and
    --walltime are needed."""
    from namdrunner_core.errors import ValidationError
    from namdrunner_core.profile import load_profile
    from namdrunner_core.slurm.resources import Resources, preset_resources

    preset = kw.pop("preset", None)
    given = {k: v for k, v in ((k, kw.pop(k)) for k in RESOURCE_KEYS if k in kw) if v is not None}
    if preset:
        if profile is None:
            raise ValidationError("--preset", "this command takes no preset")
        base = preset_resources(load_profile(profile), preset)
    if base is not None:
        return base.overridden(**given)
    missing = [f"--{k.removesuffix('_gb')}" for k in ("cores", "memory_gb", "walltime") if k not in given]
    if missing:
        raise ValidationError(
            missing[0], f"missing: give {', '.join(missing)}, or --preset NAME (`cluster show` lists them)"
        )
    return Resources(**given)


def preset_into(kw: dict[str, Any], profile: ClusterProfile) -> None:
    """``--preset`` taken out of a command's keyword arguments: the resource options left out are filled
    from the profile's preset (for commands that pass the options on one by one)."""
    from namdrunner_core.slurm.resources import preset_resources

    name = kw.pop("preset", None)
    if name:
        chosen = preset_resources(profile, name)
        kw.update({k: getattr(chosen, k) for k in RESOURCE_KEYS if kw.get(k) is None and getattr(chosen, k)})
