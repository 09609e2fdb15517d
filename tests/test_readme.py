"""The README's nova.conf examples are valid nova.conf."""

from __future__ import annotations

import re
from pathlib import Path

from nova_ws.config import parse_config

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_config_examples_parse() -> None:
    """When a README code block is a nova.conf snippet, it parses without error."""
    blocks = re.findall(r"```\n(\[.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 2
    for block in blocks:
        parse_config(block, "README.md")
