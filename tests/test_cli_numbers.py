"""Every numeric option of every command is checked by mtk's click types (issue #24): finite, in range, with an
upper bound; a bad value is a one-line usage error naming the option, exit 2, before anything runs."""

from __future__ import annotations

import click
import pytest
from hostile import assert_one_line_error, mtk_here

from mtk.cli import cli, numbers


def _commands(group: click.Group = cli, path: tuple[str, ...] = ()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


COMMANDS = dict(_commands())
NUMERIC = (click.types.IntParamType, click.types.FloatParamType)


def _params(command: click.Command) -> list[click.Parameter]:
    """Every parameter, those a command adds when click asks (the quantizers' options) included."""
    return command.get_params(click.Context(command))


def _numeric_params():
    for path, command in COMMANDS.items():
        for param in _params(command):
            if isinstance(param.type, (*NUMERIC, numbers.StepList, numbers.Unit)):
                yield path, command, param


def test_every_command_is_walked():
    assert {("convert",), ("tokenizer", "train"), ("pfnn", "play"), ("sample",)} <= set(COMMANDS)
    assert len(list(_numeric_params())) >= 40


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_no_number_is_unvalidated(path):
    """A numeric parameter is an :class:`numbers.Integer` or :class:`numbers.Real` (both bounds given, Real refuses
    NaN/Inf), or a :class:`numbers.StepList`; a plain int/float (or click's own ranges) fails here."""
    for param in _params(COMMANDS[path]):
        kind = param.type
        if isinstance(kind, NUMERIC):
            assert isinstance(kind, numbers.Integer | numbers.Real), f"{' '.join(path)} {param.opts}: {kind!r}"
            assert kind.min is not None and kind.max is not None, f"{' '.join(path)} {param.opts}: open range"
        elif param.callback is not None and not param.is_eager:
            assert param.name in ("",), f"{' '.join(path)} {param.opts}: parsed by a callback, not a type"


def _bad_values(kind) -> list[str]:
    if isinstance(kind, numbers.StepList):
        return ["0", "1,x", str(numbers.MAX_STEPS + 1)]
    if isinstance(kind, numbers.Unit):
        return ["0", "-1", "nan", "inf", "1e300", "furlong"]
    bad = [str(kind.min - 1), str(kind.max + 1)]
    if isinstance(kind, numbers.Real):
        bad += ["nan", "inf", "-inf"] + ([str(kind.min)] if kind.min_open else [])
    return bad


def _required(command: click.Command) -> list[str]:
    """Placeholder values for the command's required arguments and options (never read: the bad number is
    refused while parsing)."""
    args: list[str] = []
    for param in _params(command):
        if isinstance(param, click.Argument) and param.required:
            args.append("placeholder")
        elif isinstance(param, click.Option) and param.required:
            args += [param.opts[0], "placeholder"]
    return args


@pytest.mark.parametrize("path, option, value",
                         [(p, param.opts[0], value) for p, _, param in _numeric_params()
                          for value in _bad_values(param.type)],
                         ids=lambda x: " ".join(x) if isinstance(x, tuple) else str(x))
def test_a_bad_number_is_a_one_line_error_naming_the_option(tmp_path, path, option, value):
    command = COMMANDS[path]
    run = mtk_here(*path, *_required(command), option, value, cwd=tmp_path)
    assert_one_line_error(run, option)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", [["render", "x.npy", "--out", "x.png", "--fps", "30"],
                                  ["tokenizer", "train", "data", "--out", "run", "--lr", "2e-4", "--milestones",
                                   "300000, 400000", "--window", "64"],
                                  ["convert", "x.bvh", "x.npy", "--to", "hml263", "--unit", "cm"],
                                  ["convert", "x.bvh", "x.npy", "--to", "hml263", "--unit", "0.0254"]])
def test_good_numbers_pass_parsing(tmp_path, args):
    """Valid values reach the command (which then fails on the missing input, not on the numbers)."""
    run = mtk_here(*args, cwd=tmp_path)
    assert "Invalid value" not in run.output, run.output
