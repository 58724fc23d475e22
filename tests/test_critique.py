import json
import shutil
import time

import pytest

from illume.critique import Critic, RougeConfig, RougeCritic, coco_tokenize
from illume.items import Item, write_jsonl
from illume_bench.critics.files import UNKNOWN_ITEM, critique_file, format_summary


def item(*refs, facts=None, id="1"):
    return Item(
        id=id,
        image="img.png",
        question="What shape is it?",
        answer="circle",
        explanations=list(refs),
        facts=facts or {},
    )


def f_beta(p, r, beta=1.2):
    return (1 + beta**2) * p * r / (r + beta**2 * p)


def test_defaults_are_the_papers():
    cfg = RougeConfig()
    assert (cfg.threshold, cfg.min_chars, cfg.beta) == (0.7, 3, 1.2)
    assert isinstance(RougeCritic(), Critic)


def test_hand_computed_lcs():
    # candidate 6 tokens, reference 5 tokens, LCS "is a blue circle" = 4
    critic = RougeCritic()
    [s] = critic.score(item("there is a blue circle"), ["the shape is a blue circle"])
    assert s == pytest.approx(f_beta(4 / 6, 4 / 5))
    assert s == pytest.approx(0.739394, abs=1e-6)
    assert critic.fitting(s)


def test_beta_1_2_versus_rouge_score_f1():
    from rouge_score import rouge_scorer

    ref, cand = "there is a blue circle", "the shape is a blue circle"
    rs = rouge_scorer.RougeScorer(["rougeL"]).score(ref, cand)["rougeL"]
    # same precision and recall ...
    assert (rs.precision, rs.recall) == pytest.approx((4 / 6, 4 / 5))
    # ... rouge-score's F1 is beta = 1, coco's is beta = 1.2
    [f1] = RougeCritic(RougeConfig(beta=1.0)).score(item(ref), [cand])
    [coco] = RougeCritic().score(item(ref), [cand])
    assert f1 == pytest.approx(rs.fmeasure) == pytest.approx(8 / 11)
    assert coco == pytest.approx(0.739394, abs=1e-6)
    assert coco > f1


def test_multiple_references_take_max_precision_and_max_recall_separately():
    refs = ("a blue circle in the middle of the image", "blue square")
    # ref 1: LCS 3 -> P 1, R 1/3; ref 2: LCS 1 -> P 1/3, R 1/2
    [s] = RougeCritic().score(item(*refs), ["a blue circle"])
    assert s == pytest.approx(f_beta(1.0, 0.5))  # 0.6289: P from ref 1, R from ref 2
    per_ref_best = max(f_beta(1.0, 1 / 3), f_beta(1 / 3, 1 / 2))
    assert s > per_ref_best


def test_case_and_punctuation_do_not_matter():
    critic = RougeCritic()
    it = item("the shape is a blue circle")
    assert critic.score(it, ["THE Shape is a BLUE circle!", "the shape, is a blue circle."]) == [
        1.0,
        1.0,
    ]


def test_min_chars_rule():
    it = item("no")
    assert RougeCritic().score(it, ["no", "  no  ", ""]) == [0.0, 0.0, 0.0]
    assert RougeCritic(RougeConfig(min_chars=1)).score(it, ["no", "  no  "]) == [1.0, 1.0]


def test_punctuation_only_candidate_scores_zero():
    assert RougeCritic().score(item("the shape is round", "..."), ["...", "!?!"]) == [0.0, 0.0]


def test_item_without_references_scores_zero():
    assert RougeCritic().score(item(), ["a blue circle", "xx"]) == [0.0, 0.0]


def test_threshold():
    critic = RougeCritic(RougeConfig(threshold=0.5))
    assert critic.fitting(0.5) and not critic.fitting(0.49)
    assert critic.threshold == 0.5


def test_coco_tokenize():
    assert coco_tokenize("It isn't a RED-ish circle; it's (blue)!") == [
        "it",
        "is",
        "n't",
        "a",
        "red-ish",
        "circle",
        "it",
        "'s",
        "-lrb-",
        "blue",
        "-rrb-",
    ]
    assert coco_tokenize("3.5 cm, e.g. 1,000 $10 & 50%...") == [
        "3.5",
        "cm",
        "e.g.",
        "1,000",
        "$",
        "10",
        "&",
        "50",
        "%",
    ]


SENTENCES = [
    "The shape is a RED circle.",
    "It isn't a triangle; it's a square!",
    "(red) [blue] {x} \"quoted\" 'single'",
    "light-blue shapes -- and... more",
    "3.5 cm, $10 & 50% off",
    "don't can't won't I'm you're we've they'll he'd cannot",
    "e.g. U.S. i.e. the end",
    "a/b a+b a=b #tag @x",
    "the circle's colour, the shapes' edges",
    "wow!!! ok?? yes",
    "semi;colon:colon",
    "x\u2019s curly \u2018quote\u2019 \u201cdouble\u201d",
    "dash \u2013 and \u2014 long\u2026 x",
    "Because the shape is round, it is a circle",
    "1,000 people at 12:30",
    "plan b. next, the letter x. The end",
    "that's  what   it is ",
]


