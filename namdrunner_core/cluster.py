"""Sessions: one open connection to a cluster.

:meth:`Cluster.connect` opens ONE authenticated session that every operation reuses. The profiles it
connects with are :mod:`namdrunner_core.profile` (re-exported here).
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import attrs

from namdrunner_core.errors import ProfileError, RemoteError
from namdrunner_core.paths import config_dir
from namdrunner_core.profile import ClusterProfile, load_profile
from namdrunner_core.scripts import HOSTQ_INSTALL, SLURM_EXEC, SLURM_MODULE_FAILED, RemoteScript
from namdrunner_core.transport.base import BaseTransport
from namdrunner_core.transport.broker_client import BrokerTransport, find_broker
from namdrunner_core.transport.console import CommandLog
from namdrunner_core.transport.local import LocalTransport
from namdrunner_core.transport.protocol import CommandResult
from namdrunner_core.transport.ratelimit import RateLimiter

if TYPE_CHECKING:
    from namdrunner_core.transport.ssh import AuthCallback, NoticeCallback


@attrs.define
class Session:
    """One open connection to a cluster, with the profile and the resolved user and roots.

    Everything that touches the cluster takes a Session; close it (or use ``with``) when done.
    """

    profile: ClusterProfile
    transport: BaseTransport
    user: str
    #: scheduler = "none": the host runner is installed and up to date (checked once per session)
    host_runner_ready: bool = attrs.field(default=False, init=False)

    @property
    def jobs_root(self) -> str:
        """Project (kept) root of the job directories, e.g. ``/projects/jdoe/namdrunner_jobs``."""
        return self.profile.roots_for(self.user)[0]

    @property
    def scratch_root(self) -> str:
        """Scratch (fast, purged) root of the job directories."""
        return self.profile.roots_for(self.user)[1]

    @property
    def command_log(self) -> CommandLog:
        """The session's command log ("SSH console")."""
        return self.transport.command_log

    #: The exit code of a Slurm script whose ``slurm_module`` did not load (nothing of the script ran).
    SLURM_MODULE_FAILED = SLURM_MODULE_FAILED

    def slurm_module_error(self, result: CommandResult) -> str | None:
        """For a Slurm script run with ``check=False``: the module's own message when nothing of it
        ran because ``module load <slurm_module>`` failed, else None."""
        if result.exit_code != SLURM_MODULE_FAILED or not self.profile.slurm_module:
            return None
        return result.stderr.strip()[-300:] or f"module load {self.profile.slurm_module}"

    def run_remote(
        self,
        script: RemoteScript,
        args: Sequence[str] = (),
        *,
        check: bool = True,
        timeout: float | None = None,
        stdin: bytes | None = None,
        chunks: Iterable[bytes] | None = None,
    ) -> CommandResult:
        """Run one of namdrunner's remote scripts (:mod:`namdrunner_core.scripts`), ``args`` as ``$1 ...``.

        THE one way a script runs in a session: a script that calls Slurm gets the profile's
        ``slurm_module`` (Alpine: ``slurm/alpine``) loaded first, exactly once, in a login shell (where
        ``module`` exists). ``stdin`` is sent whole; ``chunks`` are streamed (never retried). A script
        that is not idempotent is never retried after a dropped connection.
        """
        argv = list(args)
        login = script.login_shell
        if script.needs_slurm and self.profile.scheduler == "none" and not self.host_runner_ready:
            self.host_runner_ready = True  # first, before the Slurm command: its runner and commands in place
            install_host_runner(self)
        if script.needs_slurm:
            module = "@hostq" if self.profile.scheduler == "none" else self.profile.slurm_module or ""
            argv = [module, *argv]
            login = login or bool(module)
        command = script.argv(argv, login_shell=login)
        if chunks is not None:
            return self.transport.put_stream(command, chunks, timeout=timeout)
        return self.transport.run(command, check=check, idempotent=script.idempotent, timeout=timeout, stdin=stdin)

    def slurm(self, args: list[str], *, check: bool = True) -> CommandResult:
        """Run one Slurm command given as arguments (``["scancel", "123"]``), after the Slurm module."""
        return self.run_remote(SLURM_EXEC, args, check=check)

    def close(self) -> None:
        """Close the connection."""
        self.transport.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def install_host_runner(session: Session) -> str:
    """For a profile with ``scheduler = "none"``: namdrunner's host runner (``scripts/hostq.py``) and its
    Slurm commands installed or brought up to date on the host, with its slots (``host_gpus``,
    ``host_cores``); ONE command, changing nothing when all is in place. Returns the host's python3."""
    from importlib import resources

    p = session.profile
    code = resources.files("namdrunner_core.scripts").joinpath("hostq.py").read_bytes()
    cores = str(p.host_cores) if p.host_cores else "-"
    names = [p.partition(None).name] + [x.name for x in p.partitions if x.name != p.partition(None).name]
    if any(not re.fullmatch(r"[A-Za-z0-9_.-]+", n) for n in names):
        raise ProfileError(f"profile {p.name!r}: partition names of a host runner are letters, digits, _ . -")
    args = [str(p.host_gpus), cores, ",".join(names)]
    out = session.run_remote(HOSTQ_INSTALL, args, stdin=code, check=False).stdout
    return ready(out, f"the host runner could not be installed on {p.host}")


