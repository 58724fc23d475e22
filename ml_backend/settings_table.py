"""docs/guide/settings.md, generated from the settings dataclasses: every variable any part
of ILLUME reads, its type, default and meaning, in one table per class.

    python -m ml_backend.settings_table          # rewrite the page
    python -m ml_backend.settings_table --check  # exit 1 if the page is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from illume.envconfig import env_vars, markdown_rows
from illume.models import ModelChoice
from illume.settings import EngineSettings
from ml_backend.config import Settings
from ml_backend.demo.settings import ServiceSettings, TestSwitches
from ml_backend.order import OrderSettings

PAGE = Path(__file__).resolve().parent.parent / "docs" / "guide" / "settings.md"
GROUPS = (
    ("The backend (`illume serve`, `illume worker`)", Settings),
    ("Task order", OrderSettings),
    ("The model (every command that loads one; flags of the same names win)", ModelChoice),
    ("The engine", EngineSettings),
    ("Services the demo and the tests start", ServiceSettings),
    ("Tests only (never a production setting)", TestSwitches),
)
HEADER = """# Settings

Every environment variable ILLUME reads. This page is generated from the settings
dataclasses (`python -m ml_backend.settings_table`); a test fails when it is out of date.
Empty means unset. Flags of `illume` commands take precedence over these where both exist."""


def all_names() -> set[str]:
    """Every variable name (aliases included) the settings classes read."""
    return {n for _, cls in GROUPS for v in env_vars(cls) for n in (v.name, *v.aliases)}


def render() -> str:
    parts = [HEADER]
    for title, cls in GROUPS:
        where = f"`{cls.__module__}.{cls.__name__}`"
        parts.append(f"\n## {title}\n\nFrom {where}.\n")
        parts.append("| variable | type | default | meaning |\n|---|---|---|---|")
        parts.extend(markdown_rows(cls))
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check the page is up to date")
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        if PAGE.read_text() != text:
            print(
                f"{PAGE} is out of date: run python -m ml_backend.settings_table", file=sys.stderr
            )
            return 1
        return 0
    PAGE.write_text(text)
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