@pytest.mark.skipif(shutil.which("java") is None, reason="needs Java (coco's PTB tokenizer)")
def test_coco_tokenize_matches_the_java_ptb_tokenizer():
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    data = {str(i): [{"caption": s}] for i, s in enumerate(SENTENCES)}
    java = PTBTokenizer().tokenize(data)
    for i, s in enumerate(SENTENCES):
        assert " ".join(coco_tokenize(s)) == java[str(i)][0], s


def test_thousands_of_candidates_per_second():
    it = item(
        "the shape is a blue rectangle",
        "the rectangle in the image is blue",
        "it is a blue rectangle on a white background",
    )
    texts = [
        f"the shape in the picture is blue because it looks like a box {i}" for i in range(2000)
    ]
    t0 = time.perf_counter()
    RougeCritic().score(it, texts)
    assert time.perf_counter() - t0 < 2.0  # about 0.3 s here


@pytest.fixture
def files(tmp_path):
    items = [
        {
            "id": "a",
            "image": "a.png",
            "question": "What shape is it?",
            "answer": "rectangle",
            "explanations": ["the shape is a blue rectangle", "it is a blue rectangle"],
            "facts": {"colour": "blue", "shape": "rectangle"},
        },
        {
            "id": "b",
            "image": "b.png",
            "question": "What colour is it?",
            "answer": "red",
            "explanations": ["the circle is red"],
        },
        {"id": "norefs", "image": "c.png", "question": "Q?", "answer": "A"},
        {"id": "bad", "image": "d.png", "question": "Q?"},  # no answer: invalid
    ]
    write_jsonl(tmp_path / "items.jsonl", items)

    def cand(text):
        return {"text": text, "temperature": 0.3, "prompt": "because", "logprob": -3.5, "x": 1}

    lines = [
        {
            "id": "a",
            "round": 2,
            "candidates": [
                cand("the shape is a blue rectangle."),  # 1.0, fitting, right
                cand("the shape is a circle"),  # 0.716: fitting, yet the wrong shape
                cand("ok"),  # under min_chars
            ],
        },
        {"id": "b", "candidates": [cand("the circle is red"), cand("green")]},
        {"id": "gen-failed", "error": "CUDA out of memory"},
        {"id": "nope", "candidates": [cand("a red circle")]},
        {"id": "bad", "candidates": [cand("a red circle")]},
        {"id": "norefs", "candidates": [cand("a red circle")]},
        {"id": "a", "candidates": [{"temperature": 0.1}]},  # candidate without text
    ]
    write_jsonl(tmp_path / "cands.jsonl", lines)
    return tmp_path


def test_critique_file(files):
    out = files / "scored.jsonl"
    summary = critique_file(files / "cands.jsonl", files / "items.jsonl", out, RougeCritic())
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b", "gen-failed", "nope", "bad", "norefs", "a"]

    a = rows[0]
    assert a["round"] == 2  # other keys kept
    scores = [c["score"] for c in a["candidates"]]
    assert scores[0] == 1.0
    assert scores[1] == pytest.approx(f_beta(4 / 5, 4 / 6))  # LCS "the shape is a"
    assert scores[2] == 0.0
    assert [c["fitting"] for c in a["candidates"]] == [True, True, False]
    assert a["candidates"][0]["x"] == 1 and a["candidates"][0]["prompt"] == "because"
    assert a["best_score"] == 1.0

    assert rows[1]["best_score"] == 1.0
    assert rows[2] == {"id": "gen-failed", "error": "CUDA out of memory"}
    assert rows[3] == {"id": "nope", "error": UNKNOWN_ITEM}
    assert "lacks field" in rows[4]["error"]
    assert rows[5]["best_score"] == 0.0 and rows[5]["candidates"][0]["fitting"] is False
    assert "bad candidate" in rows[6]["error"]

    assert summary["items"] == 3
    assert summary["candidates"] == 6
    assert summary["fitting"] == 3
    assert summary["items_with_fitting"] == 2
    assert summary["errors"] == 4
    assert summary["mean_best_score"] == pytest.approx(2 / 3)
    # facts only on item a: 1 of its 3 candidates names a wrong shape; of the 2 fitting, 1
    assert summary["fact_error_rate"] == pytest.approx(1 / 3)
    assert summary["fact_error_rate_fitting"] == pytest.approx(1 / 2)

    text = format_summary(summary)
    assert "candidates:               6" in text
    assert "fact errors, fitting:     50.0%" in text


def test_critique_file_with_another_critic(files):
    class Everything:
        threshold = 1.0

        def score(self, item, texts):
            return [1.0] * len(texts)

        def fitting(self, score):
            return score >= 1.0

    summary = critique_file(
        files / "cands.jsonl", files / "items.jsonl", files / "o.jsonl", Everything()
    )
    assert summary["fitting"] == summary["candidates"] == 6


def test_format_summary_empty():
    assert "n/a" in format_summary({"items": 0})
