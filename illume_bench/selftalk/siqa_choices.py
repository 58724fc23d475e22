"""How the Social-IQA reader writes each choice: the start of an answer made from the
question ("How would Jordan feel afterwards?" -> "As a result, Jordan felt"), then the choice.

Shwartz et al.'s reader (self_talk, multiple_choice_asking_questions_predictor_unsupervised.py)
scores "As a result, Jordan felt proud." rather than the bare "proud.", so the LM reads a
sentence; the templates are theirs.
"""

from __future__ import annotations

import re

SIQA_ANSWER_PREFIXES = {
    # how the reader turns a Social-IQA question into the start of each choice
    r"What will (.*) want to do next\?": "As a result, {} wanted to",
    r"What will (.*) want to do after\?": "As a result, {} wanted to",
    r"How would (.*) feel afterwards\?": "As a result, {} felt",
    r"How would (.*) feel as a result\?": "As a result, {} felt",
    r"What will (.*) do next\?": "{} then",
    r"How would (.*) feel after\?": "{} then",
    r"How would you describe (.*)\?": "{} is seen as",
    r"What kind of person is (.*)\?": "{} is seen as",
    r"How would you describe (.*) as a person\?": "{} is seen as",
    r"Why did (.*) do that\?": "Before, {} wanted",
    r"Why did (.*) do this\?": "Before, {} wanted",
    r"Why did (.*) want to do this\?": "Before, {} wanted",
    r"What does (.*) need to do beforehand\?": "Before, {} needed to",
    r"What does (.*) need to do before\?": "Before, {} needed to",
    r"What does (.*) need to do before this\?": "Before, {} needed to",
    r"What did (.*) need to do before this\?": "Before, {} needed to",
    r"What will happen to (.*)\?": "{} then",
    r"What will happen to (.*) next\?": "{} then",
}


def siqa_answer_prefix(question: str) -> str:
    """The start the reader gives every choice of a Social-IQA question (first match wins,
    as in the reference; an unknown question is turned into "<question> is")."""
    for pattern, head in SIQA_ANSWER_PREFIXES.items():
        m = re.match(pattern, question)
        if m:
            return head.format(m.group(1))
    return question.replace("?", " is").strip()


SIQA_REPEATS = (
    ("wanted to wanted to", "wanted to"),
    ("needed to needed to", "needed to"),
    ("to to", "to"),
)
"""Where the answer prefix and an answer both say it ("wanted to" + "wanted to go")."""
