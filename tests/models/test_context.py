"""The embedded model's text context: facts from the pixels and the ImageNet head."""

import numpy as np
import torch
from PIL import Image

from illume.models.embedded.context import (
    ImageFacts,
    _first_clause,
    image_facts,
    imagenet_names,
    pixel_facts,
    render,
    top_labels,
)


def test_flat_drawing_names_its_shape_colour():
    arr = np.full((64, 64, 3), 255, dtype=np.uint8)
    arr[20:40, 20:40] = (220, 30, 30)  # a red square on white
    colours, brightness, kind = pixel_facts(Image.fromarray(arr))
    assert kind == "drawing" and colours[:2] == ("white", "red") and brightness == "bright"


def test_noisy_grey_photo_is_a_photo():
    rng = np.random.default_rng(0)
    arr = rng.normal(110, 25, (64, 64)).clip(0, 255).astype(np.uint8)
    colours, brightness, kind = pixel_facts(Image.fromarray(arr).convert("RGB"))
    assert kind == "photo" and colours == ("grey",) and brightness is None


def test_only_confident_labels_are_said():
    names, _ = imagenet_names()
    assert len(names) == 1000
    sure = torch.zeros(1000)
    sure[281] = 0.9  # tabby cat
    labels, description = top_labels(sure)
    assert labels == (names[281],) and description and description.startswith("a ")
    unsure = torch.full((1000,), 1e-3)
    assert top_labels(unsure) == ((), None)


def test_a_drawing_gets_no_imagenet_label():
    arr = np.full((64, 64, 3), 255, dtype=np.uint8)
    probs = torch.zeros(1000)
    probs[281] = 0.9
    assert image_facts(Image.fromarray(arr), probs).labels == ()


def test_render_and_description_clause():
    facts = ImageFacts(("tabby cat",), "a domestic cat", ("brown", "grey"), "dark", "photo")
    assert render(facts) == "a photo of a tabby cat (a domestic cat); mostly brown and grey; dark."
    assert render(ImageFacts(kind="drawing")) == "a drawing."
    assert _first_clause("A barbell is a long straight metal bar, used for lifting. More.") == (
        "a long straight metal bar, used for lifting"
    )


def test_a_long_description_ends_at_a_comma_not_mid_phrase():
    long = (
        "A small domestic feline with a compact, flexible body, triangular upright ears, "
        "prominent whiskers, and a long tail that it holds up high when it walks around "
        "the house at night."
    )
    assert _first_clause(long) == (
        "a small domestic feline with a compact, flexible body, triangular upright ears, "
        "prominent whiskers"
    )
    assert _first_clause("A cup of coffee, very dark brown.") == "a cup of coffee, very dark brown"


def test_dark_red_is_brown_and_dark_cyan_teal_as_web_colours_name_them():
    arr = np.full((64, 64, 3), 255, dtype=np.uint8)
    arr[10:16, 10:16] = (165, 42, 42)  # CSS brown, a small shape (under 1% of the pixels: 0.9)
    arr[30:50, 30:50] = (0, 128, 128)  # CSS teal
    arr[50:60, 5:15] = (255, 0, 0)  # pure red stays red
    colours, _, kind = pixel_facts(Image.fromarray(arr))
    assert kind == "drawing" and "teal" in colours and "red" in colours
    arr[10:20, 10:20] = (165, 42, 42)  # 2.4% of the pixels: named
    assert "brown" in pixel_facts(Image.fromarray(arr))[0]
