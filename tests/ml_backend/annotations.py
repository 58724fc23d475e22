"""Annotation payloads as Label Studio stores them, for tests that read verdicts."""

from __future__ import annotations


def ann(choices=(), text=(), cancelled=False, aid=1, created="2030-01-01T00:00:00Z"):
    result = [
        {
            "from_name": "rationales",
            "to_name": "image",
            "type": "choices",
            "value": {"choices": list(choices)},
        }
    ]
    if text:
        result.append(
            {
                "from_name": "rationale",
                "to_name": "image",
                "type": "textarea",
                "value": {"text": list(text)},
            }
        )
    return {
        "id": aid,
        "result": result,
        "was_cancelled": cancelled,
        "completed_by": 1,
        "created_at": created,
    }
