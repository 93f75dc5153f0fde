"""The workflow file's JSON Schema, generated from its model (docs/ carries it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from namdrunner_core.slurm.resources import Resources
from namdrunner_core.workflow.file_model import (
    MAX_REPLICAS,
)

if TYPE_CHECKING:
    pass


#: a template value
_VALUE = {"type": ["string", "number", "boolean"]}
#: a stage's target_ns (the last stage: a campaign)
_TARGET_NS = {"type": "number", "exclusiveMinimum": 0,
              "description": "the last stage only: a campaign carried to this simulated time (ns)"}  # fmt: skip


def workflow_file_schema() -> dict[str, Any]:
    """The JSON Schema of a workflow file, from the classes above (docs/workflow-file.schema.json)."""
    resources = {
        "type": "object",
        "properties": {
            f.name: {
                "type": "integer" if f.type in ("int", int) else "number" if f.type in ("float", float) else "string"
            }
            for f in attrs.fields(Resources)
        },
        "additionalProperties": False,
    }
    scaled = {
        "type": "object",
        "description": "a copy of an extra-bonds file for this stage, its spring constants set to k or scaled",
        "required": ["variable"],
        "properties": {
            "variable": {"type": "string", "description": "the template variable that names the copy"},
            "input": {"type": "string", "description": "the source: one of the file's inputs"},
            "file": {"type": "string", "description": "the source: a path relative to the workflow file"},
            "k": {"type": "number", "minimum": 0},
            "factor": {"type": "number", "minimum": 0},
        },
        "oneOf": [{"required": ["input"]}, {"required": ["file"]}],
        "additionalProperties": False,
    }
    inputs = {
        "type": "object",
        "description": "files given when creating (--input NAME=PATH), uploaded to every stage in this order",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "help": {"type": "string"},
                "required": {"type": "boolean", "default": True},
                "variable": {"type": "string", "description": "the template variable (default: the input's name)"},
                "upload": {"type": "boolean", "default": True},
            },
            "additionalProperties": False,
        },
    }
    stage = {
        "type": "object",
        "required": ["name", "template"],
        "properties": {
            "name": {"type": "string"},
            "template": {"type": "string", "description": "a builtin or user template id"},
            "values": {"type": "object", "additionalProperties": _VALUE},
            "resources": resources,
            "files": {"type": "array", "items": {"type": "string"}},
            "continue": {"type": "boolean", "default": True},
            "velocities": {"type": "boolean"},
            "scaled": {"type": "array", "items": scaled},
            "target_ns": _TARGET_NS,
        },
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "namdrunner workflow file",
        "type": "object",
        "required": ["name", "stages"],
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "files": {"type": "array", "items": {"type": "string"}},
            "values": {"type": "object", "additionalProperties": _VALUE},
            "resources": resources,
            "stages": {"type": "array", "minItems": 1, "items": stage},
            "replicas": {"type": "integer", "minimum": 1, "maximum": MAX_REPLICAS, "default": 1},
            "inputs": inputs,
            "seed": {
                "type": "integer",
                "minimum": 1,
                "description": "stage i of replica r (from 0) runs with seed + 1000 r + i",
            },
        },
        "additionalProperties": False,
    }
