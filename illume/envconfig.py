"""Settings read from the environment, generated from config dataclasses.

The twin of `illume.configargs` (flags): a settings dataclass is the one place
where a setting's name, default and help text are written, and this module
derives its environment variable, parses it, and lists it for the docs.

A field `train_every` of a class whose `ENV_PREFIX` is "ILLUME_" is read from
`ILLUME_TRAIN_EVERY`. Field metadata:
- `"help"`: the text of the docs table (required for every field read);
- `"env"`: another name (`LABEL_STUDIO_URL`), or False: never read from the environment;
- `"env_aliases"`: older names still read when the main one is unset;
- `"min"` / `"above"`: bounds (at least / more than), as `illume.configargs` checks flags;
  a value outside them is an error naming the variable, like a value that does not parse.
A nested dataclass field contributes its own fields under the parent's prefix, except
those named in its metadata `"env_exclude"` (the backend reads `SampleConfig` this way,
so the sampler's defaults are written once, in `illume.sample`).
Supported types: str, int, float, bool, Path, `T | None` of these, `tuple[T, ...]`
(comma-separated) and `list[str]` (split like a shell command line).
"""

from __future__ import annotations

import dataclasses
import shlex
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from illume.configargs import _default_instance, _hints, _is_tuple, _unwrap_optional

C = TypeVar("C")
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


@dataclasses.dataclass(frozen=True)
class EnvVar:
    """One environment variable of a settings class, as the docs table lists it."""

    name: str
    path: tuple[str, ...]
    type: Any
    default: Any
    help: str
    aliases: tuple[str, ...] = ()
    minimum: float | None = None
    above: float | None = None


def env_vars(cls: type, prefix: str | None = None, defaults: Any = None) -> Iterator[EnvVar]:
    """Every variable `cls` reads, nested settings included, in field order."""
    prefix = getattr(cls, "ENV_PREFIX", "ILLUME_") if prefix is None else prefix
    defaults = defaults if defaults is not None else _default_instance(cls)
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        name = f.metadata.get("env", prefix + f.name.upper())
        if name is False:
            continue
        tp = hints[f.name]
        default = getattr(defaults, f.name)
        if dataclasses.is_dataclass(tp):
            skip = set(f.metadata.get("env_exclude", ()))
            for var in env_vars(tp, prefix, default):
                if var.path[0] not in skip:
                    yield dataclasses.replace(var, path=(f.name, *var.path))
            continue
        if not f.metadata.get("help"):
            raise TypeError(f"{cls.__name__}.{f.name}: a setting needs help text")
        yield EnvVar(
            name,
            (f.name,),
            tp,
            default,
            f.metadata["help"],
            tuple(f.metadata.get("env_aliases", ())),
            f.metadata.get("min"),
            f.metadata.get("above"),
        )


def parse_value(var: EnvVar, raw: str) -> Any:
    """The typed value of one variable; ValueError names the variable."""
    inner, optional = _unwrap_optional(var.type)
    raw = raw.strip()
    if optional and not raw:
        return None
    try:
        if inner is bool:
            if raw.lower() in TRUE:
                return True
            if raw.lower() in FALSE:
                return False
            raise ValueError("use 1/true/yes or 0/false/no")
        if _is_tuple(inner):
            item = typing.get_args(inner)[0]
            return tuple(item(p.strip()) for p in raw.split(",") if p.strip())
        if typing.get_origin(inner) is list:
            return shlex.split(raw)
        value = inner(raw) if inner in (int, float, Path) else raw
    except ValueError as e:
        raise ValueError(f"{var.name}: {raw!r} is not a valid {_type_name(var.type)} ({e})") from e
    for v in value if isinstance(value, tuple) else (value,):
        if isinstance(v, bool) or not isinstance(v, int | float):
            continue
        if var.minimum is not None and v < var.minimum:
            raise ValueError(f"{var.name} must be at least {var.minimum}, got {raw!r}")
        if var.above is not None and v <= var.above:
            raise ValueError(f"{var.name} must be more than {var.above}, got {raw!r}")
    return value


def from_env(cls: type[C], env: Mapping[str, str] | None = None, base: C | None = None) -> C:
    """`cls` with every variable that is set (and not empty) read from `env` (os.environ)."""
    import os

    env = os.environ if env is None else env
    config = base if base is not None else cls()
    for var in env_vars(cls):
        raw = next((env[n] for n in (var.name, *var.aliases) if env.get(n, "").strip()), None)
        if raw is not None:
            config = _replace_path(config, var.path, parse_value(var, raw))
    return config


def _replace_path(config: Any, path: tuple[str, ...], value: Any) -> Any:
    if len(path) == 1:
        return dataclasses.replace(config, **{path[0]: value})
    inner = _replace_path(getattr(config, path[0]), path[1:], value)
    return dataclasses.replace(config, **{path[0]: inner})


def _type_name(tp: Any) -> str:
    inner, optional = _unwrap_optional(tp)
    if _is_tuple(inner):
        name = f"comma-separated {typing.get_args(inner)[0].__name__}s"
    elif typing.get_origin(inner) is list:
        name = "arguments"
    else:
        name = {bool: "flag (1/0)", Path: "path"}.get(inner, getattr(inner, "__name__", str(inner)))
    return name + (", optional" if optional else "")


def _default_text(var: EnvVar) -> str:
    value = var.default
    if value is None or value == "" or value == () or value == []:
        return "(unset)"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value)


def markdown_rows(cls: type) -> list[str]:
    """The docs table's rows for one settings class: variable, type, default, meaning."""
    rows = []
    for var in env_vars(cls):
        name = f"`{var.name}`" + "".join(f" (or `{a}`)" for a in var.aliases)
        help_text = var.help.replace("|", "\\|").replace("\n", " ")
        rows.append(f"| {name} | {_type_name(var.type)} | `{_default_text(var)}` | {help_text} |")
    return rows
