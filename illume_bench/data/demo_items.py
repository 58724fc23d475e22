"""The bundled demo photos: real images with questions, answers and references."""

from __future__ import annotations

from pathlib import Path

from illume.items import Item, load_items

DEMO_ITEMS = Path(__file__).parent / "demo" / "items.jsonl"


def demo_items() -> list[Item]:
    items, errors = load_items(DEMO_ITEMS)
    if errors:
        raise ValueError(f"bundled demo set is broken: {errors}")
    return items
