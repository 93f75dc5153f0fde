"""NAMD: config templates, input checks and the log parser (pure logic, no I/O)."""

from namdrunner_core.namd.config import (
    NamdConfig,
    Template,
    Variable,
    VariableType,
    preflight,
    read_config,
    render_config,
    validate_values,
)
from namdrunner_core.namd.inputs import FileKind, check_file_name, check_input_files, file_kind
from namdrunner_core.namd.library import (
    builtin_template,
    builtin_templates,
    template_from_text,
    template_to_text,
)
from namdrunner_core.namd.log import LogOutcome, LogState, NamdLogParser, Progress

__all__ = [
    "FileKind",
    "LogOutcome",
    "LogState",
    "NamdConfig",
    "NamdLogParser",
    "Progress",
    "Template",
    "Variable",
    "VariableType",
    "builtin_template",
    "builtin_templates",
    "check_file_name",
    "check_input_files",
    "file_kind",
    "preflight",
    "read_config",
    "render_config",
    "template_from_text",
    "template_to_text",
    "validate_values",
]
