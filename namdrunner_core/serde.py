"""The one cattrs converter namdrunner uses for TOML and JSON, and its error formatting."""

from __future__ import annotations

from typing import Any, TypeVar

import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError

T = TypeVar("T")

converter = cattrs.Converter(forbid_extra_keys=True, omit_if_default=False)


def structure(data: Any, cls: type[T], *, source: str) -> T:
    """Structure ``data`` into ``cls``; failures become one message naming ``source`` and key paths.

    Raises :class:`ValueError` with a message such as
    ``alpine.toml: $.partitions[0].max_nodes: invalid value for type, expected int``.
    """
    try:
        return converter.structure(data, cls)
    except (ClassValidationError, ForbiddenExtraKeysError, cattrs.BaseValidationError) as exc:
        parts = cattrs.transform_error(exc, path="$")
        raise ValueError(f"{source}: " + "; ".join(parts)) from None
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{source}: {exc}") from None


def unstructure(obj: Any) -> Any:
    """Plain dicts/lists/scalars from attrs objects."""
    return converter.unstructure(obj)
