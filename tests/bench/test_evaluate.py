import json
import shutil

import pytest

from illume.items import write_jsonl
from illume_bench.evaluate import (
    METRICS,
    MetricsError,
    Scorers,
    compute_metrics,
    evaluate_file,
    format_table,
)

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="needs Java")

PREDICTIONS = {
    "1": "The shape is a blue circle.",
    "2": "it is red because the square is red",
    "3": "there is a green triangle in the image",
    "4": "The answer is yes, since the shape has three sides.",
    "5": "a yellow rectangle",
    "6": "",  # empty: scores 0, must not crash
    "7": "the circle\nis gray",
}
REFERENCES = {
    "1": ["the shape is a blue circle", "a blue circle is shown", "it is a circle and it is blue"],
    "2": ["the colour of the square is red", "it is a red square"],
    "3": ["a green triangle", "the triangle is green", "there is a triangle which is green"],
    "4": ["the shape has three sides, so it is a triangle", "it is a triangle"],
    "5": ["the rectangle is yellow", "there is a yellow rectangle in the image"],
    "6": ["a brown circle", "the circle is brown"],
    "7": ["the circle is grey", "a gray circle", "it is a gray circle"],
}


def pycocoevalcap_directly(predictions, references, meteor):
    """coco-caption's COCOEvalCap.evaluate flow, minus SPICE."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    gts = {k: [{"caption": r} for r in refs] for k, refs in references.items()}
    res = {k: [{"caption": p}] for k, p in predictions.items()}
    tokenizer = PTBTokenizer()
    gts = tokenizer.tokenize(gts)
    res = tokenizer.tokenize(res)
    out = {}
    for scorer, names in [
        (Bleu(4), ["Bleu_1", "Bleu_2", "Bleu_3", "Bleu_4"]),
        (meteor, "METEOR"),
        (Rouge(), "ROUGE_L"),
        (Cider(), "CIDEr"),
    ]:
        score, _ = scorer.compute_score(gts, res)
        if isinstance(names, list):
            out.update(zip(names, score, strict=True))
        else:
            out[names] = score
    return out


@pytest.fixture(scope="module")
def scorers():
    if shutil.which("java") is None:
        pytest.skip("needs Java")
    with Scorers() as s:
        yield s


@needs_java
def test_compute_metrics_equals_pycocoevalcap(scorers):
    ours = compute_metrics(PREDICTIONS, REFERENCES, scorers=scorers)
    # The reference flow shares the METEOR process: starting a second one costs
    # 6-10 s, and `scorers.meteor` is pycocoevalcap's Meteor (a subclass that
    # only adds error messages and close()); METEOR's -stdio mode keeps no
    # state between calls.
    from pycocoevalcap.meteor.meteor import Meteor

    assert isinstance(scorers.meteor, Meteor)
    theirs = pycocoevalcap_directly(PREDICTIONS, REFERENCES, scorers.meteor)
    assert set(METRICS) <= set(ours)
    for key in METRICS:
        assert ours[key] == pytest.approx(float(theirs[key]), abs=1e-12), key
    assert ours["n"] == 7 and ours["skipped"] == 0
    assert 0 < ours["METEOR"] < 1 and ours["CIDEr"] > 1


@needs_java
def test_line_breaks_do_not_shift_items(scorers):
    preds = {"a": "a red\r\ncircle", "b": "a blue\u2028square", "c": "a green\rtriangle"}
    refs = {"a": ["a red circle"], "b": ["a blue square"], "c": ["a green triangle"]}
    m = compute_metrics(preds, refs, scorers=scorers)
    assert m["Bleu_1"] == pytest.approx(1.0)
    assert m["ROUGE_L"] == pytest.approx(1.0)
    assert m["METEOR"] == pytest.approx(1.0)


def test_no_references_at_all():
    with pytest.raises(MetricsError, match="2 skipped"):
        compute_metrics({"a": "x", "b": "y"}, {"a": [], "b": [" "]})
    with pytest.raises(MetricsError, match="no predictions"):
        compute_metrics({}, {})


def test_missing_java_gives_install_hint(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(MetricsError, match="apt-get install default-jre-headless"):
        compute_metrics({"a": "a red circle"}, {"a": ["a red circle"]})
    with pytest.raises(MetricsError, match="default-jre-headless"):
        Scorers()


@needs_java
def test_scorers_close_stops_meteor():
    s = Scorers()
    p = s.meteor.meteor_p
    s.close()
    assert p.poll() is not None
    s.close()  # twice is fine


@needs_java
def test_meteor_crash_is_a_clear_error_and_close_does_not_hang():
    s = Scorers()
    s.meteor.meteor_p.kill()
    s.meteor.meteor_p.wait()
    with pytest.raises(MetricsError, match="METEOR \\(Java\\) failed"):
        s.meteor.compute_score({"a": ["a red circle"]}, {"a": ["a red circle"]})
    assert not s.meteor.lock.locked()
    s.close()


@needs_java
def test_evaluate_file(tmp_path, scorers):
    items = [
        {
            "id": k,
            "image": f"{k}.png",
            "question": "What is it?",
            "answer": "it",
            "explanations": refs,
            "facts": {"colour": "blue", "shape": "circle"} if k == "1" else {},
        }
        for k, refs in REFERENCES.items()
    ]
    items.append({"id": "norefs", "image": "x.png", "question": "Q?", "answer": "A"})
    items.append({"id": "unpredicted", "image": "y.png", "question": "Q?", "answer": "A"})
    write_jsonl(tmp_path / "items.jsonl", items)
    preds = [{"id": k, "text": t} for k, t in PREDICTIONS.items()]
    preds += [
        {"id": "ghost", "text": "a red circle"},
        {"id": "norefs", "text": "a red circle"},
        {"id": "5", "error": "generation failed"},
    ]
    write_jsonl(tmp_path / "preds.jsonl", preds)

    out = tmp_path / "metrics.json"
    result = evaluate_file(tmp_path / "preds.jsonl", tmp_path / "items.jsonl", out, scorers=scorers)
    assert result["missing"] == ["ghost"]
    assert result["errors"] == ["5"]
    assert result["n"] == 7 and result["skipped"] == 1
    assert result["unpredicted"] == 1
    assert result["fact_error_rate"] == 0.0  # item 1 names "blue circle": right
    direct = compute_metrics(PREDICTIONS, REFERENCES, scorers=scorers)
    for key in METRICS:
        assert result[key] == pytest.approx(direct[key])
    assert json.loads(out.read_text()) == result

    table = format_table(result)
    lines = table.splitlines()
    assert lines[0].startswith("| BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 | METEOR | ROUGE-L | CIDEr |")
    assert lines[1].startswith("| --- |")
    assert f"| {100 * result['Bleu_1']:.2f} |" in lines[2]


def test_format_table():
    m = {"Bleu_1": 0.5, "Bleu_2": 0.25, "Bleu_3": 0.125, "Bleu_4": 0.0625}
    m |= {"METEOR": 0.2, "ROUGE_L": 0.45678, "CIDEr": 1.5, "n": 10, "fact_error_rate": 0.1}
    assert format_table(m, title="val").splitlines() == [
        "|  | BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 | METEOR | ROUGE-L | CIDEr | fact errors % | n |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        "| val | 50.00 | 25.00 | 12.50 | 6.25 | 20.00 | 45.68 | 150.00 | 10.00 | 10 |",
    ]
