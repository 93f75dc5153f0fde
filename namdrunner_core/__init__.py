"""namdrunner_core: run NAMD simulations on SLURM clusters over SSH.

The public API (every name a script or notebook needs is importable from here)::

    from namdrunner_core import Cluster, Job, JobStore, Resources, sync_jobs
    cluster = Cluster.from_profile("alpine")
    with cluster.connect(user="jdoe", auth=my_prompt) as session:
        store = JobStore.default()
        job = Job.create(session, store, name="hextube-min", template="vacuum_optimization_v1",
                         files=["hextube.psf", "hextube.pdb", "par_all36_na.prm", "hextube.exb"],
                         resources=Resources(cores=24, memory_gb=16, walltime="04:00:00"))
        job.submit()
        sync_jobs(store, session)   # every active job, in at most 4 remote commands
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from namdrunner_core._version import __version__

if TYPE_CHECKING:
    from namdrunner_core.auth import interactive_prompt, print_notice
    from namdrunner_core.cluster import Cluster, Session
    from namdrunner_core.diagnostics import Check, Detection, check_cluster, detect_cluster, write_detected_profile
    from namdrunner_core.errors import (
        AuthenticationError,
        ConnectionFailedError,
        NamdRunnerError,
        NotFoundError,
        ProfileError,
        RemoteCommandError,
        RemoteError,
        SchedulerError,
        TransferError,
        UnsafePathError,
        ValidationError,
        ValidationErrors,
    )
    from namdrunner_core.jobs.job import Job, JobOutputs, download_dir
    from namdrunner_core.jobs.prepare import Planned, PreparedJob, plan_ahead, plan_job, prepare_job
    from namdrunner_core.jobs.restart import Checkpoint, plan_restart
    from namdrunner_core.jobs.sync import DiscoverReport, SyncReport, discover_jobs, profiles_to_sync, sync_jobs
    from namdrunner_core.jobs.watch import watch_jobs
    from namdrunner_core.listing import job_count, job_details, job_rows, row_to_json
    from namdrunner_core.models import GroupRecord, JobRecord, OutputFile, ProgressSummary
    from namdrunner_core.namd.config import (
        PreflightReport,
        Template,
        Variable,
        VariableType,
        check_config,
        preflight,
        preview_config,
        read_config,
    )
    from namdrunner_core.namd.library import (
        builtin_templates,
        template_from_namd_config,
        template_from_text,
        template_to_text,
    )
    from namdrunner_core.namd.log import LogOutcome, NamdLogParser, Progress, iter_energy_rows
    from namdrunner_core.plot import plot_energies, plot_service_units
    from namdrunner_core.profile import (
        ClusterProfile,
        Partition,
        ProfileInfo,
        Qos,
        load_profile,
        profile_infos,
        profile_names,
    )
    from namdrunner_core.slurm.resources import Resources, resolve_resources
    from namdrunner_core.slurm.states import JobStatus
    from namdrunner_core.store import JobStore
    from namdrunner_core.templates import (
        TemplateInfo,
        TemplatePreview,
        delete_template,
        export_template,
        get_template,
        import_template_file,
        list_templates,
        preview_template,
        template_ids,
    )
    from namdrunner_core.usage import (
        JobUsage,
        PendingJob,
        PurgeWarning,
        UsageReport,
        select_usage_jobs,
        usage_from_store,
        usage_profile,
        usage_report,
    )
    from namdrunner_core.workflow import (
        GroupSummary,
        InputEntry,
        ScaledEntry,
        StageEntry,
        StageSpec,
        Sweep,
        SweepPlan,
        Workflow,
        WorkflowFile,
        WorkflowFileInfo,
        WorkflowPlan,
        array_script,
        create_planned_workflows,
        dna_origami_equilibration,
        export_workflow,
        export_workflow_template,
        import_workflow_file,
        list_groups,
        list_workflow_files,
        load_group,
        origami_file,
        origami_plan,
        origami_stages,
        parse_grid,
        parse_stage_assignments,
        parse_stage_steps,
        plan_sweep,
        plan_sweep_ahead,
        plan_workflow,
        plan_workflow_file,
        read_workflow_file,
        settle_workflows,
        submit_replicas,
        validate_workflow_file,
        workflow_file_path,
        workflow_file_text,
        workflows_from_file,
    )

#: Where each public name lives. Names are imported on first use, so that ``import namdrunner_core``
#: (and the CLI's --help) stay fast: SQLAlchemy, Jinja2 and paramiko load only when needed. A unit
#: test checks that this table, the TYPE_CHECKING imports above and ``__all__`` agree.
_PUBLIC: dict[str, tuple[str, ...]] = {
    "namdrunner_core.auth": ("interactive_prompt", "print_notice"),
    "namdrunner_core.cluster": ("Cluster", "Session"),
    "namdrunner_core.diagnostics": ("Check", "Detection", "check_cluster", "detect_cluster", "write_detected_profile"),
    "namdrunner_core.errors": (
        "AuthenticationError",
        "ConnectionFailedError",
        "NamdRunnerError",
        "NotFoundError",
        "ProfileError",
        "RemoteCommandError",
        "RemoteError",
        "SchedulerError",
        "TransferError",
        "UnsafePathError",
        "ValidationError",
        "ValidationErrors",
    ),
    "namdrunner_core.jobs.job": ("Job", "JobOutputs", "download_dir"),
    "namdrunner_core.jobs.prepare": ("Planned", "PreparedJob", "plan_ahead", "plan_job", "prepare_job"),
    "namdrunner_core.jobs.restart": ("Checkpoint", "plan_restart"),
    "namdrunner_core.jobs.sync": ("DiscoverReport", "SyncReport", "discover_jobs", "profiles_to_sync", "sync_jobs"),
    "namdrunner_core.jobs.watch": ("watch_jobs",),
    "namdrunner_core.listing": ("job_count", "job_details", "job_rows", "row_to_json"),
    "namdrunner_core.models": ("GroupRecord", "JobRecord", "OutputFile", "ProgressSummary"),
    "namdrunner_core.namd.config": (
        "PreflightReport",
        "Template",
        "Variable",
        "VariableType",
        "check_config",
        "preflight",
        "preview_config",
        "read_config",
    ),
    "namdrunner_core.namd.library": (
        "builtin_templates",
        "template_from_namd_config",
        "template_from_text",
        "template_to_text",
    ),
    "namdrunner_core.namd.log": ("LogOutcome", "NamdLogParser", "Progress", "iter_energy_rows"),
    "namdrunner_core.plot": ("plot_energies", "plot_service_units"),
    "namdrunner_core.profile": (
        "ClusterProfile",
        "Partition",
        "ProfileInfo",
        "Qos",
        "load_profile",
        "profile_infos",
        "profile_names",
    ),
    "namdrunner_core.slurm.resources": ("Resources", "resolve_resources"),
    "namdrunner_core.slurm.states": ("JobStatus",),
    "namdrunner_core.store": ("JobStore",),
    "namdrunner_core.templates": (
        "TemplateInfo",
        "TemplatePreview",
        "delete_template",
        "export_template",
        "get_template",
        "import_template_file",
        "list_templates",
        "preview_template",
        "template_ids",
    ),
    "namdrunner_core.usage": (
        "JobUsage",
        "PendingJob",
        "PurgeWarning",
        "UsageReport",
        "select_usage_jobs",
        "usage_from_store",
        "usage_profile",
        "usage_report",
    ),
    "namdrunner_core.workflow": (
        "GroupSummary",
        "InputEntry",
        "ScaledEntry",
        "StageEntry",
        "StageSpec",
        "Sweep",
        "SweepPlan",
        "Workflow",
        "WorkflowFile",
        "WorkflowFileInfo",
        "WorkflowPlan",
        "array_script",
        "create_planned_workflows",
        "dna_origami_equilibration",
        "export_workflow",
        "export_workflow_template",
        "import_workflow_file",
        "list_groups",
        "list_workflow_files",
        "load_group",
        "origami_file",
        "origami_plan",
        "origami_stages",
        "parse_grid",
        "parse_stage_assignments",
        "parse_stage_steps",
        "plan_sweep",
        "plan_sweep_ahead",
        "plan_workflow",
        "plan_workflow_file",
        "read_workflow_file",
        "settle_workflows",
        "submit_replicas",
        "validate_workflow_file",
        "workflow_file_path",
        "workflow_file_text",
        "workflows_from_file",
    ),
}
_LAZY: dict[str, str] = {name: module for module, names in _PUBLIC.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'namdrunner_core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AuthenticationError",
    "Check",
    "Checkpoint",
    "Cluster",
    "ClusterProfile",
    "ConnectionFailedError",
    "Detection",
    "DiscoverReport",
    "GroupRecord",
    "GroupSummary",
    "InputEntry",
    "Job",
    "JobOutputs",
    "JobRecord",
    "JobStatus",
    "JobStore",
    "JobUsage",
    "LogOutcome",
    "NamdLogParser",
    "NamdRunnerError",
    "NotFoundError",
    "OutputFile",
    "Partition",
    "PendingJob",
    "Planned",
    "PreflightReport",
    "PreparedJob",
    "ProfileError",
    "ProfileInfo",
    "Progress",
    "ProgressSummary",
    "PurgeWarning",
    "Qos",
    "RemoteCommandError",
    "RemoteError",
    "Resources",
    "ScaledEntry",
    "SchedulerError",
    "Session",
    "StageEntry",
    "StageSpec",
    "Sweep",
    "SweepPlan",
    "SyncReport",
    "Template",
    "TemplateInfo",
    "TemplatePreview",
    "TransferError",
    "UnsafePathError",
    "UsageReport",
    "ValidationError",
    "ValidationErrors",
    "Variable",
    "VariableType",
    "Workflow",
    "WorkflowFile",
    "WorkflowFileInfo",
    "WorkflowPlan",
    "__version__",
    "array_script",
    "builtin_templates",
    "check_cluster",
    "check_config",
    "create_planned_workflows",
    "delete_template",
    "detect_cluster",
    "discover_jobs",
    "dna_origami_equilibration",
    "download_dir",
    "export_template",
    "export_workflow",
    "export_workflow_template",
    "get_template",
    "import_template_file",
    "import_workflow_file",
    "interactive_prompt",
    "iter_energy_rows",
    "job_count",
    "job_details",
    "job_rows",
    "list_groups",
    "list_templates",
    "list_workflow_files",
    "load_group",
    "load_profile",
    "origami_file",
    "origami_plan",
    "origami_stages",
    "parse_grid",
    "parse_stage_assignments",
    "parse_stage_steps",
    "plan_ahead",
    "plan_job",
    "plan_restart",
    "plan_sweep",
    "plan_sweep_ahead",
    "plan_workflow",
    "plan_workflow_file",
    "plot_energies",
    "plot_service_units",
    "preflight",
    "prepare_job",
    "preview_config",
    "preview_template",
    "print_notice",
    "profile_infos",
    "profile_names",
    "profiles_to_sync",
    "read_config",
    "read_workflow_file",
    "resolve_resources",
    "row_to_json",
    "select_usage_jobs",
    "settle_workflows",
    "submit_replicas",
    "sync_jobs",
    "template_from_namd_config",
    "template_from_text",
    "template_ids",
    "template_to_text",
    "usage_from_store",
    "usage_profile",
    "usage_report",
    "validate_workflow_file",
    "watch_jobs",
    "workflow_file_path",
    "workflow_file_text",
    "workflows_from_file",
    "write_detected_profile",
]
