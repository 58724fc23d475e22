"""The importers read each set's published format (hand-written sets in data/, see their
README) and refuse malformed files with one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from illume_bench.selftalk.formats import FormatError, load

DATA = Path(__file__).parent / "data"
FILES = {
    "csqa": "csqa/dev.jsonl",
    "copa": "copa/copa-dev.xml",
    "mctaco": "mctaco/dev_3783.tsv",
    "piqa": "piqa/valid.jsonl",
    "siqa": "siqa/dev.jsonl",
    "winogrande": "winogrande/dev.jsonl",
}


@pytest.mark.parametrize(
    ("fmt", "n", "n_choices"),
    [("csqa", 12, 5), ("copa", 12, 2), ("mctaco", 10, None), ("piqa", 12, 2), ("siqa", 12, 3),
     ("winogrande", 12, 2)],
)  # fmt: skip
def test_every_set_loads_with_its_labels(fmt, n, n_choices):
    items = load(DATA / FILES[fmt], fmt)
    assert len(items) == n
    for it in items:
        assert 0 <= it.label < len(it.hypotheses)
        assert n_choices is None or len(it.hypotheses) == n_choices
    assert len({it.label for it in items}) > 1  # the right answer is not always first


def test_csqa_fields():
    first = load(DATA / FILES["csqa"], "csqa")[0]
    assert first.premise == "Where would you keep milk so that it stays cold?"
    assert first.choices[first.label] == "refrigerator"
    assert first.id == "selftalk-test-csqa-00" and first.stem == ""


def test_copa_reads_cause_and_effect_and_the_right_alternative():
    items = load(DATA / FILES["copa"], "copa")
    glass = items[0]
    assert glass.premise == "The glass fell off the table."
    assert glass.stem == "As a result,"
    assert glass.hypotheses[glass.label] == "it shattered on the floor."
    coat = items[1]
    assert coat.stem == "The cause for it was that"
    assert coat.choices[coat.label] == "It was cold outside."


def test_mctaco_groups_rows_into_one_question_with_one_plausible_answer():
    items = load(DATA / FILES["mctaco"], "mctaco")
    egg = items[0]
    assert egg.question == "How long did it take to boil the egg?"
    # two plausible answers in the file: the first is kept, the other dropped
    assert egg.choices == ("10 minutes", "3 years", "2 seconds", "5 months")
    assert egg.label == 0
    assert egg.stem == egg.question


def test_mctaco_keeps_the_file_order_of_the_candidates():
    anna = load(DATA / FILES["mctaco"], "mctaco")[1]
    # the file lists: once a decade, every century, twice a day (yes), every night (yes)
    assert anna.choices == ("once a decade", "every century", "twice a day")
    assert anna.label == 2


def test_piqa_and_siqa_read_their_labels_file():
    piqa = load(DATA / FILES["piqa"], "piqa")
    labels = (DATA / "piqa/valid-labels.lst").read_text().split()
    assert [it.label for it in piqa] == [int(x) for x in labels]
    siqa = load(DATA / FILES["siqa"], "siqa")
    jordan = siqa[0]
    assert jordan.question == "How would Jordan feel afterwards?"
    assert jordan.hypotheses[jordan.label] == "As a result, Jordan felt proud of himself."


def test_winogrande_fills_the_blank_and_reads_answers_from_jsonl_or_labels(tmp_path):
    items = load(DATA / FILES["winogrande"], "winogrande")
    cup = items[0]
    assert cup.hypotheses[cup.label] == "The cup did not fit in the box because cup was too big."
    rows = [json.loads(x) for x in (DATA / FILES["winogrande"]).read_text().splitlines()]
    bare = tmp_path / "test.jsonl"  # the test split's form: no answer field
    bare.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "answer"}) + "\n"
                            for r in rows))  # fmt: skip
    (tmp_path / "test-labels.lst").write_text((DATA / "winogrande/dev-labels.lst").read_text())
    assert [it.label for it in load(bare, "winogrande")] == [it.label for it in items]


def test_a_labels_file_can_be_named(tmp_path):
    data = tmp_path / "piqa.jsonl"
    data.write_text((DATA / FILES["piqa"]).read_text())
    labels = tmp_path / "answers.txt"
    labels.write_text("1\n" * 12)
    assert {it.label for it in load(data, "piqa", labels)} == {1}


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        ("csqa", '{"question": {"stem": "x"}\n', "not a JSON line"),
        ("csqa", '{"question": {"stem": "x", "choices": []}, "answerKey": "A"}\n', "answerKey"),
        ("copa", "<copa-corpus><item id='1'>", "not COPA xml"),
        ("copa", "<copa-corpus><item id='1' asks-for='why'/></copa-corpus>", "asks-for"),
        ("mctaco", "a sentence\ta question\tan answer\tmaybe\n", "yes|no"),
        ("winogrande", '{"sentence": "no blank", "option1": "a", "option2": "b", '
                       '"answer": "1"}\n', "blank"),
    ],
)  # fmt: skip
def test_malformed_files_raise_a_format_error(tmp_path, fmt, text, message):
    path = tmp_path / "bad"
    path.write_text(text)
    with pytest.raises(FormatError, match=message):
        load(path, fmt)


def test_labels_that_do_not_match_the_data(tmp_path):
    data = tmp_path / "dev.jsonl"
    data.write_text((DATA / FILES["siqa"]).read_text())
    with pytest.raises(FileNotFoundError, match="labels file not found"):
        load(data, "siqa")
    (tmp_path / "dev-labels.lst").write_text("1\n2\n")
    with pytest.raises(FormatError, match="2 labels for 12 items"):
        load(data, "siqa")
    (tmp_path / "dev-labels.lst").write_text("4\n" * 12)
    with pytest.raises(FormatError, match="not one of"):
        load(data, "siqa")


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="unknown format"):
        load(DATA / FILES["csqa"], "hellaswag")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent.jsonl", "csqa")


def test_every_data_folder_says_it_was_written_for_the_tests():
    for folder in DATA.iterdir():
        assert "Written by hand for ILLUME's self-talk tests" in (folder / "README.md").read_text()
