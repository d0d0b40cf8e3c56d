"""The `charter` command: a thin layer over the library and the renderers.

Exit codes (also in `charter --help`): 0 nothing in --fail-on happened; 1 something
did (or an inline test failed); 2 a policy error, an unreadable or malformed trace
record, or a usage error.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Callable, Iterator

import click

from . import Policy, PolicyError, __version__
from .loader import load_program
from .report import (
    FORMATS, WRITERS, CheckSummary, diagnostic_json, render_derivation, render_diagnostics,
    render_test_results,
)
from .traces.model import Trace
from .traces.reader import ADAPTERS, Skipped, read_traces

FAIL_KINDS = ("violated", "conflict", "unspecified", "pending")
EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2


def _edge(command: Callable) -> Callable:
    """Policy errors are rendered once, here; nothing else escapes as a traceback."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except PolicyError as error:
            click.echo(render_diagnostics(error.diagnostics, error.sources), err=True)
            sys.exit(EXIT_ERROR)
        except RecursionError:
            click.echo("error: the input is nested too deeply to process", err=True)
            sys.exit(EXIT_ERROR)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            sys.exit(EXIT_OK)
        except Exception as error:  # a bug of ours: say so in one line, never a traceback
            click.echo(f"internal error: {type(error).__name__}: {error} "
                       "(please report this with the policy and trace that caused it)", err=True)
            sys.exit(EXIT_ERROR)

    return run


def _load(policies: tuple[str, ...]) -> Policy:
    return Policy(load_program(list(policies)))


def _records(paths: tuple[str, ...], input_format: str | None) -> Iterator[Trace | Skipped]:
    for path in paths:
        yield from read_traces(path, input_format)


def _fail_on(value: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    unknown = [k for k in kinds if k not in FAIL_KINDS]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)}; choose from {', '.join(FAIL_KINDS)}")
    return kinds


_traces_option = click.option(
    "--traces", "trace_paths", multiple=True, required=True, metavar="PATH",
    help="A trace file (JSONL, a JSON trace or a JSON array of traces); '-' for stdin. Repeatable.",
)
_format_option = click.option(
    "--input-format", type=click.Choice(list(ADAPTERS)), default=None,
    help="Read every record in this format instead of detecting it.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="charter")
def main() -> None:
    """Charter: check conversation traces against the norms an AI assistant must follow.

    \b
    Exit codes: 0 nothing in --fail-on happened; 1 something did, or an inline test
    failed; 2 a policy error, a malformed trace record, or a usage error.
    """


@main.command()
@click.argument("policies", nargs=-1, required=True, metavar="POLICY...")
@_traces_option
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="text",
              show_default=True, help="Report format.")
@click.option("--fail-on", default="violated,conflict", show_default=True, callback=lambda c, p, v: _fail_on(v),
              help="Verdict kinds that make the exit code 1 (any of violated, conflict, unspecified, pending).")
@click.option("--all", "show_all", is_flag=True,
              help="Also report not_applicable verdicts (text: every verdict).")
@_format_option
@click.option("--color/--no-color", default=None, help="Colour the text report (default: on a terminal).")
@_edge
def check(policies, trace_paths, output_format, fail_on, show_all, input_format, color) -> None:
    """Check traces against POLICY files (layers of one policy; `std.NAME` for a
    standard-library module).

    Every record of every trace file is accounted for in the summary: checked, or
    skipped with its line number and the reason. A skipped record makes the exit code 2
    once the others are checked.
    """
    policy = _load(policies)
    out = sys.stdout
    use_color = out.isatty() if color is None else color
    writer = WRITERS[output_format](out, show_all=show_all, color=use_color)
    summary = CheckSummary()
    writer.start()
    for record in _records(trace_paths, input_format):
        if isinstance(record, Skipped):
            summary.skip(record.locator.file, record.locator.line, record.reason)
            writer.skipped(record.locator.file, record.locator.line, record.reason)
            if output_format != "text":
                click.echo(f"{record.locator}: skipped: {record.reason}", err=True)
            continue
        report = policy.check(record)
        summary.add(report)
        writer.trace(report)
    writer.finish(summary)
    if summary.skipped:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FAIL if summary.fails(fail_on) else EXIT_OK)


