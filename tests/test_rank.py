"""The candidate filter and ranker: what can never be a rationale, and the score's order."""

import pytest

from illume.items import Candidate, Item
from illume.rank import context_of, rank_candidates, reject, score, shown

CAT = Item("c", "cat.jpg", "what animal is this?", "cat")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("it is a cat", "restates the answer"),
        ("it's a cat, and a cat is a cat", "restates the answer"),
        ("the animal is a cat", "restates the question"),
        ("it has whiskers", "fewer than 2 content words"),
        ("это кошка с усами и хвостом", "text in another script"),
        ("it is equal to 5 * 5 = 25 = 625 + 1", "not a sentence"),
        ("it has whiskers, soft fur and the", "not a sentence"),
        ("it has soft fur and soft fur and whiskers", "repeated phrases"),
        ("A: 166: A: modern animal, because A: A: smaller than a one-fig", "echoes the prompt"),
        ("Q: what animal has whiskers and soft fur", "echoes the prompt"),
        ("the 'b' is a Japanese font which is ANSI ENTIRE PRINTABLE COMP", "not a sentence"),
        ("x animals are, what's a nose) how many", "not a sentence"),
    ],
)
def test_reject_names_why(text, why):
    assert reject(CAT, text) == why


def test_a_rationale_passes():
    assert reject(CAT, "it has whiskers, pointed ears and striped fur") is None


@pytest.mark.parametrize(
    ("question", "answer", "text"),
    [
        ("what color is the shape?", "red", "the circle is red"),
        ("what color is the shape?", "red", "there is a red circle in the image"),
        ("what shape is this?", "circle", "it is round with no corners"),
        ("is there a large yellow circle?", "no", "there are no circles at all"),
        ("is it cold outside?", "yes", "he is bundled in a dark winter coat and has gloves on"),
        (
            "how many gray circles are there?",
            "2",
            "the picture shows a large yellow square, a tiny gray circle, a small yellow "
            "round shape, a large yellow round shape and a large gray circle",
        ),
    ],
)
def test_a_correct_short_or_listing_rationale_is_never_dropped(question, answer, text):
    assert reject(Item("x", "x.png", question, answer), text) is None


def _cand(text, logprob=-1.0, context="a photo of a tabby cat; mostly brown and grey."):
    return Candidate(text, 0.3, f"Context: {context} Q: {CAT.question} A: cat, because", logprob)


def test_context_is_read_back_from_the_prompt():
    assert context_of(_cand("x").prompt) == "a photo of a tabby cat; mostly brown and grey."
    assert context_of("Q: what? A: cat, because") == ""


def test_score_prefers_grounded_and_likelier_text():
    grounded = score(CAT, _cand("its fur is brown and grey with dark tabby stripes"))
    ungrounded = score(CAT, _cand("its fur is green and purple with bright yellow dots"))
    unlikely = score(CAT, _cand("its fur is brown and grey with dark tabby stripes", -4.0))
    assert grounded > ungrounded and grounded > unlikely
    assert 0 <= unlikely <= 1 and 0 <= grounded <= 1


def test_rank_drops_rejects_and_sorts_with_scores():
    cands = [_cand("it is a cat"), _cand("it has four legs and a long tail"), _cand("tabby")]
    cands.append(_cand("its brown and grey fur has tabby stripes"))
    ranked = rank_candidates(CAT, cands)
    assert [c.text for c in ranked] == [
        "its brown and grey fur has tabby stripes",
        "it has four legs and a long tail",
    ]
    assert ranked[0].rank > ranked[1].rank > 0


def test_rank_drops_word_salad_far_below_the_likeliest_candidate():
    def cand(text, lp):
        return Candidate(text, 1.2, "Context: a photo. Q: what animal is this? A: cat, because", lp)

    texts = {
        "it has whiskers and striped fur": -1.5,
        "its pointed ears and long tail show it": -3.9,
        "feline Ahf Hafez weighs little Araba in corners": -4.1,
    }
    kept = {c.text for c in rank_candidates(CAT, [cand(t, lp) for t, lp in texts.items()])}
    assert kept == {"it has whiskers and striped fur", "its pointed ears and long tail show it"}
    # all equally unlikely (a random model): nothing is salad by comparison
    alike = [cand(t, -10.0) for t in texts]
    assert len(rank_candidates(CAT, alike)) == 3


def test_shown_drops_the_unrelated_and_keeps_at_most_the_limit():
    """Unrelated: no content word of the context, question or answer, and below the median
    log-probability; a grounded text stays however unlikely, an ungrounded likely one too."""
    ranked = rank_candidates(
        CAT,
        [
            _cand("the tabby has brown and grey stripes", -1.0),
            _cand("your car is left behind again", -2.5),  # unrelated and unlikely: dropped
            _cand("soft whiskers near its pink nose", -0.5),  # no shared word, but likely
            _cand("the brown fur is striped like a tabby", -2.4),
        ],
    )
    texts = [c.text for c in shown(CAT, ranked, limit=8)]
    assert "your car is left behind again" not in texts and len(texts) == 3
    assert "soft whiskers near its pink nose" in texts
    assert shown(CAT, ranked, limit=2) == shown(CAT, ranked, limit=8)[:2]
    assert len(shown(CAT, ranked, limit=0)) == 3


@pytest.mark.parametrize(
    ("question", "answer", "text", "contradicts"),
    [
        ("is there a blue shape?", "no", "it has a blue circle", True),
        ("is there a blue shape?", "no", "the blue shape is a rectangle", True),
        ("does the image not contain a circle?", "yes", "it has a blue circle in it", True),
        ("is there a man in the picture?", "no", "the man is holding a camera", True),
        ("is there a blue shape?", "no", "there is no blue shape, only a red one", False),
        ("is there a blue shape?", "no", "blue isn't anywhere in the image", False),
        ("is there a red circle?", "no", "it has a red rectangle", False),  # true, not contrary
        ("is there a blue shape?", "yes", "it has a blue circle", False),
        ("does the image not contain a circle?", "no", "it has a blue circle", False),
        ("is the man smiling?", "no", "the man looks serious", False),  # not about presence
    ],
)
def test_a_text_that_contradicts_a_presence_answer_is_rejected(question, answer, text, contradicts):
    item = Item("x", "x.png", question, answer)
    assert (reject(item, text) == "contradicts the answer") is contradicts
