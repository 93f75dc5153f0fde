"""The bash scripts namdrunner runs on a cluster, as files (``namdrunner_core/scripts/*.sh``).

Every remote script is fixed text checked by shellcheck in the test script; values reach it only as
positional arguments (quoted once, by the transport) or on stdin, never spliced into its text. Each
is described by one :class:`RemoteScript`: whether it calls Slurm (then
:meth:`namdrunner_core.cluster.Session.run_remote` prefixes the profile's Slurm module, exactly once)
and whether running it twice is harmless (then a dropped connection may retry it). Libraries
(``lib_*.sh``) are prepended to the scripts that include them.

The parsers of what the scripts print live beside their callers: :mod:`namdrunner_core.jobs.script_output`
(status, logs, finalize, discover), :mod:`namdrunner_core.slurm.parse` and
:mod:`namdrunner_core.transport.transfer`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib import resources

import attrs

#: The exit code of a Slurm script whose module did not load (nothing of the script ran).
SLURM_MODULE_FAILED = 97


@functools.cache
def _read(file_name: str) -> str:
    return resources.files(__name__).joinpath(file_name).read_text(encoding="utf-8")


@attrs.frozen(slots=True)
class RemoteScript:
    """One remote script: ``<name>.sh`` with its libraries, and how it may be run."""

    name: str
    #: calls Slurm: run after the site's ``slurm_module`` is loaded (:meth:`Session.run_remote`)
    needs_slurm: bool = False
    #: harmless to run twice (read-only, or converging): may be retried after a dropped connection
    idempotent: bool = True
    #: needs a login shell (``module`` and the site's profile) even without a Slurm module
    login_shell: bool = False
    #: ``lib_*.sh`` files prepended, in order
    includes: tuple[str, ...] = ()

    @property
    def file_name(self) -> str:
        """The script's file in this package."""
        return f"{self.name}.sh"

    @property
    def text(self) -> str:
        """The script's text with its libraries (and, for Slurm scripts, the module prefix) first."""
        parts = [_read("lib_slurm_module.sh")] if self.needs_slurm else []
        parts += [_read(f"{lib}.sh") for lib in self.includes]
        parts.append(_read(self.file_name))
        return "\n".join(parts)

    def argv(self, args: Sequence[str] = (), *, login_shell: bool = False) -> list[str]:
        """``bash -c TEXT namdrunner-<name> ARGS...`` for a transport (``-lc`` for a login shell)."""
        flag = "-lc" if login_shell or self.login_shell else "-c"
        return ["bash", flag, self.text, f"namdrunner-{self.name}", *[str(a) for a in args]]


#: an analysis jobs' Python environment made (or found ready) in namdrunner's folder of the project space
ANALYSIS_ENV = RemoteScript("analysis_env", login_shell=True)

#: the host runner of a profile with scheduler = "none" installed or brought up to date (stdin: hostq.py)
HOSTQ_INSTALL = RemoteScript("hostq_install")

# -- Slurm ----------------------------------------------------------------------------------------
#: one Slurm command given as arguments (``scancel 123``)
SLURM_EXEC = RemoteScript("exec", needs_slurm=True)
#: Slurm's estimate of when the batch script on stdin would start (``sbatch --test-only``: read-only)
START_ESTIMATE = RemoteScript("start_estimate", needs_slurm=True)
#: ``sbatch`` inside a directory: never retried blindly (see :mod:`namdrunner_core.jobs.submission`)
SBATCH_IN = RemoteScript("sbatch_in", needs_slurm=True, idempotent=False)
#: squeue + sacct for many jobs, and their NAMD log tails (progress refreshed in the same round trip)
STATUS = RemoteScript("status", needs_slurm=True, includes=("lib_log",))
#: a submission's token in squeue and sacct
LOOKUP_TOKEN = RemoteScript("lookup_token", needs_slurm=True)
#: ``cluster check``: login, what the cluster offers (lib_detect), NAMD modules, writable roots
CHECK_CLUSTER = RemoteScript("check_cluster", needs_slurm=True, login_shell=True, includes=("lib_detect",))
#: ``cluster detect``: partitions, QOS, associations and NAMD builds (parsed by slurm.inventory)
DETECT_CLUSTER = RemoteScript("detect_cluster", needs_slurm=True, login_shell=True, includes=("lib_detect",))
#: ``usage``: sacct of many jobs, squeue --start, storage use, scratch file ages
USAGE = RemoteScript("usage", needs_slurm=True)

