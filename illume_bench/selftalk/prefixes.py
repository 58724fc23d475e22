"""The clarification questions self-talk asks, per set, as Shwartz et al. (2020) list them.

Two kinds, both mapping a question to the prefix its answer starts with:

- question prefixes ("What might have caused"): the LM completes the question itself
  after the premise; "_" in the answer prefix stands for what it wrote
  ("What is the main purpose of" + " a fence?" -> "The purpose of a fence is to");
- whole questions built from the instance (its choices, its names, its own question),
  which the LM only answers.

The lists are those of the reference code (github.com/vered1986/self_talk,
experiments/<set>/prefixes.json and generate_clarifications_from_lm.py). That repository
ships no prefix file for COPA; COPA takes the CommonsenseQA list, which already holds the
causal prefixes ("What happened as a result of", "What might have caused") COPA asks about,
plus the reference's per-choice COPA questions.
"""

from __future__ import annotations

import string

from illume_bench.selftalk.formats import Instance, lower_first

CONCEPT_PREFIXES = {
    "What is the definition of": "The definition of _ is",
    "What is the main purpose of": "The purpose of _ is to",
    "What is the main function of a": "The main function of a _ is",
    "What are the properties of a": "The properties of a _ are that",
}

QUESTION_PREFIXES: dict[str, dict[str, str]] = {
    "csqa": {
        **CONCEPT_PREFIXES,
        "What is a": "_ is",
        "What happened as a result of": "As a result of _,",
        "What might have caused": "The cause of _ was",
    },
    "winogrande": {**CONCEPT_PREFIXES, "What is": "_ is", "What does it mean to": "_ means"},
    "piqa": {
        "How to": "The way to do _ is",
        "How do you": "The way you do _ is",
        "How can one": "One can _ by",
        "What can be used for": "_ can be used for",
        "What can one do in order to": "In order to _, one can",
        "What should you use for": "For _, you should you use",
        "What is the definition of": "The definition of _ is",
        "What are the properties of a": "The properties of a _ are that",
        "What is a": "_ is",
    },
    "mctaco": {},  # only whole questions (MCTACO_QUESTIONS)
    "siqa": {},  # only whole questions (SIQA_QUESTIONS)
}
QUESTION_PREFIXES["copa"] = QUESTION_PREFIXES["csqa"]

MCTACO_QUESTIONS = {
    "How long did this take?": "This lasted for",
    "How often does this happen?": "Every",
    "How many times did this happen?": "This happened",
    "What happened first?": "The first thing that happened was",
    "What happened last?": "The last thing that happened was",
}

SIQA_QUESTIONS = {
    "What will [NAME] want to do next?": "[NAME] wanted",
    "What will [NAME] want to do after?": "[NAME] wanted",
    "How would [NAME] feel afterwards?": "[NAME] felt",
    "How would [NAME] feel as a result?": "[NAME] felt",
    "How would [NAME] feel after?": "[NAME] felt",
    "How would you describe [NAME]?": "[NAME] is a",
    "What kind of person is [NAME]?": "[NAME] is a",
    "How would you describe [NAME] as a person?": "[NAME] is a",
    "Why did [NAME] do that?": "[NAME] did this because they wanted",
    "Why did [NAME] do this?": "[NAME] did this because they wanted",
    "Why did [NAME] want to do this?": "[NAME] did this because they wanted",
    "What does [NAME] need to do beforehand?": "Before doing that, [NAME] first had to",
    "What does [NAME] need to do before?": "Before doing that, [NAME] first had to",
    "What does [NAME] need to do before this?": "Before doing that, [NAME] first had to",
    "What did [NAME] need to do before this?": "Before doing that, [NAME] first had to",
    "What will happen to [NAME]?": "[NAME]",
    "What will happen to [NAME] next?": "[NAME]",
    "What will [NAME] do next?": "[NAME]",
    "What did [NAME] do?": "What [NAME] did was",
}


def words(text: str) -> set[str]:
    """The words of a text without punctuation (the reference's overlap test)."""
    return set(text.translate(str.maketrans("", "", string.punctuation)).split())


def answer_prefix(template: str, completion: str) -> str:
    """The answer prefix of a completed question: "_" becomes what the LM wrote."""
    return template.replace("_", completion.replace("?", "").strip())


def instance_questions(inst: Instance, fmt: str) -> dict[str, str]:
    """Whole clarification questions built from one instance -> their answer prefixes."""
    out: dict[str, str] = {}
    if fmt in ("csqa", "winogrande"):
        for ch in inst.choices:  # "don't ask that about names" (WinoGrande's capitalised)
            if fmt == "csqa" or ch[:1] != ch[:1].upper():
                out[f'What is the definition of "{ch}"?'] = f'"{ch}" is defined as'
    elif fmt == "copa":
        for ch in inst.choices:
            bare = lower_first(ch).replace(".", "")
            out[f"What does it mean that {bare}?"] = f"{ch.replace('.', '')} means that"
            out[f"What happened after {bare}?"] = f"After {bare},"
            out[f"What happened before {bare}?"] = f"Before {bare},"
    elif fmt == "mctaco":
        out.update(MCTACO_QUESTIONS)
        out[inst.question] = ""
    elif fmt == "siqa":
        capital = lambda s: {w for w in words(s) if w[:1].isupper()}  # noqa: E731
        names = sorted(capital(inst.premise) & capital(inst.question))
        asked = set(inst.question.split())
        specs = [
            (q.replace("[NAME]", n), a.replace("[NAME]", n))
            for q, a in SIQA_QUESTIONS.items()
            for n in names
        ]
        if specs:  # only the one closest to the set's own question
            q, a = max(specs, key=lambda qa: len(set(qa[0].split()) & asked))
            out[q] = a
    return out
