"""Every command imports and answers --help, and a new command is one module plus one line in the command
table (docs/architecture.md, "Add a command")."""

from __future__ import annotations

import json

import click
import pytest

from mtk.cli import COMMANDS
from mtk.cli import cli as group


def _command_paths() -> list[tuple[str, ...]]:
    """Every command and subcommand, as the words that run it (``("tokenizer", "train")``)."""
    ctx = click.Context(group)
    paths = []
    for name in COMMANDS:
        command = group.get_command(ctx, name)
        assert command is not None, name
        paths.append((name,))
        if isinstance(command, click.Group):
            paths += [(name, sub) for sub in command.list_commands(ctx)]
    return paths


@pytest.mark.parametrize("words", _command_paths(), ids=" ".join)
def test_every_command_answers_help(cli, words):
    run = cli(*words, "--help")
    assert run.code == 0, run.stderr
    assert run.stdout.startswith(f"Usage: mtk {' '.join(words)}") and "--help" in run.stdout


def test_the_top_level_help_lists_every_command(cli):
    run = cli("--help")
    assert run.code == 0
    listed = [line.split()[0] for line in run.stdout.split("Commands:")[1].splitlines() if line.strip()]
    assert sorted(listed) == sorted(COMMANDS)


@pytest.fixture
def count_command(monkeypatch):
    """The recipe's third step: one line in the command table."""
    monkeypatch.setitem(COMMANDS, "count", "toy_command:count_command")


def test_a_command_is_one_module_and_one_line(count_command, cli, tmp_path):
    from mtk.jobs.sample import write_sample_dataset

    write_sample_dataset(str(tmp_path / "data"), count=10, seed=0)
    assert "count" in cli("--help").stdout
    run = cli("count", tmp_path / "data", "--split", "train", "--out", tmp_path / "counts.json")
    assert run.code == 0 and run.stdout.startswith("8 motions")
    assert json.loads((tmp_path / "counts.json").read_text())["motions"] == 8
    again = cli("count", tmp_path / "data", "--out", tmp_path / "counts.json")
    assert again.code == 2 and again.stderr.startswith("mtk: error: ") and "--overwrite" in again.stderr
    wrong = cli("count", tmp_path / "data", "--split", "nope")
    assert wrong.code == 2 and len(wrong.stderr.splitlines()) == 1 and "nope" in wrong.stderr
    missing = cli("count", tmp_path / "absent")
    assert missing.code == 2 and "no such file or folder" in missing.stderr
