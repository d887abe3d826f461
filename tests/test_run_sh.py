"""run.sh: unknown commands are refused before any setup work."""

import subprocess

from conftest import REPO


def test_unknown_command_lists_the_commands_and_fails():
    result = subprocess.run([str(REPO / "run.sh"), "trian"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "unknown command 'trian'" in result.stderr
    for command in ("train", "evaluate", "sample", "export", "reproduce", "bench", "presets", "crosscheck",
                    "test"):
        assert command in result.stderr


def test_no_command_prints_usage():
    result = subprocess.run([str(REPO / "run.sh")], capture_output=True, text=True)
    assert result.returncode == 2 and "usage: ./run.sh COMMAND" in result.stderr
