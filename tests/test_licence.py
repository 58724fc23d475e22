"""The LICENSE file is the licence pyproject.toml declares, and the dataset card names it."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_licence_file_matches_pyproject():
    declared = re.search(r'license = \{ text = "([^"]+)" \}', (ROOT / "pyproject.toml").read_text())
    text = (ROOT / "LICENSE").read_text()
    assert declared and declared.group(1) == "Apache-2.0"
    assert "Apache License" in text and "Version 2.0, January 2004" in text


def test_the_card_names_the_software_licence():
    from ml_backend.cards import SOFTWARE_LICENCE

    assert SOFTWARE_LICENCE == "Apache-2.0"
