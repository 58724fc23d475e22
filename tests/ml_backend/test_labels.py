"""Control names from the labeling config, verdicts, and annotators as the critic."""

from __future__ import annotations

from pathlib import Path

from illume.critique import Critic
from illume.items import Item
from ml_backend.labels import (
    DEFAULT_LABELS,
    Labels,
    VerdictCritic,
    prediction,
    read_annotation,
    task_verdicts,
)

CONFIGS = Path(__file__).resolve().parents[2] / "label_config"

RENAMED = """<View>
  <Image name="photo" value="$image"/>
  <Choices name="pick" toName="photo" choice="multiple" value="$candidates">
    <Choice value="nothing fits"/>
  </Choices>
  <TextArea name="own" toName="photo"/>
</View>"""


def test_shipped_configs_give_the_default_names():
    for name in ("rationales.xml", "actx.xml"):
        assert Labels.from_config((CONFIGS / name).read_text()) == DEFAULT_LABELS


def test_names_come_from_the_projects_config():
    labels = Labels.from_config(RENAMED)
    assert labels == Labels(choices="pick", text="own", to_name="photo", none_fits="nothing fits")
    pred = prediction([{"text": "a", "rank": 0.9}], "v0001", 1, labels)
    assert pred["result"][0]["from_name"] == "pick" and pred["result"][0]["to_name"] == "photo"


def test_unreadable_config_falls_back_to_defaults():
    assert Labels.from_config("<View><oops") == DEFAULT_LABELS
    assert Labels.from_config(None) == DEFAULT_LABELS


def test_verdicts_read_only_the_configs_controls():
    labels = Labels.from_config(RENAMED)
    ann = {
        "id": 3,
        "completed_by": {"email": "a@x"},
        "result": [
            {"from_name": "pick", "type": "choices", "value": {"choices": ["nothing fits", "t1"]}},
            {"from_name": "other", "type": "choices", "value": {"choices": ["not a rationale"]}},
            {"from_name": "own", "type": "textarea", "value": {"text": ["T1 ", "typed"]}},
        ],
    }
    v = read_annotation(ann, labels)
    assert v.none_fits and v.ticked == ["t1"] and v.annotator == "a@x"
    assert v.fitting == ["t1", "typed"]  # "T1 " is the ticked one again


def test_annotator_critic_is_an_engine_critic():
    critic = VerdictCritic()
    assert isinstance(critic, Critic)
    task = {"annotations": [{"result": [{"type": "choices", "value": {"choices": ["It purrs"]}}]}]}
    critic.add("cat", task_verdicts(task))
    cat = Item("cat", "c.png", "what animal?", "cat")
    scores = critic.score(cat, ["it  purrs", "it barks"])
    assert scores == [1.0, 0.0] and critic.fitting(1.0) and not critic.fitting(0.0)
    assert critic.score(Item("dog", "d.png", "q", "a"), ["it purrs"]) == [0.0]
