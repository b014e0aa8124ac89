"""The ``mtk`` command line: click commands that parse, call the library and render with rich.

Commands live one module each (``mtk/cli/cmd_*.py``) and are imported only when used, so ``mtk --help``
and ``mtk inspect`` start fast.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings

import click

from mtk.errors import MtkError, MtkWarning

#: command name -> "module:attribute"
COMMANDS: dict[str, str] = {
    "demo": "mtk.cli.cmd_demo:demo_command",
    "inspect": "mtk.cli.cmd_inspect:inspect_command",
    "validate": "mtk.cli.cmd_validate:validate_command",
    "stats": "mtk.cli.cmd_stats:stats_command",
    "convert": "mtk.cli.cmd_convert:convert_command",
    "augment": "mtk.cli.cmd_augment:augment_command",
    "sample": "mtk.cli.cmd_sample:sample_command",
    "render": "mtk.cli.cmd_render:render_command",
    "tokenizer": "mtk.cli.cmd_tokenizer:tokenizer_command",
    "tokenize": "mtk.cli.cmd_tokenize:tokenize_command",
    "detokenize": "mtk.cli.cmd_tokenize:detokenize_command",
    "pfnn": "mtk.cli.cmd_pfnn:pfnn_command",
    "metrics": "mtk.cli.cmd_metrics:metrics_command",
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when the command is used or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attribute = target.split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="mtk")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or chatter (also when output is piped).")
@click.option("--follow-links", is_flag=True,
              help="Read through links inside a dataset, store or database that lead outside it (refused by "
                   "default: a container is read only from files inside it).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool, follow_links: bool) -> None:
    """mtk: motion dataset toolkit for HumanML3D-263, KIT-251 and 272-dim (MotionMillion) features.

    \b
    Start here:
      mtk demo                      run the whole toolkit on built-in sample data
      mtk inspect FILE_OR_DATASET   what is this file, and is it sane?
      mtk convert SRC DST --to ...  npy folders, Zarr, HDF5, joints, BVH, PFNN
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["quiet"] = quiet
    if follow_links:  # the environment carries it to worker processes
        from mtk.io.contained import FOLLOW_LINKS_ENV

        os.environ[FOLLOW_LINKS_ENV] = "1"


def _interrupted(what: str) -> str:
    """``mtk: interrupted``, with how to continue when the command keeps resumable work."""
    destination = sys.modules.get("mtk.io.destination")
    hint = destination.interrupted_hint() if destination else None
    return f"mtk: {what}; {hint}" if hint else f"mtk: {what}"


def _write_fault(err: Exception):
    """The one-line error for a failed write of the command's output (full disk, read-only ...), or None."""
    destination = sys.modules.get("mtk.io.destination")
    return destination.write_fault(err) if destination else None


def _stopped_by_launcher(err: BaseException):
    """The :class:`mtk.io.processes.Stopped` behind ``err`` (click wraps it in Abort), or None. From now on a
    SIGTERM ends the process quietly: the interruption is being reported."""
    processes = sys.modules.get("mtk.io.processes")
    if processes is None:
        return None
    processes.default_sigterm()
    for cause in (err, err.__context__, err.__cause__):
        if isinstance(cause, processes.Stopped):
            return cause
    return None


def _group_failure(err: Exception):
    """The one-line error for a collective that another process of the group left hanging, or None."""
    processes = sys.modules.get("mtk.io.processes")
    return processes.group_failure(err) if processes else None


QUIET_FLAGS = ("-q", "--quiet")
#: the group's flags that may be given anywhere on the command line (before ``--``)
GLOBAL_FLAGS = {"-q": QUIET_FLAGS, "--follow-links": ("--follow-links",)}


def hoist_quiet(args: list[str]) -> list[str]:
    """``-q``/``--quiet`` and ``--follow-links`` anywhere before ``--`` are the group's flags: move them to the
    front."""
    end = args.index("--") if "--" in args else len(args)
    given = [flag for flag, spellings in GLOBAL_FLAGS.items() if any(arg in spellings for arg in args[:end])]
    if not given:
        return args
    spelled = {spelling for flag in given for spelling in GLOBAL_FLAGS[flag]}
    return [*given, *(arg for arg in args[:end] if arg not in spelled), *args[end:]]