@main.command()
@click.argument("policies", nargs=-1, required=True, metavar="POLICY...")
@click.option("-v", "--verbose", is_flag=True, help="Also list the expectations that passed.")
@_edge
def test(policies, verbose) -> None:
    """Run the inline `test` blocks of POLICY files.

    Each block's trace is checked against the whole policy, and each `expect NORM
    VERDICT [at turn K]` compared with the verdict given (without `at turn`, the norm's
    verdicts over the trace summed up: the most severe). Failures show the derivation.
    """
    policy = _load(policies)
    results = policy.run_tests()
    click.echo(render_test_results(results, verbose))
    sys.exit(EXIT_OK if all(r.passed for r in results) else EXIT_FAIL)


@main.command()
@click.argument("policies", nargs=-1, required=True, metavar="POLICY...")
@_traces_option
@click.option("--trace", "trace_id", required=True, help="The id of the trace to explain.")
@click.option("--turn", type=int, default=None, help="Only the verdicts at this message index.")
@click.option("--norm", "norm_name", default=None, help="Only this norm's verdicts.")
@click.option("--all", "show_all", is_flag=True, help="Include not_applicable verdicts.")
@_format_option
@_edge
def explain(policies, trace_paths, trace_id, turn, norm_name, show_all, input_format) -> None:
    """Print how the verdicts on one trace were derived: the clauses on each verdict's
    path with their source lines, the facts read, the text that matched, the unknowns."""
    policy = _load(policies)
    if norm_name is not None and norm_name not in policy.norms:
        raise click.BadParameter(f"no norm `{norm_name}`; the norms are {', '.join(policy.norms)}",
                                 param_hint="--norm")
    trace = next((r for r in _records(trace_paths, input_format)
                  if isinstance(r, Trace) and r.id == trace_id), None)
    if trace is None:
        click.echo(f"error: no trace with id {trace_id!r} in {', '.join(trace_paths)}", err=True)
        sys.exit(EXIT_ERROR)
    report = policy.check(trace)
    verdicts = [
        v for v in report.verdicts
        if (turn is None or v.turn == turn) and (norm_name is None or v.norm == norm_name)
        and (show_all or v.kind != "not_applicable")
    ]
    click.echo(f"trace {trace.id}: {report.status}" + (f"  ({report.locator})" if report.locator else ""))
    if not verdicts:
        click.echo("no verdicts match (not_applicable ones are hidden without --all)")
    descriptions = {n.name: n.description for n in policy.program.norms}
    for verdict in verdicts:
        click.echo("\n" + render_derivation(verdict, trace, descriptions.get(verdict.norm)))


@main.command()
@click.argument("policies", nargs=-1, required=True, metavar="POLICY...")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Findings as text (with the source line) or JSON.")
@_edge
def lint(policies, output_format) -> None:
    """Static findings on POLICY files that need no traces: unused definitions,
    undeclared labels, norms without a description, exceptions and overrides that can
    never apply, cases that overlap with different outcomes. Exit 1 if there are any."""
    from .analysis.lint import lint as lint_policy
    from .loader import load

    loaded = load(list(policies))
    findings = lint_policy(loaded)
    sources = {s.name: s for s in loaded.program.sources}
    if output_format == "json":
        click.echo(json.dumps({"findings": [diagnostic_json(d) for d in findings]}, indent=2))
    elif findings:
        click.echo(render_diagnostics(findings, sources))
    else:
        click.echo("no findings")
    sys.exit(EXIT_FAIL if findings else EXIT_OK)


@main.command()
@click.argument("stage", type=click.Choice(["tree", "ast", "program"]))
@click.argument("policies", nargs=-1, required=True, metavar="POLICY...")
@_edge
def dump(stage, policies) -> None:
    """Stop the pipeline after STAGE and print what it made (for debugging policies and
    Charter itself): `tree` the parse tree, `ast` the syntax tree, `program` the checked
    norms with their names expanded."""
    from .debug import dump_stage

    click.echo(dump_stage(stage, list(policies)))


if __name__ == "__main__":  # pragma: no cover
    main()
