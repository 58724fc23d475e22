"""Command-line flags generated from config dataclasses (the TRL way).

A config dataclass is the one place where a setting, its default and its
help text are written: each field carries `metadata={"help": ...}`. The
three functions here turn it into argparse flags, back into the dataclass,
and into an argv list for a child process, so a parent and the job it
starts can never disagree on a flag or a default.

Field names become flags (`batch_size` -> `--batch-size`). A field whose
type is itself a dataclass is nested: its fields get the flag prefix named
in its metadata (`"prefix": "sample-"`; default: none) and its defaults come
from the parent's default instance, so a parent may choose other defaults
for a nested config. Metadata `"cli": False` keeps a field off the command
line; `"exclude": (...)` on a nested field keeps some of its fields off;
`"flag": "name"` gives a field the flag `--name` whatever the prefix (the
critic's kind is `--critic` both in `illume critique` and in `illume loop`).
Metadata `"min"` (inclusive) and `"above"` (exclusive) bound a number; `check_ranges`,
called from a config's `__post_init__`, refuses a value outside them (a negative epoch
count is a wrong call, not a run that does nothing).
Supported field types: str, int, float, bool, `T | None` and `tuple[T, ...]` of these,
and nested dataclasses.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, TypeVar

C = TypeVar("C")
_MISSING = dataclasses.MISSING


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    """(T, True) for `T | None`, else (tp, False)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _is_tuple(tp: Any) -> bool:
    return typing.get_origin(tp) is tuple


def _flag(prefix: str, name: str) -> str:
    return "--" + prefix + name.replace("_", "-")


def _dest(prefix: str, name: str) -> str:
    return (prefix + name).replace("-", "_")


def _names(prefix: str, f: dataclasses.Field) -> tuple[str, str]:
    """(flag, argparse dest) of a field: prefixed, unless its metadata names its own flag."""
    if "flag" in f.metadata:
        return "--" + f.metadata["flag"], _dest("", f.metadata["flag"])
    return _flag(prefix, f.name), _dest(prefix, f.name)


def _cli_fields(cls: type, exclude: tuple[str, ...] = ()):
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if f.metadata.get("cli", True) and f.name not in exclude:
            yield f, hints[f.name]


def _default_of(f: dataclasses.Field, defaults: Any) -> Any:
    if defaults is not None:
        return getattr(defaults, f.name)
    if f.default is not _MISSING:
        return f.default
    if f.default_factory is not _MISSING:
        return f.default_factory()
    return _MISSING


def _default_instance(cls: type) -> Any | None:
    """The dataclass built from its defaults, or None when some field has none."""
    try:
        return cls()
    except TypeError:
        return None


def add_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    prefix: str = "",
    defaults: Any = None,
    exclude: tuple[str, ...] = (),
) -> None:
    """Add one flag per field of the dataclass `cls` (and of its nested dataclasses)."""
    defaults = defaults if defaults is not None else _default_instance(cls)
    for f, tp in _cli_fields(cls, exclude):
        default = _default_of(f, defaults)
        if dataclasses.is_dataclass(tp):
            add_arguments(
                parser,
                tp,
                prefix + f.metadata.get("prefix", ""),
                default,
                tuple(f.metadata.get("exclude", ())),
            )
            continue
        inner, optional = _unwrap_optional(tp)
        flag, dest = _names(prefix, f)
        kwargs: dict[str, Any] = {"dest": dest}
        help_text = f.metadata.get("help", "")
        if default is _MISSING:
            kwargs["required"] = True
        else:
            kwargs["default"] = default
            if default is not None and "default" not in help_text:
                help_text += " (default: %(default)s)"
        kwargs["help"] = help_text
        if "choices" in f.metadata:
            kwargs["choices"] = f.metadata["choices"]
        if inner is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif _is_tuple(inner):
            kwargs.update(nargs="+", type=typing.get_args(inner)[0])
        elif inner in (str, int, float):
            kwargs["type"] = inner
        else:
            raise TypeError(f"{cls.__name__}.{f.name}: no command-line form for {tp!r}")
        parser.add_argument(flag, **kwargs)


def from_args(cls: type[C], args: argparse.Namespace, prefix: str = "", base: Any = None) -> C:
    """The dataclass `cls` from parsed flags (fields off the command line keep their default)."""
    base = base if base is not None else _default_instance(cls)
    values: dict[str, Any] = {}
    for f, tp in _cli_fields(cls):
        if dataclasses.is_dataclass(tp):
            nested = getattr(base, f.name) if base is not None else None
            values[f.name] = from_args(tp, args, prefix + f.metadata.get("prefix", ""), nested)
            continue
        _, dest = _names(prefix, f)
        if not hasattr(args, dest):  # an excluded field: keep the default
            continue
        value = getattr(args, dest)
        values[f.name] = tuple(value) if isinstance(value, list) else value
    if base is not None:
        return dataclasses.replace(base, **values)
    return cls(**values)


def parse(cls: type[C], argv: list[str]) -> C:
    """The dataclass `cls` from an argv list holding only its own flags."""
    parser = argparse.ArgumentParser(prog=cls.__name__, add_help=False, exit_on_error=False)
    add_arguments(parser, cls)
    try:
        return from_args(cls, parser.parse_args(argv))
    except (argparse.ArgumentError, SystemExit) as e:
        raise ValueError(f"bad {cls.__name__} arguments {argv!r}: {e}") from None


def to_argv(config: Any, prefix: str = "", defaults: Any = None, exclude=()) -> list[str]:
    """The flags that rebuild `config` from `add_arguments` (fields at their default are left
    out, so the child's own dataclass supplies them: one default, in one place)."""
    cls = type(config)
    defaults = defaults if defaults is not None else _default_instance(cls)
    out: list[str] = []
    for f, tp in _cli_fields(cls, exclude):
        value = getattr(config, f.name)
        default = _default_of(f, defaults)
        if dataclasses.is_dataclass(tp):
            out += to_argv(
                value,
                prefix + f.metadata.get("prefix", ""),
                default,
                tuple(f.metadata.get("exclude", ())),
            )
            continue
        if value == default:
            continue
        flag, _ = _names(prefix, f)
        inner, _ = _unwrap_optional(tp)
        if inner is bool:
            out.append(flag if value else "--no-" + flag[2:])
        elif value is None:
            raise ValueError(f"{flag}: None cannot be passed on a command line")
        elif _is_tuple(inner):
            out += [flag, *map(str, value)]
        else:
            out += [flag, str(value)]
    return out


def check_ranges(config: Any) -> None:
    """ValueError naming the flag of the first number outside its metadata bounds
    (`"min"`: at least, `"above"`: more than); tuples are checked element by element."""
    for f in dataclasses.fields(config):
        low, above = f.metadata.get("min"), f.metadata.get("above")
        if low is None and above is None:
            continue
        value = getattr(config, f.name)
        for v in value if isinstance(value, tuple) else (value,):
            if v is None or isinstance(v, bool):
                continue
            if (low is not None and v < low) or (above is not None and v <= above):
                need = f"at least {low}" if low is not None else f"more than {above}"
                flag = "--" + f.metadata.get("flag", f.name).replace("_", "-")
                raise ValueError(f"{flag} must be {need}, got {v}")