def local_urls(args: list[str]) -> list[str]:
    """Every ``file://`` URL on the command line (an argument, or an option's ``--opt=file://...``) replaced by
    the local path it names, so that every command reads and writes it exactly there, with the local checks
    (:func:`mtk.io.location.local_path`)."""
    from mtk.io.location import LOCAL_SCHEMES, local_path

    prefixes = tuple(f"{scheme}://" for scheme in LOCAL_SCHEMES)

    def local(arg: str) -> str:
        option, equals, value = arg.partition("=")
        if arg.startswith("--") and equals and value.startswith(prefixes):
            return f"{option}={local_path(value)}"
        return str(local_path(arg)) if arg.startswith(prefixes) else arg

    return [local(arg) for arg in args]


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """mtk's own warnings as one line on stderr; others as Python shows them."""
    if issubclass(category, MtkWarning):
        click.echo(f"mtk: warning: {message}", err=True)
    else:
        _show_python_warning(message, category, filename, lineno, file, line)


_show_python_warning = warnings.showwarning


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one-line errors, exit codes 0 (ok), 1 (data has errors), 2 (bad input/usage)."""
    from mtk.cli.streams import prepare, stdout_failure

    prepare()
    warnings.showwarning = show_warning
    destination = sys.modules.get("mtk.io.destination")
    if destination is not None:  # an earlier command in this process
        destination.start_command()
    environment = dict(os.environ)
    try:
        code = _run(hoist_quiet(list(argv if argv is not None else sys.argv[1:])))
    except SystemExit as done:  # click exits by itself after a write to a closed pipe
        code = done.code if isinstance(done.code, int) else 1
    finally:  # a command's settings (--follow-links) end with it
        os.environ.clear()
        os.environ.update(environment)
    failed = stdout_failure()
    sys.exit(code if failed is None else failed)


def _run(args: list[str]) -> int:
    """Run the command; its exit code, every error reported on one line (``--debug`` re-raises)."""
    from mtk.cli.streams import stdout_failure

    debug = "--debug" in args
    try:
        code = cli.main(args=local_urls(args), prog_name="mtk", standalone_mode=False)
    except MtkError as err:
        if debug:
            raise
        click.echo(f"mtk: error: {err.one_line()}", err=True)
        return err.exit_code
    except click.exceptions.Exit as err:
        return err.exit_code
    except click.exceptions.NoArgsIsHelpError as err:
        err.show()
        return err.exit_code
    except click.UsageError as err:
        command = err.ctx.command_path if err.ctx else "mtk"
        click.echo(f"mtk: error: {err.format_message()} (see {command} --help)", err=True)
        return err.exit_code
    except click.ClickException as err:
        click.echo(f"mtk: error: {err.format_message()}", err=True)
        return err.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt) as err:
        stopped = _stopped_by_launcher(err)
        if stopped is not None:
            click.echo(_interrupted(str(stopped)), err=True)
            sys.exit(143)
        click.echo(_interrupted("aborted" if isinstance(err, click.exceptions.Abort) else "interrupted"), err=True)
        return 130
    except Exception as err:  # noqa: BLE001 - the last line of defence keeps errors to one line
        broken = stdout_failure() if isinstance(err, OSError) else None
        if broken is not None:  # writing the command's output to stdout failed
            return broken
        if debug:
            raise
        fault = _group_failure(err) or _write_fault(err)
        if fault is not None:
            click.echo(f"mtk: error: {fault.one_line()}", err=True)
            return fault.exit_code
        message = str(err).strip().splitlines()[0] if str(err).strip() else ""
        click.echo(f"mtk: error: internal error: {type(err).__name__}: {message} "
                   "(run with --debug for the traceback and please report it)", err=True)
        return 3
    return code if isinstance(code, int) else 0
