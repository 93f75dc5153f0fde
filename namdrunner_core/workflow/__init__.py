"""Groups of jobs: chained workflows, parameter sweeps, and the DNA-origami template.

- :mod:`.workflow`: :class:`Workflow` (stages run in order, each continuing the one before),
  :func:`plan_workflow`, :class:`StageSpec`;
- :mod:`.sweep`: :class:`Sweep` (one template over a grid, ONE job array), :func:`plan_sweep`;
- :mod:`.settle`: what a failed stage does to the stages after it;
- :mod:`.file_model` (the file and its reader), :mod:`.file_plan` (planned, created, validated),
  :mod:`.file_schema`, :mod:`.file_export`, :mod:`.file_library`: workflow files (TOML: your own
  stages, inputs, scaled restraints, replicas);
- :mod:`.groups`: :func:`load_group` (a workflow or a sweep by id, as its class);
- :mod:`.replicas`: replica chains, each stage ONE job array (``aftercorr``);
- :mod:`.origami`: the DNA-origami equilibration protocol (:func:`dna_origami_equilibration`).

Restarts of single jobs are :meth:`namdrunner_core.Job.restart` (:mod:`namdrunner_core.jobs.restart`).
"""

from __future__ import annotations

from namdrunner_core.jobs.restart import Checkpoint, plan_restart
from namdrunner_core.jobs.settle import plan_settlement
from namdrunner_core.workflow.file_export import export_workflow, workflow_file_text
from namdrunner_core.workflow.file_library import (
    WorkflowFileInfo,
    export_workflow_template,
    import_workflow_file,
    list_workflow_files,
    user_workflow_dir,
    workflow_file_path,
)
from namdrunner_core.workflow.file_model import InputEntry, ScaledEntry, StageEntry, WorkflowFile, read_workflow_file
from namdrunner_core.workflow.file_plan import (
    plan_workflow_file,
    scaled_copy,
    stages_from_file,
    validate_workflow_file,
    workflows_from_file,
)
from namdrunner_core.workflow.file_schema import workflow_file_schema
from namdrunner_core.workflow.groups import GROUP_CLASSES, load_group
from namdrunner_core.workflow.origami import (
    ORIGAMI_STAGES,
    WORKFLOW_TEMPLATES,
    dna_origami_equilibration,
    origami_file,
    origami_inputs,
    origami_plan,
    origami_stages,
)
from namdrunner_core.workflow.replicas import (
    create_planned_workflows,
    replica_array_scripts,
    replica_arrays,
    submit_replicas,
)
from namdrunner_core.workflow.scaling import scale_bond_line, scale_extrabonds
from namdrunner_core.workflow.settle import settle_workflows
from namdrunner_core.workflow.sweep import (
    Sweep,
    SweepPlan,
    array_script,
    parse_grid,
    plan_sweep,
    plan_sweep_ahead,
    submit_array,
)
from namdrunner_core.workflow.workflow import (
    GroupSummary,
    StageSpec,
    Workflow,
    WorkflowPlan,
    aggregate_status,
    groups_with_jobs,
    list_groups,
    parse_stage_assignments,
    parse_stage_steps,
    plan_workflow,
)

__all__ = [
    "GROUP_CLASSES",
    "ORIGAMI_STAGES",
    "WORKFLOW_TEMPLATES",
    "Checkpoint",
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
    "aggregate_status",
    "array_script",
    "create_planned_workflows",
    "dna_origami_equilibration",
    "export_workflow",
    "export_workflow_template",
    "groups_with_jobs",
    "import_workflow_file",
    "list_groups",
    "list_workflow_files",
    "load_group",
    "origami_file",
    "origami_inputs",
    "origami_plan",
    "origami_stages",
    "parse_grid",
    "parse_stage_assignments",
    "parse_stage_steps",
    "plan_restart",
    "plan_settlement",
    "plan_sweep",
    "plan_sweep_ahead",
    "plan_workflow",
    "plan_workflow_file",
    "read_workflow_file",
    "replica_array_scripts",
    "replica_arrays",
    "scale_bond_line",
    "scale_extrabonds",
    "scaled_copy",
    "settle_workflows",
    "stages_from_file",
    "submit_array",
    "submit_replicas",
    "user_workflow_dir",
    "validate_workflow_file",
    "workflow_file_path",
    "workflow_file_schema",
    "workflow_file_text",
    "workflows_from_file",
]
