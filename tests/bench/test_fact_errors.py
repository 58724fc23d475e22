import pytest

from illume_bench.fact_errors import (
    COLOURS,
    SHAPES,
    doubled_colours,
    fact_error_rate,
    named_facts,
    self_contradictions,
    wrong_facts,
)

BLUE_RECT = {"colour": "blue", "shape": "rectangle"}


def test_vocabulary_covers_easy_vqa_answers():
    for colour in ("red", "green", "blue", "black", "gray", "teal", "brown", "yellow"):
        assert COLOURS[colour] == colour
    assert COLOURS["grey"] == "gray"
    for shape in ("circle", "rectangle", "triangle"):
        assert SHAPES[shape] == shape
        assert SHAPES[shape + "s"] == shape


def test_wrong_colour_and_shape():
    assert wrong_facts("a green triangle", BLUE_RECT) == ["green", "triangle"]


def test_right_facts_are_not_errors():
    assert wrong_facts("The shape is a BLUE rectangle.", BLUE_RECT) == []
    assert wrong_facts("it is grey", {"colour": "gray"}) == []
    assert wrong_facts("a gray circle", {"colour": "grey"}) == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("it is circular", ["circular"]),
        ("two triangles", ["triangles"]),
        ("a square", []),  # a square is a rectangle
        ("the shape is rectangular", []),
    ],
)
def test_variants(text, expected):
    assert wrong_facts(text, BLUE_RECT) == expected


def test_denying_the_one_shapes_colour_or_shape_is_wrong():
    assert wrong_facts("it has no grey or blue", {"colour": "gray", "shape": "circle"}) == [
        "no grey"
    ]
    assert wrong_facts("it is not a rectangle", BLUE_RECT) == ["no rectangle"]
    assert wrong_facts("it is blue, not red", BLUE_RECT) == []
    assert wrong_facts("there is no red rectangle", BLUE_RECT) == []  # true of the picture
    assert wrong_facts("there is no blue ball", BLUE_RECT) == []
    scene = {"object_1": "red circle", "object_2": "blue square"}  # several objects: not checked
    assert wrong_facts("there is no red square", scene) == []


@pytest.mark.parametrize(
    ("text", "torn"),
    [
        ("the triangle is black, not black", ["black"]),
        ("the rectangle is yellow, not a rectangle", ["rectangle"]),
        ("there is no gray shape in the image, only a grey shape", ["grey"]),
        ("no red, it is red", ["red"]),
        ("it is a blue circle, not a blue triangle", []),  # the denial targets the triangle
        ("a brown square, so no small squares", []),  # "small" narrows the denial
        ("it is not a square but a rectangle", []),  # a rectangle need not be square
        ("there is no square that is larger than a large square", []),  # not a bare part
        ("brown ones are not red or red ones are not brown", []),
        ("the only shape is a teal circle, not blue", []),
    ],
)
def test_self_contradictions(text, torn):
    assert self_contradictions(text) == torn


@pytest.mark.parametrize(
    ("text", "doubled"),
    [
        ("it has only grey and grey", ["grey and grey"]),
        ("it has gray and grey in it", ["gray and grey"]),
        ("there is no blue or blue-blue", ["blue or blue", "blue blue"]),
        ("gray is a grey grey shade", ["grey grey"]),
        ("it is a blue and white rectangle", []),
        ("a red cube and a red sphere", []),  # one colour of two objects
        ("red, red and more red", []),  # punctuation stands between the first two
    ],
)
def test_doubled_colours(text, doubled):
    assert doubled_colours(text) == doubled


def test_not_only_affirms():
    no_black = {"colour": "red", "shape": "circle"}
    assert wrong_facts("the image is not only a black shape but also a red one", no_black) == [
        "black"
    ]
    assert wrong_facts("it is not a black shape but a red one", no_black) == []


def test_a_ball_or_sphere_is_a_circle():
    assert wrong_facts("it is a blue sphere", BLUE_RECT) == ["sphere"]
    assert wrong_facts("a red ball", {"colour": "red", "shape": "circle"}) == []


def test_square_is_wrong_for_a_circle():
    assert wrong_facts("a blue square", {"colour": "blue", "shape": "circle"}) == ["square"]


@pytest.mark.parametrize(
    "text",
    [
        "there is no triangle",
        "the shape is not red",
        "it isn't a circle",
        "it is not a red circle",
        "there are no green or red shapes",
        "a rectangle rather than a triangle",
        "neither red nor green",
        "it’s not yellow",
    ],
)
def test_negated_mentions_name_nothing_wrong(text):
    assert wrong_facts(text, BLUE_RECT) == []


def test_negation_stops_at_clause_boundaries_and_window():
    # "but" ends the negation's reach: green is asserted (and the true blue denied)
    assert wrong_facts("not blue, but green", BLUE_RECT) == ["green", "no blue"]
    assert wrong_facts("not blue but green", BLUE_RECT) == ["green", "no blue"]
    # more than three words after the negation: asserted again
    assert wrong_facts("there is no doubt that this shape is a circle", BLUE_RECT) == ["circle"]
    # the corrected claim after a negated one is still checked
    assert wrong_facts("it is not a circle, it is a triangle", BLUE_RECT) == ["triangle"]


def test_only_attributes_present_in_facts_are_checked():
    assert wrong_facts("a green triangle", {"colour": "blue"}) == ["green"]
    assert wrong_facts("a green triangle", {"shape": "rectangle"}) == ["triangle"]
    assert wrong_facts("a green triangle", {}) == []
    assert wrong_facts("a green triangle", {"size": "big"}) == []
    assert wrong_facts("a green triangle", {"color": "green"}) == []


def test_each_wrong_word_once_in_text_order():
    text = "a red triangle next to a red triangle and a circle"
    assert wrong_facts(text, BLUE_RECT) == ["red", "triangle", "circle"]


def test_words_inside_other_words_do_not_count():
    assert wrong_facts("the answer is credible; reduce the triangulation", BLUE_RECT) == []


def test_named_facts():
    assert named_facts("no red, a blue circle") == [
        ("blue", "colour", "blue"),
        ("circle", "shape", "circle"),
    ]


def test_fact_error_rate():
    pairs = [
        ("a blue rectangle", BLUE_RECT),  # right
        ("a red rectangle", BLUE_RECT),  # wrong colour
        ("it is a circle", BLUE_RECT),  # wrong shape
        ("no idea", BLUE_RECT),  # names nothing: not an error
        ("a red circle", {}),  # no facts: not counted
    ]
    assert fact_error_rate(pairs) == pytest.approx(2 / 4)


def test_fact_error_rate_without_facts_is_none():
    assert fact_error_rate([]) is None
    assert fact_error_rate([("a red circle", {})]) is None
