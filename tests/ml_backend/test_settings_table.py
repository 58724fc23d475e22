"""One source for every setting: the docs table is generated from the settings dataclasses,
and every ILLUME_* name anywhere in the project is one of theirs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from illume.envconfig import env_vars, from_env
from ml_backend.config import Settings
from ml_backend.settings_table import PAGE, all_names, main, render

REPO = Path(__file__).resolve().parents[2]
NAME = re.compile(r"\bILLUME_[A-Z][A-Z0-9_]*[A-Z0-9]\b")


def test_the_page_is_the_generated_table():
    assert PAGE.read_text() == render(), "run: python -m ml_backend.settings_table"
    assert main(["--check"]) == 0


def test_every_illume_name_in_the_project_is_a_setting():
    """Besides the settings, only the compose file's own `${ILLUME_...}` build variables."""
    files = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    seen: dict[str, str] = {}
    for f in files:
        if f.startswith("docs/results/") or f.endswith((".png", ".jpg", ".json", ".gguf")):
            continue
        path = REPO / f
        if not path.is_file():
            continue
        for name in NAME.findall(path.read_text(errors="ignore")):
            seen.setdefault(name, f)
    compose_own = set(
        re.findall(r"\$\{(ILLUME_[A-Z0-9_]+)", (REPO / "docker/compose.yml").read_text())
    )
    unknown = {n: f for n, f in seen.items() if n not in all_names() | compose_own}
    assert unknown == {}


def test_the_sampler_settings_are_sample_configs_own():
    names = {v.name: v for v in env_vars(Settings)}
    assert names["ILLUME_N_PER_TEMPERATURE"].path == ("sample", "n_per_temperature")
    s = Settings.from_env({"ILLUME_N_PER_TEMPERATURE": "2", "ILLUME_TEMPERATURES": "0.5, 1"})
    assert s.sample.n_per_temperature == 2 and s.sample.temperatures == (0.5, 1.0)


def test_names_aliases_bounds_and_bad_values():
    env = {
        "LABEL_STUDIO_HOST": "http://127.0.0.1:8081/",
        "LABEL_STUDIO_ACCESS_TOKEN": "t",
        "ILLUME_ROUND_DEBOUNCE_S": "0",
        "ILLUME_TUNE_ARGS": "--epochs 2 --explanation-prompt 'seeing that'",
        "ILLUME_ADOPT_SETUP_URL": "yes",
    }
    s = Settings.from_env(env)
    assert (s.label_studio_url, s.label_studio_url_fixed) == ("http://127.0.0.1:8081", True)
    assert s.api_key == "t" and s.round_debounce_s == 0.0 and s.adopt_setup_url
    assert s.tune_args == ["--epochs", "2", "--explanation-prompt", "seeing that"]
    with pytest.raises(ValueError, match="ILLUME_TRAIN_EVERY"):
        Settings.from_env({"ILLUME_TRAIN_EVERY": "ten"})
    with pytest.raises(ValueError, match="ILLUME_ROUND_DEBOUNCE_S must be at least 0"):
        Settings.from_env({"ILLUME_ROUND_DEBOUNCE_S": "-3"})
    with pytest.raises(ValueError, match="ILLUME_N_PER_TEMPERATURE must be at least 1"):
        Settings.from_env({"ILLUME_N_PER_TEMPERATURE": "-1"})
    with pytest.raises(ValueError, match="ILLUME_RANK"):
        from_env(Settings, {"ILLUME_RANK": "maybe"})
