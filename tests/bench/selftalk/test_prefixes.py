"""The clarification questions asked per set are those Shwartz et al. list."""

from __future__ import annotations

from pathlib import Path

from illume_bench.selftalk.formats import load
from illume_bench.selftalk.prefixes import (
    MCTACO_QUESTIONS,
    QUESTION_PREFIXES,
    answer_prefix,
    instance_questions,
)
from illume_bench.selftalk.siqa_choices import siqa_answer_prefix

DATA = Path(__file__).parent / "data"


def test_every_set_has_its_prefixes():
    assert set(QUESTION_PREFIXES) == {"csqa", "copa", "mctaco", "piqa", "siqa", "winogrande"}
    csqa = QUESTION_PREFIXES["csqa"]
    for prefix in ("What is the definition of", "What is the main purpose of",
                   "What might have caused", "What happened as a result of"):  # fmt: skip
        assert prefix in csqa
    assert QUESTION_PREFIXES["copa"]["What might have caused"] == "The cause of _ was"
    assert QUESTION_PREFIXES["piqa"]["How can one"] == "One can _ by"
    assert QUESTION_PREFIXES["winogrande"]["What does it mean to"] == "_ means"
    assert len(QUESTION_PREFIXES["piqa"]) == 9 and len(QUESTION_PREFIXES["winogrande"]) == 6


def test_the_answer_prefix_takes_what_the_lm_wrote():
    template = QUESTION_PREFIXES["csqa"]["What is the main purpose of"]
    assert answer_prefix(template, "a fence?") == "The purpose of a fence is to"


def test_copa_asks_about_each_alternative():
    glass = load(DATA / "copa/copa-dev.xml", "copa")[0]
    qs = instance_questions(glass, "copa")
    assert len(qs) == 6
    after = "What happened after it shattered on the floor?"
    assert qs[after] == "After it shattered on the floor,"
    assert qs["What does it mean that it started to sing?"] == "It started to sing means that"


def test_csqa_asks_for_the_definition_of_every_choice():
    milk = load(DATA / "csqa/dev.jsonl", "csqa")[0]
    qs = instance_questions(milk, "csqa")
    assert qs['What is the definition of "refrigerator"?'] == '"refrigerator" is defined as'
    assert len(qs) == 5


def test_winogrande_does_not_ask_about_names():
    items = load(DATA / "winogrande/dev.jsonl", "winogrande")
    assert len(instance_questions(items[0], "winogrande")) == 2  # cup, box
    sarah = next(it for it in items if "Sarah" in it.choices)
    assert instance_questions(sarah, "winogrande") == {}


def test_mctaco_asks_the_temporal_questions_and_its_own():
    egg = load(DATA / "mctaco/dev_3783.tsv", "mctaco")[0]
    qs = instance_questions(egg, "mctaco")
    assert set(MCTACO_QUESTIONS) < set(qs)
    assert qs[egg.question] == ""


def test_siqa_asks_one_question_about_the_person_named():
    jordan = load(DATA / "siqa/dev.jsonl", "siqa")[0]
    qs = instance_questions(jordan, "siqa")
    assert qs == {"How would Jordan feel afterwards?": "Jordan felt"}
    assert siqa_answer_prefix("What will Alex want to do next?") == "As a result, Alex wanted to"
    assert siqa_answer_prefix("Where is the park?") == "Where is the park is"
