"""The one serialization layer: namdrunner's own shapes <-> plain JSON and TOML values.

Every shape namdrunner writes or reads of its own - store rows, ``--json`` answers, the web page's
JSON, workflow files, profiles, template files - goes through :data:`converter`. The desktop app's
``job_info.json`` is the one foreign shape; it has its own, named converter in
:mod:`namdrunner_core.job_info`, because its field names and spellings are the app's, not ours.

The rules, so no class needs a hand-written ``to_dict``:

* datetimes are RFC 3339 in UTC (``2026-11-24T18:01:02.123456Z``);
* a field declared with ``metadata=rounded(n)`` is rounded to ``n`` places in the output;
* a class lists derived values it shows beside its fields in ``__serde_computed__``: property names,
  or ``(name, places)`` for a rounded number;
* a field declared with ``metadata=HIDDEN`` is left out (a handle, a cache: not part of the shape).

Structuring forbids unknown keys: a typo in a file is an error naming the key path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError
from cattrs.gen import make_dict_unstructure_fn, override

from namdrunner_core.errors import ValidationError

T = TypeVar("T")

#: ``attrs.field(metadata=HIDDEN)``: the field is not part of the serialized shape
HIDDEN = {"serde_hidden": True}


def rounded(places: int) -> dict[str, int]:
    """Field metadata: the value is rounded to ``places`` in the serialized shape (None stays None)."""
    return {"serde_round": places}


def to_rfc3339(value: dt.datetime | None) -> str | None:
    """``2026-11-24T18:01:02.123456Z`` (or None)."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def from_rfc3339(value: Any, field: str = "time") -> dt.datetime | None:
    """Parse an RFC 3339 timestamp (``Z`` or an offset); None and "" stay None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationError(field, f"expected an RFC 3339 time string, got {type(value).__name__}")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(field, f"{value!r} is not an RFC 3339 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _round_hook(places: int) -> Callable[[Any], Any]:
    return lambda value: None if value is None else round(value, places)


def make_converter(*, forbid_extra_keys: bool = True) -> cattrs.Converter:
    """A converter with namdrunner's rules (the module docstring). Exactly two exist: :data:`converter`
    and the desktop app's, in :mod:`namdrunner_core.job_info`."""
    conv = cattrs.Converter(forbid_extra_keys=forbid_extra_keys, omit_if_default=False)
    conv.register_unstructure_hook(dt.datetime, to_rfc3339)
    conv.register_structure_hook(dt.datetime, lambda value, _: from_rfc3339(value))

    def attrs_unstructure(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
        overrides: dict[str, Any] = {}
        for f in attrs.fields(cls):
            if f.metadata.get("serde_hidden"):
                overrides[f.name] = override(omit=True)
            elif "serde_round" in f.metadata:
                overrides[f.name] = override(unstruct_hook=_round_hook(f.metadata["serde_round"]))
        base = make_dict_unstructure_fn(cls, conv, **overrides)
        computed = [(c, None) if isinstance(c, str) else c for c in getattr(cls, "__serde_computed__", ())]
        if not computed:
            return base

        def with_computed(obj: Any) -> dict[str, Any]:
            out = base(obj)
            for name, places in computed:
                value = getattr(obj, name)
                out[name] = conv.unstructure(value) if places is None or value is None else round(value, places)
            return out

        return with_computed

    conv.register_unstructure_hook_factory(attrs.has, attrs_unstructure)
    return conv


#: the converter of namdrunner's own shapes
converter = make_converter()


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


def to_data(obj: Any) -> Any:
    """Plain dicts, lists and scalars (JSON- and TOML-ready) from namdrunner's objects."""
    return converter.unstructure(obj)


#: the older name of :func:`to_data`
unstructure = to_data
