"""Settings of a study, in one style: a frozen dataclass with its defaults and a ``quick()`` variant.

Every study's ``settings.py`` subclasses ``StudySettings``. A field carries its reason as a comment
(``epochs: int = 12  # fits the 8-minute budget``). The command line overrides fields by name:

    trainlab lab dropout epochs=40 seeds=8        # one study: bare keys
    trainlab lab all dropout.epochs=40            # all studies: each key names its study

``resolve()`` starts from the defaults (or ``quick()``), applies the overrides and checks the
result. Each override must name a field (an unknown key is a usage error naming the nearest
field), and its value must have the field's type: numbers finite, lists as ``[a, b]`` or ``a,b``.
The resolved settings are written into the run folder (``settings.json``) and the summary.
"""
from __future__ import annotations

import math
import typing
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, Mapping, Optional

from trainlab.config import parse_value
from trainlab.errors import UsageError, unknown_choice


@dataclass(frozen=True)
class StudySettings:
    """The base of every study's settings. ``preset`` says which defaults it started from."""

    preset: str = "default"  # "default" or "quick" (--quick); set by the preset, not by an override

    STUDY: ClassVar[str] = "study"  # the study's name, for messages
    FOLLOW: ClassVar[dict[str, str]] = {}  # field -> field it copies when only the latter is overridden

    @classmethod
    def quick(cls) -> "StudySettings":
        """A small version for first looks and CI; a study with no smaller version runs its defaults."""
        return cls(preset="quick")

    @classmethod
    def resolve(cls, quick: bool = False, overrides: Optional[Mapping[str, Any]] = None) -> "StudySettings":
        """Defaults (or ``quick()``), then ``overrides`` by field name, then the study's checks."""
        base = cls.quick() if quick else cls()
        return base.with_overrides(overrides or {})

    def with_overrides(self, overrides: Mapping[str, Any]) -> "StudySettings":
        """These settings with some fields replaced; a bad key or value is a ``UsageError``."""
        names = [f.name for f in fields(self) if f.name != "preset"]
        changes: dict[str, Any] = {}
        for key, value in overrides.items():
            if key == "preset":
                raise UsageError(f"{self.STUDY} study: 'preset' is set by --quick, not by a setting")
            if key not in names:
                raise UsageError(unknown_choice("setting", key, names, where=f" of the {self.STUDY} study"))
            changes[key] = self._coerce(key, value)
        for dst, src in self.FOLLOW.items():
            if src in changes and dst not in changes:
                changes[dst] = changes[src]
        out = replace(self, **changes)
        out.check()
        return out

    def check(self) -> None:
        """The study's own rules (ranges, names in its tables); raise ``UsageError`` naming the value."""

    def to_json(self) -> dict[str, Any]:
        """Every field, tuples as lists: what ``settings.json`` and the summary record."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    # --- helpers for check() ------------------------------------------------------------------

    def at_least(self, low: float, *names: str) -> None:
        """Each named field (or each entry of a tuple field) must be >= ``low``."""
        for name in names:
            value = getattr(self, name)
            for v in value if isinstance(value, tuple) else (value,):
                if v < low:
                    raise UsageError(f"{self.STUDY} study: {name} must be >= {low:g}, got {value!r}")

    def one_of(self, name: str, table: Mapping[str, Any]) -> None:
        """The field (or each entry of a tuple field) must be a key of ``table``."""
        value = getattr(self, name)
        for v in value if isinstance(value, tuple) else (value,):
            if v not in table:
                raise UsageError(unknown_choice(f"{self.STUDY} study {name} entry", v, list(table)))

    # --- coercion -----------------------------------------------------------------------------

    def _coerce(self, name: str, value: Any) -> Any:
        kind = typing.get_type_hints(type(self))[name]
        return _coerce(f"{self.STUDY} study: {name}", kind, value)


def _plain(v: Any) -> Any:
    return [_plain(x) for x in v] if isinstance(v, tuple) else v


def _optional_of(kind: Any) -> Any:
    """``Optional[X]`` -> X; anything else -> None."""
    args = typing.get_args(kind)
    if typing.get_origin(kind) is typing.Union and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else None
    return None


def _coerce(what: str, kind: Any, value: Any) -> Any:
    """``value`` (from YAML or Python) in the field's type, or a usage error naming both."""
    inner = _optional_of(kind)
    if inner is not None:
        return None if value is None else _coerce(what, inner, value)
    if typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0]
        if isinstance(value, str):  # a,b,c from the command line: each piece read as YAML, like a value
            value = [parse_value(v.strip()) for v in value.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise UsageError(f"{what} must be a list such as [a, b] or a,b; got {value!r}")
        return tuple(_coerce(f"{what}[{i}]", item, v) for i, v in enumerate(value))
    if kind is bool:
        if not isinstance(value, bool):
            raise UsageError(f"{what} must be true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{what} must be an integer, got {value!r}")
        return value
    if kind is float:
        return _finite(what, value)
    if kind is str:
        if not isinstance(value, str):
            raise UsageError(f"{what} must be a name (text), got {value!r}")
        return value
    raise TypeError(f"{what}: settings of type {kind!r} are not supported")


def _finite(what: str, value: Any) -> float:
    """A finite float from a number or a numeric string (YAML reads ``1e-3`` as text)."""
    if isinstance(value, bool):
        raise UsageError(f"{what} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        shown = "nan" if v != v else ("inf" if v > 0 else "-inf")
        raise UsageError(f"{what}: {shown} is not a finite number; give a finite value "
                         f"(a float beyond +-1.8e308 reads as inf)")
    return v


@dataclass(frozen=True)
class DataChoice:
    """One toy data set a study trains on: a row of ``trainlab.data.toy.TOY_GENERATORS``, its
    parameters and the label the report prints (seed 001's data sets, shared by its studies)."""

    generator: str
    params: dict[str, Any]
    label: str
