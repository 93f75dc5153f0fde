"""A workflow file written back: from its model (:func:`workflow_file_text`) or from a stored workflow
(:func:`export_workflow`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from namdrunner_core.errors import ValidationError
from namdrunner_core.serde import to_data
from namdrunner_core.workflow.file_model import (
    InputEntry,
    ScaledEntry,
    StageEntry,
    WorkflowFile,
)

if TYPE_CHECKING:
    from namdrunner_core.store import JobStore


#: values a chained stage gets from the chain itself (never written into a file)
_CHAIN_KEYS = ("restart_coordinates", "restart_velocities", "restart_xsc", "first_timestep")


def _non_default(obj: InputEntry | ScaledEntry) -> dict[str, Any]:
    """An attrs entry as a TOML table of the fields that differ from their defaults."""
    out = {}
    for f in attrs.fields(type(obj)):
        value = getattr(obj, f.name)
        if f.default is attrs.NOTHING or value != f.default:
            out[f.name] = value
    return out


def workflow_file_text(wf: WorkflowFile) -> str:
    """A workflow file's TOML text (what :func:`read_workflow_file` reads back)."""
    import tomli_w

    data: dict[str, Any] = {"name": wf.name}
    if wf.description:
        data["description"] = wf.description
    if wf.replicas != 1:
        data["replicas"] = wf.replicas
    if wf.seed is not None:
        data["seed"] = wf.seed
    for key in ("files", "values", "resources"):
        if getattr(wf, key):
            data[key] = getattr(wf, key)
    if wf.inputs:
        data["inputs"] = {name: _non_default(inp) for name, inp in wf.inputs.items()}
    stages = []
    for s in wf.stages:
        entry: dict[str, Any] = {"name": s.name, "template": s.template}
        for key, default in (("values", {}), ("resources", {}), ("files", []), ("velocities", None)):
            if getattr(s, key) != default:
                entry[key] = getattr(s, key)
        if not s.continue_:
            entry["continue"] = False
        if s.scaled:
            entry["scaled"] = [_non_default(sc) for sc in s.scaled]
        stages.append(entry)
    data["stages"] = stages
    return tomli_w.dumps(data)


def export_workflow(store: JobStore, workflow_id: str) -> WorkflowFile:
    """A workflow as it ran, back as a reusable workflow file: each stage's template, its own values
    (what the chain fills in left out) and resources. Input files are named as they were uploaded
    (``files``: those every stage had; a stage's own others in its ``files``); put them beside the file."""
    group = store.get_workflow(workflow_id)
    if group.kind != "workflow":
        raise ValidationError("WORKFLOW_ID", f"{workflow_id} is a {group.kind}; only workflows export as a file")
    records = {r.job_id: r for r in store.list_jobs(workflow_id=workflow_id)}
    chain = [records[j] for j in group.stages if j in records]
    if not chain:
        raise ValidationError("WORKFLOW_ID", f"{workflow_id} has no stages left to export")
    staged = [{str(r.template_values.get(k)) for k in _CHAIN_KEYS[:3] if r.template_values.get(k)} for r in chain]
    inputs = [sorted(set(r.input_files) - s) for r, s in zip(chain, staged, strict=True)]
    shared = sorted(set.intersection(*(set(i) for i in inputs)))
    res = [{k: v for k, v in to_data(r.resources).items() if v not in (None, 0)} for r in chain]
    common_res = res[0] if all(r == res[0] for r in res) else {}
    stages = []
    for i, (r, own, rs) in enumerate(zip(chain, inputs, res, strict=True)):
        values = {k: v for k, v in r.template_values.items() if k not in _CHAIN_KEYS and v is not None}
        continues = i > 0 and bool(r.template_values.get("restart_coordinates"))
        velocities = None if not continues else bool(r.template_values.get("restart_velocities"))
        stages.append(StageEntry(name=group.stage_names[i] if i < len(group.stage_names) else r.job_name,
                                 template=r.template_id, values=values, resources={} if common_res else rs,
                                 files=[f for f in own if f not in shared], continue_=continues or i == 0,
                                 velocities=velocities))  # fmt: skip
    return WorkflowFile(name=group.name, stages=stages, description=f"exported from {group.id}", files=shared,
                        resources=common_res)  # fmt: skip