# -- the job lifecycle ------------------------------------------------------------------------------
#: new NAMD log lines of many jobs
LOG_TAIL = RemoteScript("log_tail", includes=("lib_log",))
#: copy-back (verified), Slurm logs, listing and log tail of many ended jobs
FINALIZE = RemoteScript("finalize", includes=("lib_log", "lib_hash"))
#: many job_info.json files from stdin, each renamed into place
WRITE_FILES = RemoteScript("write_files")
#: every job_info.json under the jobs root
DISCOVER = RemoteScript("discover")
#: the delete safety check's remote half
REMOVE_JOB_DIR = RemoteScript("remove_job_dir")
#: inputs already on the cluster into a job's input dir
COPY_INPUTS = RemoteScript("copy_inputs")
#: a job's restart points
FIND_CHECKPOINT = RemoteScript("find_checkpoint")
#: project dir -> scratch dir before sbatch
STAGE_JOB = RemoteScript("stage_job")
#: every sweep point to scratch, and the array script from stdin
STAGE_SWEEP = RemoteScript("stage_sweep")
#: files of a job's project and scratch dirs
LIST_OUTPUTS = RemoteScript("list_outputs")
#: the first existing file of several (Slurm logs under either tool's names)
CAT_FIRST = RemoteScript("cat_first")
#: the last lines of many jobs' NAMD logs (pages that follow several running jobs)
TAILS = RemoteScript("tails")
#: the --time for a campaign's first segment before a maintenance window (campaign_step.py cap)
CAMPAIGN_CAP = RemoteScript("campaign_cap", needs_slurm=True)
#: cancel or resume a campaign in place (campaign_step.py on the cluster)
CAMPAIGN_CTL = RemoteScript("campaign_ctl", idempotent=False)
#: queue the next segments of campaigns the laptop side moves on; not idempotent (it submits)
CAMPAIGN_SUBMIT = RemoteScript("campaign_submit", needs_slurm=True, idempotent=False)

# -- transfers -------------------------------------------------------------------------------------
#: one file from stdin into its partial name (resumable)
PUT_FILE = RemoteScript("put_file", idempotent=False, includes=("lib_stream",))
#: an uploaded partial into place when its size and sha256 match
FINISH_PUT = RemoteScript("finish_put", idempotent=False, includes=("lib_hash",))
#: one file from an offset to stdout, with its size and the sha256 of what was sent
GET_FILE = RemoteScript("get_file", includes=("lib_hash", "lib_stream"))
#: sizes and sha256 of a tree
MANIFEST = RemoteScript("manifest", includes=("lib_hash",))
#: sizes of a tree (no file read)
LIST_FILES = RemoteScript("list_files")
#: sha256 of named files
HASH_FILES = RemoteScript("hash_files", includes=("lib_hash", "lib_stream"))
#: many small files in one framed stream
GET_FILES = RemoteScript("get_files", includes=("lib_hash", "lib_stream"))
#: size and sha256 of an interrupted upload's partial
PARTIAL_INFO = RemoteScript("partial_info", includes=("lib_hash",))
#: a tar of many files from stdin, checked, renamed into place
PUT_TREE = RemoteScript("put_tree", idempotent=False)

ALL: tuple[RemoteScript, ...] = tuple(v for v in list(globals().values()) if isinstance(v, RemoteScript))


def library_files() -> list[str]:
    """Every ``.sh`` file of the package (scripts and libraries), for shellcheck."""
    return sorted(p.name for p in resources.files(__name__).iterdir() if p.name.endswith(".sh"))
