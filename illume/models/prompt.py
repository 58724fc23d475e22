"""ILLUME's prompt as data: what a model is asked about one image, before any formatting.

The stages (sampling, tuning) build a `Prompt`; the model family renders it in
its own format, so nothing has to take a rendered string apart again:

- the embedded model and MAGMA read `plain()` after the image prefix,
  the paper's `<image> Q: {question} A: {answer}, {explanation prompt}`;
- a Hugging Face chat model gets a conversation (hf/inputs.py): the user turn
  holds the image and `user_text()`, the assistant's reply starts with `reply()`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prompt:
    """The parts of one prompt; the model family decides how they are written."""

    question: str
    answer: str | None = None
    """The answer the rationale explains (the ground truth); None asks for the answer
    itself (a VQA sample of X^A, whose target is the answer)."""
    explanation: str = "because"
    """The explanation prompt after the answer ("because", "seeing that", ...)."""
    context: str | None = None
    """Optional text derived from the image (a caption, detected objects), read before
    the question; None (the paper's prompt) leaves it out."""
    examples: str = ""
    """Worked examples read before everything else, the image included (rendered by
    illume/models/examples.py); "" for none. Not part of `plain()`: the same for every item,
    so the model keeps their key/value cache instead of reading them again."""

    def user_text(self) -> str:
        """What a chat model's user turn asks: the question, after the context if any."""
        return f"Context: {self.context}\n{self.question}" if self.context else self.question

    def reply(self) -> str:
        """How the answer starts: "<answer>, <explanation prompt>" ("" for a VQA prompt)."""
        return "" if self.answer is None else f"{self.answer}, {self.explanation}"

    def plain(self) -> str:
        """The prompt as one text: `Q: {question} A: {answer}, {explanation}` (`... A:` for VQA).

        Also what a candidate records as its `prompt`.
        """
        head = f"Context: {self.context} " if self.context else ""
        reply = self.reply()
        return f"{head}Q: {self.question} A:" + (f" {reply}" if reply else "")
