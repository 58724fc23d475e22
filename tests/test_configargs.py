"""Flags generated from config dataclasses: one flag and one default per field."""

import argparse
import dataclasses

import pytest

from illume.configargs import add_arguments, from_args, parse, to_argv
from illume.sample import SampleConfig
from illume.tune import TuneConfig
from illume.tunejob import TuneJob
from illume_bench.loop import LoopConfig


def _changed(value, choices=()):
    """A value of the same type that differs from `value` (another of `choices`, if any)."""
    if choices:
        return next(c for c in choices if c != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 2
    if isinstance(value, str):
        return value + " x"
    if isinstance(value, tuple):
        return (*value, value[-1])
    raise AssertionError(f"no changed value for {value!r}")


def _choices(f: dataclasses.Field) -> tuple:
    return tuple(f.metadata.get("choices", ()))


def _parser(cls):
    ap = argparse.ArgumentParser()
    add_arguments(ap, cls)
    return ap


def test_every_tune_field_has_help_and_survives_the_round_trip():
    for f in dataclasses.fields(TuneConfig):
        assert f.metadata.get("help"), f"TuneConfig.{f.name} has no help"
        config = dataclasses.replace(
            TuneConfig(), **{f.name: _changed(getattr(TuneConfig(), f.name), _choices(f))}
        )
        argv = to_argv(config)
        assert argv[0] == "--" + f.name.replace("_", "-"), argv  # only the changed field
        assert from_args(TuneConfig, _parser(TuneConfig).parse_args(argv)) == config


def test_all_fields_changed_at_once_round_trip():
    config = TuneConfig(
        **{
            f.name: _changed(getattr(TuneConfig(), f.name), _choices(f))
            for f in dataclasses.fields(TuneConfig)
        }
    )
    assert parse(TuneConfig, to_argv(config)) == config


def test_no_flags_give_the_dataclass_defaults_and_help_names_them():
    assert parse(TuneConfig, []) == TuneConfig()
    assert TuneConfig().train_split == "train"  # one default (the loop, the job and the CLI)
    assert "(default: train)" in _parser(TuneConfig).format_help()
    assert to_argv(TuneConfig()) == []


def test_a_field_without_default_is_required():
    with pytest.raises(ValueError, match="TuneJob"):
        parse(TuneJob, ["--items", "i"])
    job = parse(TuneJob, ["--items", "i", "--rationales", "f", "--versions", "v"])
    assert job == TuneJob(items="i", rationales="f", versions="v")
    assert parse(TuneJob, to_argv(job)) == job


def test_nested_configs_take_prefixes_and_the_parents_defaults():
    defaults = from_args(LoopConfig, _parser(LoopConfig).parse_args([]))
    assert defaults.tune == LoopConfig().tune and defaults.tune.train_split == "train,pool"
    config = dataclasses.replace(
        LoopConfig(),
        train_limit=5,
        baselines=("same-gt", "full-gt"),
        tune=dataclasses.replace(LoopConfig().tune, lr=0.01),
        sample=SampleConfig(n_per_temperature=2, temperatures=(0.5,), explanation_prompts=("as",)),
    )
    argv = to_argv(config)
    assert "--sample-n-per-temperature" in argv and "--lr" in argv and "--epochs" not in argv
    back = from_args(LoopConfig, _parser(LoopConfig).parse_args(argv))
    assert dataclasses.replace(back, model=config.model) == config


def test_excluded_and_non_cli_fields_stay_off_the_command_line():
    flags = _parser(LoopConfig).format_help()
    assert "--explanation-prompt " not in flags  # the loop tunes with sampling's first prompt
    assert "--model" not in flags
    config = dataclasses.replace(LoopConfig(), sample=SampleConfig(explanation_prompts=("as",)))
    assert config.tune_config().explanation_prompt == "as"


def test_a_field_can_name_its_own_flag_whatever_the_prefix():
    from illume_bench.critics import CriticConfig
    from illume_bench.loop import LoopConfig

    parser = argparse.ArgumentParser()
    add_arguments(parser, LoopConfig)
    args = parser.parse_args(["--critic", "facts", "--critic-threshold", "0.6"])
    config = from_args(LoopConfig, args)
    assert config.critic.kind == "facts" and config.critic.threshold == 0.6
    assert to_argv(config.critic, "critic-") == ["--critic-threshold", "0.6", "--critic", "facts"]
    plain = argparse.ArgumentParser()
    add_arguments(plain, CriticConfig)
    assert from_args(CriticConfig, plain.parse_args(["--critic", "annotator"])).kind == "annotator"
