"""Examples in docs/cli.md are real output: each is made here as the page says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHARTER = Path(sys.executable).with_name("charter")


def _section(title: str) -> str:
    text = (ROOT / "docs" / "cli.md").read_text()
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_policy_errors_example_is_what_charter_check_prints(tmp_path):
    section = _section("Policy errors")
    policy = re.search(r"```charter\n(.*?)```", section, re.S).group(1)
    shown = re.search(r"```text\n\$ (.*?)\n(.*?)```", section, re.S)
    (tmp_path / "broken.charter").write_text(policy)
    (tmp_path / "traces.jsonl").write_text('{"id": "t", "messages": []}\n')
    command = shown.group(1).split()
    result = subprocess.run([str(CHARTER), *command[1:]], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr == shown.group(2)