def ready(out: str, failed: str) -> str:
    """What a set-up script answered: the path after ``@@READY``, or ``failed`` and the script's own
    reason (``@@FAILED ...``) as a :class:`RemoteError`."""
    for line in out.splitlines():
        if line.startswith("@@READY "):
            return line[8:].strip()
        if line.startswith("@@FAILED "):
            raise RemoteError(f"{failed}: {line[9:].strip()[:400]}")
    raise RemoteError(f"{failed}: the script gave no answer ({out.strip()[-300:]})")


@attrs.define
class Cluster:
    """A cluster described by a profile. ``Cluster.from_profile("alpine").connect(user="jdoe")``."""

    profile: ClusterProfile

    @classmethod
    def from_profile(cls, name: str) -> Cluster:
        """Load a bundled or user profile by name."""
        return cls(load_profile(name))

    def connect(
        self,
        *,
        user: str | None = None,
        auth: AuthCallback | None = None,
        notify: NoticeCallback | None = None,
        command_log: CommandLog | None = None,
        local: bool = False,
        broker: bool = True,
    ) -> Session:
        """Open ONE authenticated session (password and 2FA asked once, through ``auth``).

        ``notify`` receives lines to show a person while logging in (Duo's messages, "Duo push sent -
        approve it on your phone"). With ``local=True`` no SSH is used: commands run on this machine.

        When a shared session runs for this profile (``namdrunner session start``), the session uses it:
        no login, no prompt (``broker=False`` logs in afresh all the same).
        """
        log = command_log or CommandLog()
        limiter = RateLimiter(rate=self.profile.rate_limit_per_s, max_pending=self.profile.max_pending_requests)
        if local or self.profile.local:
            transport: BaseTransport = LocalTransport(command_log=log, rate_limiter=limiter)
            return Session(self.profile, transport, user or getpass.getuser())
        p = self.profile
        if broker:
            info = find_broker(p.name)
            if info is not None and (user is None or user == info.user):
                shared = BrokerTransport(p.name, f"{info.user}@{info.host}", command_log=log)
                return Session(p, shared, info.user)
        from namdrunner_core.transport.ssh import SSHTarget, SSHTransport

        target = SSHTarget(
            host=p.host,
            port=p.port,
            user=user or p.user,
            identity_files=(p.identity_file,) if p.identity_file else (),
            use_agent=p.use_agent,
            ssh_config_path=p.ssh_config,
            host_key_policy=p.host_key_policy,
            known_hosts_path=p.known_hosts or str(config_dir() / "known_hosts"),
            proxy_jump=p.proxy_jump,
            second_factor=p.duo,
            push_timeout_s=p.duo_push_timeout_s,
            auth_network_timeout_s=p.auth_network_timeout_s,
        )
        ssh = SSHTransport(target, auth=auth, notify=notify, command_log=log, rate_limiter=limiter)
        return Session(p, ssh, ssh.resolved_host[2])
