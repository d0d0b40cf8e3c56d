"""The `charter` command: a thin layer over the library and the renderers.

Exit codes (also in `charter --help`): 0 nothing in --fail-on happened; 1 something
did (or an inline test failed); 2 a policy error, an unreadable or malformed trace
record, or a usage error.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from typing import Callable, Iterable, Iterator

import click

from . import Policy, PolicyError, __version__
from .cache.programs import load_program
from .source.cache import cache_directory
from .detectors.labeller import DEFAULT_TIMEOUT as DETECTOR_TIMEOUT
from .detectors.settings import Settings, read_config
from .detectors.store import Store, default_path as detector_cache_path
from .facts.detected import wanted
from .facts.presence import Presence, Survey
from .corpus.parallel import (
    Progress, SkippedRecord, check_corpus, expand_paths, progress_wanted, read_path, total_bytes,
)
from .reports.render import (
    FORMATS, WRITERS, CheckSummary, diagnostic_json, render_derivation, render_diagnostics,
    render_property_results, render_test_results, test_results_json,
)
from .evaluate.verdicts import EXPLAIN
from .traces.model import Trace
from .traces.reader import ADAPTERS, MAX_RECORD_BYTES, Skipped, read_traces

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
    """The policy, checked from the cache when an earlier run checked the same files."""
    return Policy(load_program(list(policies), cache_directory()), policies)


def _echo_skipped(skipped: Iterable[Skipped]) -> None:
    for record in skipped:
        click.echo(f"{record.locator}: skipped: {record.reason}", err=True)


def _records(paths: tuple[str, ...], input_format: str | None) -> Iterator[Trace | Skipped]:
    """Every record of the --traces values (files, directories, glob patterns), in order."""
    for path in expand_paths(paths):
        yield from read_path(path, input_format)


def _fail_on(value: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    unknown = [k for k in kinds if k not in FAIL_KINDS]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)}; choose from {', '.join(FAIL_KINDS)}")
    return kinds


def _detector_map(value: tuple[str, ...]) -> dict[str, str]:
    pairs = [item.partition("=") for item in value]
    wrong = [item for item, (label, eq, name) in zip(value, pairs) if not (label and eq and name)]
    if wrong:
        raise click.BadParameter(f"{wrong[0]!r}: write LABEL=DETECTOR, e.g. toxic=secrets")
    return {label.strip(): name.strip() for label, _, name in pairs}


def _detectors(policy: Policy, mapping: dict[str, str], cache: str | None, timeout: float,
               config: str | None) -> Settings:
    """How this run detects labels: the command line's mapping, checked against the
    policy; the disk cache, checked once here (one that cannot be used is a warning and
    a run without it); a detector that is not installed is said once here."""
    services = read_config(config) if config is not None else ()
    if isinstance(services, str):
        raise click.BadParameter(services, param_hint="--detector-config")
    found = wanted(policy.program, mapping)
    if isinstance(found, str):
        raise click.BadParameter(found, param_hint="--detector")
    store = Store(cache) if found and cache is not None else None
    if store is not None and not store.usable():
        click.echo(f"warning: {store.problem}", err=True)
        cache = None
    elif store is not None:
        store.close()
    settings = Settings(tuple(mapping.items()), cache, timeout or None, services)
    installed = settings.names() if found else []  # reading entry points costs ~40 ms: only when needed
    for want in found:
        if want.detector not in installed:
            click.echo(f"warning: detector `{want.detector}` is not installed (installed: "
                       f"{', '.join(installed) or 'none'}): label `{want.label}` is unknown where a trace "
                       "does not carry it", err=True)
    for name in sorted({w.detector for w in found} & {s.name for s in services}):
        made = settings.load(name)  # an HTTP detector starts at once: a missing key is said here
        if isinstance(made, str):
            click.echo(f"warning: {made}: its labels are unknown where a trace does not carry them", err=True)
    return settings


_traces_option = click.option(
    "--traces", "trace_paths", multiple=True, required=True, metavar="PATH",
    help="A trace file (JSONL, a JSON trace or a JSON array of traces), a directory (its .jsonl, "
         ".json and .eval files, recursively) or a glob pattern ('logs/*.jsonl'); '-' for stdin. "
         "Repeatable.",
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
              show_default=True, help="Report format (junit: JUnit XML; sarif: SARIF 2.1.0).")
@click.option("--fail-on", default="violated,conflict", show_default=True, callback=lambda c, p, v: _fail_on(v),
              help="Verdict kinds that make the exit code 1 (any of violated, conflict, unspecified, pending).")
@click.option("--all", "show_all", is_flag=True,
              help="Also report not_applicable verdicts (text: every verdict).")
@click.option("--explain", type=click.Choice(EXPLAIN), default="violations", show_default=True,
              help="Which verdicts the json, jsonl, junit and sarif reports explain: violations (those "
                   "not complied, not_applicable or overridden), all, or none (the explanation is null).")
@_format_option
@click.option("--color/--no-color", default=None, help="Colour the text report (default: on a terminal).")
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=1, show_default=True, metavar="N",
              help="Check in N worker processes (0: one per CPU). The report is the same.")
@click.option("--no-progress", is_flag=True,
              help="No progress bar (it is only ever shown when standard error is a terminal and CI is not set).")
@click.option("--record", "record_dir", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Also write a replay bundle to DIR (a new or empty directory): the policy sources, "
                   "its hash, each input's path and digest, the verdicts. Checks in one process.")
@click.option("--max-record-bytes", type=click.IntRange(min=1), default=MAX_RECORD_BYTES, show_default=True,
              metavar="N", help="Skip, unread, a JSONL line or .eval member longer than N bytes "
                                "(so that one huge record cannot exhaust memory).")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Check here (with --jobs), or on a Dask cluster (needs charter[dask]). The report is the same.")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="With --engine dask: the scheduler's address (tcp://HOST:8786); "
                   "without it, a local cluster of --jobs worker processes.")
@click.option("--detector", "detector_map", multiple=True, metavar="LABEL=DETECTOR", callback=lambda c, p, v: _detector_map(v),
              help="Compute LABEL with DETECTOR where a trace does not carry it (repeatable; beside the "
                   "policy's `label NAME from detector D`). Installed: see docs/detectors.md.")
@click.option("--detector-cache", type=click.Path(dir_okay=False), default=None, metavar="PATH",
              help="Keep detectors' answers in this SQLite file, so that a later run asks them again only "
                   "for new texts [default: $XDG_CACHE_HOME/charter/detections.sqlite3].")
@click.option("--no-detector-cache", is_flag=True, help="Keep no detector answers on disk (nor read any).")
@click.option("--detector-timeout", type=click.FloatRange(min=0), default=DETECTOR_TIMEOUT, show_default=True,
              metavar="SECONDS", help="Bound each detector call (a batch of up to 256 texts) in time; a call "
                                      "that takes longer leaves its labels unknown (0: no bound).")
@click.option("--detector-config", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="A TOML file declaring HTTP detectors (an OpenAI-compatible moderation endpoint or any "
                   "JSON endpoint): docs/detectors.md.")
@click.option("--fail-on-absent-facts", is_flag=True,
              help="Exit 1 when a label or metadata field the policy declares is present in none of "
                   "the traces (the summary counts each one; a misspelt fact looks like this).")
@_edge
def check(policies, trace_paths, output_format, fail_on, show_all, explain, input_format, color, jobs,
          no_progress, record_dir, max_record_bytes, engine, scheduler, detector_map, detector_cache,
          no_detector_cache, detector_timeout, detector_config, fail_on_absent_facts) -> None:
    """Check traces against POLICY files (layers of one policy; `std.NAME` for a
    standard-library module).

    Every record of every trace file is accounted for in the summary: checked, or
    skipped with its line number and the reason. A skipped record makes the exit code 2
    once the others are checked.
    """
    policy = _load(policies)
    cache = None if no_detector_cache else detector_cache or detector_cache_path()
    detectors = _detectors(policy, detector_map, cache, detector_timeout, detector_config)
    out = sys.stdout
    use_color = out.isatty() if color is None else color
    options = {"show_all": show_all, "color": use_color, "fail_on": fail_on, "explain": explain}
    writer = WRITERS[output_format](out, policy=policy, **options)
    paths = expand_paths(trace_paths)
    progress = Progress(sys.stderr, total_bytes(paths)) if progress_wanted(sys.stderr, no_progress) else None
    shared_terminal = progress is not None and out.isatty()  # clear the bar before writing a report line
    summary = CheckSummary(keep_skipped=False, presence=Presence(Survey(policy.program).names))  # skipped: streamed
    recorder = _recorder(record_dir, policy, policies, paths, writer, input_format)
    writer.start()
    if engine == "dask":
        if recorder is not None:
            raise click.BadParameter("a replay bundle is recorded in one process; use --engine local",
                                     param_hint="--record")
        records = _on_dask(scheduler, policies, paths, output_format, options, input_format,
                           jobs or os.cpu_count() or 1, progress and progress.advance, detectors)
    else:
        records = check_corpus(policy, policies, paths, writer if recorder is None else recorder, output_format,
                               options, input_format, jobs=1 if recorder else jobs or os.cpu_count() or 1,
                               on_batch=progress and progress.advance, max_record_bytes=max_record_bytes,
                               detectors=detectors)
    try:
        for record in records:
            if shared_terminal:
                progress.clear()
            if isinstance(record, SkippedRecord):
                summary.skip(record.file, record.line, record.reason)
                writer.skipped(record.file, record.line, record.reason)
                if output_format != "text":
                    if progress is not None:
                        progress.clear()
                    where = record.file if record.line is None else f"{record.file}:{record.line}"
                    click.echo(f"{where}: skipped: {record.reason}", err=True)
                continue
            summary.add_counts(record.status, record.counts)
            summary.add_facts(record.facts)
            writer.emit(record)
            for note in record.notes:
                if progress is not None:
                    progress.clear()
                click.echo(note, err=True)
    except Exception:  # a bug of ours: the report still ends, valid, with what was checked
        writer.finish(summary)
        raise
    finally:
        if progress is not None:
            progress.clear()
        if recorder is not None:
            recorder.recorder.finish()
    writer.finish(summary)
    if summary.skipped_count:
        sys.exit(EXIT_ERROR)
    absent = fail_on_absent_facts and summary.presence.absent()
    sys.exit(EXIT_FAIL if summary.fails(fail_on) or absent else EXIT_OK)


@main.command()
@click.argument("policies", nargs=-1, required=True, metavar="POLICY...")
@click.option("-v", "--verbose", is_flag=True, help="Also list the expectations and clauses that passed.")
@click.option("--properties/--no-properties", default=True, show_default=True,
              help="After the inline tests, check the properties over generated traces.")
@click.option("--examples", type=click.IntRange(1), default=200, show_default=True,
              help="How many traces to generate for the properties.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="The seed of trace generation (the same seed gives the same run on the same installation).")
@click.option("--prove", is_flag=True,
              help="Also decide conflicts, gaps and reachability over every combination of each "
                   "norm's atomic conditions, and contradictions between norms with the Z3 solver "
                   "(pip install \"charter[prove]\"): `proved` (within the bound it names), `refuted` "
                   "with a confirmed counterexample, or `not decided` with the reason.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Results as text, or as one JSON object.")
@_edge
def test(policies, verbose, properties, examples, seed, prove, output_format) -> None:
    """Run the inline `test` blocks of POLICY files, then check properties of the
    policy over traces generated from its own vocabulary.

    Each block's trace is checked against the whole policy, and each `expect NORM
    VERDICT [at turn K]` compared with the verdict given (without `at turn`, the norm's
    verdicts over the trace summed up: the most severe). Failures show the derivation.

    \b
    Properties (docs/analysis.md): conflict, gap, contradiction (norms no reply can
    satisfy together), determinism, order independence, dead clause, norm never
    applicable, override never applies. A failure comes with a minimal trace, printed
    as a `test` block that reproduces it when pasted into the policy. Without
    --prove a passing property means "sampled N traces, no counterexample"; with it,
    each property says whether it was proved over all combinations, refuted, or only
    sampled (a norm with too many combinations). A contradiction is printed as a test
    block per reply (each keeps one norm and breaks another), with each norm's authority.
    """
    policy = _load(policies)
    results = policy.run_tests()
    checked = []
    if properties:
        from .analysis.properties import check_properties

        checked = check_properties(policy.program, policy.compiled, examples, seed, prove)
    outcomes = [r.passed for r in results] + [r.passed for r in checked]
    if output_format == "json":
        click.echo(json.dumps(test_results_json(results, checked, examples, seed), indent=2, ensure_ascii=False))
    else:
        click.echo(render_test_results(results, verbose))
        if properties:
            click.echo(("\n" if results else "") + render_property_results(checked, examples, seed, verbose))
        click.echo(f"\n{sum(outcomes)} passed, {len(outcomes) - sum(outcomes)} failed")
    sys.exit(EXIT_OK if all(outcomes) else EXIT_FAIL)


def _on_dask(scheduler: str | None, policies: tuple[str, ...], paths: list[str], output_format: str,
             options: dict, input_format: str | None, workers: int, on_batch, detectors: Settings):
    """`check --engine dask`: the records as `check_corpus` gives them, checked on a Dask cluster."""
    try:
        from .integrations import dask as engine
    except ImportError as error:
        raise click.UsageError(f'--engine dask needs Dask: pip install "charter[dask]" ({error})') from None
    try:
        with engine.connected(scheduler, workers) as client:
            yield from engine.check_corpus(client, policies, paths, output_format, options, input_format, on_batch,
                                           detectors)
    except OSError as error:  # the scheduler cannot be reached, or went away
        raise click.BadParameter(f"the Dask scheduler: {error}", param_hint="--scheduler") from None


def _recorder(directory: str | None, policy: Policy, policies: tuple[str, ...], paths: list[str], writer,
              input_format: str | None):
    """For --record: a writer that records each report before `writer` renders it."""
    if directory is None:
        return None
    from .review.records import Recorder, RecordError, RecordingWriter

    if "-" in paths:
        raise click.BadParameter("standard input cannot be replayed; record trace files", param_hint="--record")
    recorder = Recorder(directory, policy, policies, paths, input_format)
    try:
        recorder.start()
    except RecordError as error:
        raise click.BadParameter(str(error), param_hint="--record") from None
    return RecordingWriter(writer, recorder)


def _change_kinds(value: str | None) -> tuple[str, ...]:
    from .review.diff import CHANGE_KINDS

    kinds = tuple(k.strip() for k in (value or "").split(",") if k.strip())
    unknown = [k for k in kinds if k not in CHANGE_KINDS]
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)}; choose from {', '.join(CHANGE_KINDS)}")
    return kinds


@main.command()
@click.argument("policies", nargs=-1, required=True, metavar="OLD_POLICY...")
@click.option("--new", "new_policies", multiple=True, metavar="NEW_POLICY",
              help="A file of the changed policy (repeatable). Default: the OLD_POLICY files, "
                   "at --new-rev or in the working tree.")
@_traces_option
@click.option("--old-rev", default=None, metavar="REV",
              help="Read OLD_POLICY files (and the files they `use`) at this git revision.")
@click.option("--new-rev", default=None, metavar="REV",
              help="Read the new policy files at this git revision (default: the working tree).")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="markdown: a pull-request comment, at most 60,000 characters.")
@click.option("--examples", type=click.IntRange(min=0), default=3, show_default=True, metavar="K",
              help="Example traces kept per transition.")
@click.option("--fail-on-change", default="", metavar="KIND[,KIND]", callback=lambda c, p, v: _change_kinds(v),
              help="Exit 1 when the change does this: any, status, new-violations, verdicts, norms.")
@_format_option
@click.option("--jobs", "-j", type=click.IntRange(min=0), default=1, show_default=True, metavar="N",
              help="Check in N worker processes (0: one per CPU). The report is the same.")
@_edge
def diff(policies, new_policies, trace_paths, old_rev, new_rev, output_format, examples, fail_on_change,
         input_format, jobs) -> None:
    """Check a corpus with an old and a new version of a policy in one pass and report
    what changed: each norm's verdict transitions per trace (`violated -> unspecified
    41`), norms added and removed, trace status changes, and example traces.

    \b
    --fail-on-change KIND (comma-separated) makes the exit code 1 when
      any             any verdict or status changed, or a norm was added or removed
      status          some trace's status changed
      new-violations  some norm became violated or conflict on a trace
      verdicts        some norm present on both sides changed its verdict on a trace
      norms           a norm was added or removed
    Exit code 2 on a policy error or a skipped trace record.
    """
    from .review.diff import DiffChecker, DiffCollector, diff_checker, render_markdown, render_text
    from .corpus.parallel import check_batches

    if not new_policies and old_rev is None and new_rev is None:
        raise click.UsageError("give the new policy with --new, or compare git revisions with --old-rev")
    new_files = tuple(new_policies) or policies
    with _policies_at(policies, old_rev) as (old, old_paths), _policies_at(new_files, new_rev) as (new, new_paths):
        collector = DiffCollector(old, new, _side_label(policies, old_rev), _side_label(new_files, new_rev),
                                  examples)
        make = (diff_checker, (old_paths, new_paths, input_format))
        for item in check_batches(DiffChecker(old, new, input_format), make, expand_paths(trace_paths),
                                  input_format, jobs or os.cpu_count() or 1):
            if isinstance(item, SkippedRecord):
                collector.skip(item.file, item.line, item.reason)
                if output_format != "text":
                    where = item.file if item.line is None else f"{item.file}:{item.line}"
                    click.echo(f"{where}: skipped: {item.reason}", err=True)
                continue
            collector.add(item)
    result = collector.result
    if output_format == "json":
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_markdown(result) if output_format == "markdown" else render_text(result), nl=False)
    if result.skipped:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FAIL if result.triggered(fail_on_change) else EXIT_OK)


def _side_label(files: tuple[str, ...], rev: str | None) -> str:
    return " ".join(files) + (f" @ {rev}" if rev else "")


@contextlib.contextmanager
def _policies_at(files: tuple[str, ...], rev: str | None) -> Iterator[tuple[Policy, list[str]]]:
    """The policy of `files` in the working tree, or at git revision `rev`, and the paths
    it was loaded from."""
    if rev is None:
        yield _load(files), list(files)
        return
    from .review.diff import materialise_revision, revision_dir

    with revision_dir() as into:
        paths = materialise_revision(files, rev, into)
        yield _load(tuple(paths)), paths


@main.command()
@click.argument("directory", type=click.Path(file_okay=False), metavar="DIR")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Differences as text or as one JSON object.")
@click.option("--input-format", type=click.Choice(list(ADAPTERS)), default=None,
              help="Read every record in this format (default: the format recorded).")
@_edge
def replay(directory, output_format, input_format) -> None:
    """Re-check a run recorded by `charter check --record DIR`: load the recorded copy
    of the policy, read the recorded inputs again, check them, and report every
    difference from the record: a verdict or trace status that differs, a trace
    recorded but not found (or found but not recorded), an input whose digest changed,
    a policy whose hash is not the recorded one (an installed stdlib module changed).

    Exit code 0 when everything is as recorded, 1 when something differs, 2 when the
    record cannot be read or the recorded policy does not load.
    """
    from .review.records import RecordError, input_path, read_manifest, recorded_policy_paths
    from .review.records import render_text as render_replay
    from .review.records import replay as replay_record

    try:
        manifest = read_manifest(directory)
        policy = _load(tuple(recorded_policy_paths(directory, manifest)))
        paths = [input_path(entry) for entry in manifest["inputs"]]
        recorded_format = input_format or manifest.get("input_format")
        result = replay_record(directory, manifest, policy, _records(tuple(paths), recorded_format))
    except RecordError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    if output_format == "json":
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_replay(result), nl=False)
    sys.exit(EXIT_FAIL if result.differences or result.skipped else EXIT_OK)


@main.command()
@click.argument("policies", nargs=-1, required=True, metavar="POLICY...")
@_traces_option
@click.option("--trace", "trace_id", required=True, help="The id of the trace to explain.")
@click.option("--turn", type=int, default=None, help="Only the verdicts at this message index.")
@click.option("--norm", "norm_name", default=None, help="Only this norm's verdicts.")
@click.option("--all", "show_all", is_flag=True, help="Include not_applicable verdicts.")
@_format_option
@click.option("--color/--no-color", default=None,
              help="Colour the quoted source lines (default: on a terminal; needs charter[highlight]).")
@click.option("--why-not", is_flag=True,
              help="Also the smallest changes to the trace's facts that would give each verdict another "
                   "verdict, each confirmed by checking the changed trace.")
@click.option("--target", type=click.Choice(["complied", "violated", "unspecified", "not_applicable", "conflict",
                                             "overridden", "pending"]),
              default=None, help="With --why-not: only changes that give this verdict.")
@click.option("--max-changes", type=click.IntRange(1, 4), default=2, show_default=True,
              help="With --why-not: the most facts changed together.")
@_edge
def explain(policies, trace_paths, trace_id, turn, norm_name, show_all, input_format, color, why_not, target,
            max_changes) -> None:
    """Print how the verdicts on one trace were derived: the clauses on each verdict's
    path with their source lines, the facts read, the text that matched, the unknowns.
    Labels the policy's detectors compute are computed first, as `charter check` does.

    With --why-not, each verdict is followed by the smallest sets of changes to the
    trace's facts (a label's value, a metadata field, a phrase said or not, a pattern
    matched or not, a tool called or not) that give it another verdict, with the
    clauses that read them; and for a verdict left unspecified by unknown facts, what
    each value of those facts would give.
    """
    policy = _load(policies)
    if norm_name is not None and norm_name not in policy.norms:
        raise click.BadParameter(f"no norm `{norm_name}`; the norms are {', '.join(policy.norms)}",
                                 param_hint="--norm")
    try:
        explained = policy.explain(trace_paths, norm_name, turn, trace_id=trace_id,
                                   include_not_applicable=show_all, input_format=input_format)
    except ValueError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    answers = None
    if why_not:
        from .review.whynot import why_not as search

        answers = {v: search(policy, explained.trace, v, target, max_changes) for v in explained.verdicts}
    use_color = sys.stdout.isatty() if color is None else color
    click.echo(explained.render(use_color, answers), color=use_color, nl=False)


@main.command("fmt")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--check", is_flag=True,
              help="Write nothing; list the files that would change and exit 1 if any would.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print a unified diff of each change.")
@click.option("--exclude", multiple=True, metavar="GLOB",
              help="Skip files and directories matching GLOB (repeatable), e.g. 'tests/cases/errors/*'.")
@_edge
def fmt(paths, check, show_diff, exclude) -> None:
    """Rewrite policy files in the one canonical layout, comments kept.

    PATH is a file, a directory (every .charter file below it, hidden directories
    skipped) or - for stdin (the result goes to stdout). A file that does not parse is
    reported (file:line:col) and left alone. Exit 0 when done (or, with --check,
    nothing would change), 1 with --check when some file would change, 2 on a file that
    does not parse or cannot be read.
    """
    from .syntax.format import format_text, policy_files

    would_change, failed = [], False
    for path in policy_files(paths, exclude):
        try:
            text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        except (OSError, UnicodeDecodeError) as error:
            click.echo(f"error: cannot read {path}: {error}", err=True)
            failed = True
            continue
        result = format_text("<stdin>" if path == "-" else path, text)
        if result.formatted is None:
            click.echo(render_diagnostics(result.diagnostics, {result.path: result.source}), err=True)
            failed = True
            continue
        if result.changed:
            would_change.append(result.path)
        if show_diff and result.changed:
            click.echo(result.diff(), nl=False)
        elif path == "-" and not check:
            click.echo(result.formatted.text, nl=False)
        elif result.changed and not check:
            with open(path, "w", encoding="utf-8") as out:
                out.write(result.formatted.text)
    verb = "would reformat" if check or show_diff else "reformatted"
    for path in would_change:
        if path != "<stdin>" or check:
            click.echo(f"{verb} {path}", err=True)
    sys.exit(EXIT_ERROR if failed else EXIT_FAIL if check and would_change else EXIT_OK)


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
    from .check.loader import load

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
    from .reports.dump import dump_stage

    click.echo(dump_stage(stage, list(policies)))


@main.command()
@click.option("--stdio", is_flag=True, help="Talk over stdin and stdout (the default and only transport; "
              "accepted because many editors pass it).")
@_edge
def lsp(stdio) -> None:
    """Run the language server over stdin and stdout, for editors: diagnostics as you
    type (the same codes and messages as `charter check` and `charter lint`), hover, go
    to definition, references, completion, document symbols and quick fixes for lint
    findings. Needs the `lsp` extra (pip install 'charter[lsp]'). See docs/lsp.md."""
    try:
        from .lsp.server import serve
    except ImportError as error:
        raise click.ClickException(f"charter lsp needs pygls: pip install 'charter[lsp]' ({error})")
    serve()


@main.command()
@click.argument("policies", nargs=-1, required=True, metavar="POLICY...")
@_traces_option
@click.option("--format", "output_format", type=click.Choice(["markdown", "html", "json"]),
              default="markdown", show_default=True, help="Report format.")
@click.option("--examples", "examples", type=click.IntRange(min=0), default=3, show_default=True,
              metavar="K", help="Example excerpts kept per open item.")
@click.option("--output", "-o", "output", type=click.Path(dir_okay=False), default=None,
              metavar="FILE", help="Write the report to FILE instead of standard output.")
@_format_option
@_edge
def gaps(policies, trace_paths, output_format, examples, output, input_format) -> None:
    """Report the decisions a policy leaves open over a corpus: every `unspecified`
    verdict, grouped by who must decide it (the escalation target), then norm, then what
    is open (an explicit case, a gap, or unknown facts), with counts and examples.

    Exit code 0 once the report is written; 2 on a policy or usage error, or when a
    trace record was skipped (the report is still written).
    """
    from .reports.gaps import write

    report = _load(policies).gaps(trace_paths, examples, input_format)
    _echo_skipped(report.skipped)
    try:
        write(report.render(output_format), output, sys.stdout)
    except OSError as error:
        click.echo(f"error: cannot write {output}: {error.strerror or error}", err=True)
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_ERROR if report.skipped else EXIT_OK)


@main.command()
@click.argument("policies", nargs=-1, required=True, metavar="POLICY...")
@_traces_option
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Report format.")
@click.option("-v", "--verbose", is_flag=True, help="Text: list every clause with its counts.")
@_format_option
@_edge
def coverage(policies, trace_paths, output_format, verbose, input_format) -> None:
    """Report which norms, cases, exceptions and `otherwise` lines of POLICY files a
    corpus exercised, and list those it never did, with file:line.

    A norm is exercised where it applies (its verdict is not not_applicable); a case or
    an exception where its condition holds; an `otherwise` where it is reached. Exit
    code 0 once the report is written; 2 on a policy or usage error, or when a trace
    record was skipped.
    """
    report = _load(policies).coverage(trace_paths, input_format)
    if output_format == "json":  # the text report lists them
        _echo_skipped(report.skipped)
    click.echo(report.render(output_format, verbose), nl=False)
    sys.exit(EXIT_ERROR if report.skipped else EXIT_OK)


def _on_unspecified(context: click.Context, parameter: click.Parameter, value: str) -> object:
    from .evaluate.session import OnUnspecified

    try:
        return OnUnspecified.parse(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@main.command()
@click.argument("policies", nargs=-1, required=True, metavar="POLICY...")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="The port to listen on.")
@click.option("--watch", is_flag=True, help="Reload the policy when one of its files changes.")
@click.option("--token-file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A file holding the bearer token every request but GET /health must carry.")
@click.option("--max-body", type=click.IntRange(min=1), default=1 << 20, show_default=True, metavar="BYTES",
              help="The largest request body accepted.")
@click.option("--max-depth", type=click.IntRange(min=1), default=64, show_default=True,
              help="The deepest nesting of JSON arrays and objects accepted.")
@click.option("--time-budget", type=click.FloatRange(min=0, min_open=True), default=5.0, show_default=True,
              metavar="SECONDS", help="How long one request may compute before it is answered with a 503.")
@click.option("--session-idle", type=click.FloatRange(min=0, min_open=True), default=900.0, show_default=True,
              metavar="SECONDS", help="Close a session after this long without a request.")
@click.option("--max-sessions", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="The most sessions open at once (a new one beyond is refused with a 429).")
@click.option("--max-session-messages", type=click.IntRange(min=1), default=1_000, show_default=True,
              help="The most messages one session holds (one more is refused with a 413).")
@click.option("--max-session-bytes", type=click.IntRange(min=1), default=1 << 20, show_default=True,
              metavar="BYTES", help="The most message-body bytes one session holds (beyond: a 413).")
@click.option("--read-timeout", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              metavar="SECONDS", help="How long a request's headers and body may take to arrive (then a 408).")
@click.option("--max-connections", type=click.IntRange(min=1), default=1_000, show_default=True,
              help="The most connections open at once (one more is answered 503 and closed).")
@click.option("--on-unspecified", default="", metavar="SEVERITY=ACTION,...", callback=_on_unspecified,
              help="What a candidate reply that leaves a question open (a settled unspecified verdict) gets, "
                   "by the norm's severity: allow, escalate or block, e.g. low=allow,medium=escalate,"
                   "critical=block. A severity left out escalates.")
@click.option("--escalations", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Keep every escalated candidate, with its conversation and verdicts, in this SQLite file "
                   "(made if missing; GET /v1/escalations lists them).")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]),
              default="info", show_default=True)
@_edge
def serve(policies, host, port, watch, token_file, max_body, max_depth, time_budget, session_idle,
          max_sessions, max_session_messages, max_session_bytes, read_timeout, max_connections, on_unspecified,
          escalations, log_level) -> None:
    """Serve POLICY files over HTTP: a policy decision service for guardrails written in
    any language (docs/server.md; needs the `serve` extra).

    \b
    POST /v1/check                      a trace -> its report
    POST /v1/sessions                   open a conversation
    POST /v1/sessions/ID/messages       add a message -> the verdicts it settled
    POST /v1/sessions/ID/candidate      would this reply be allowed?
                                        (allow/regenerate/escalate/block)
    PATCH /v1/sessions/ID               change the trace's meta from the next message on
    GET|DELETE /v1/sessions/ID          pending obligations | close -> the final report
    GET /v1/escalations                 the escalated candidates kept (--escalations)
    GET /v1/policy, POST /v1/policy/reload, GET /health, /metrics, /openapi.json

    A candidate that leaves a question open is not allowed: it is escalated to the
    authorities who must answer (or allowed or blocked, by severity: --on-unspecified).

    A reload (--watch, or POST /v1/policy/reload, which needs --token-file) swaps the
    new policy in only if it loads without errors and keeps every norm being served
    (POST /v1/policy/reload?force=true drops norms on purpose); otherwise the old one
    keeps serving and the reason is shown by GET /v1/policy. Listening beyond loopback
    without --token-file is warned about at start.
    """
    from .escalations.queue import EscalationQueue, QueueError
    from .server import ServerConfig, run

    token = None
    if token_file is not None:
        token = _read_token(token_file)
    if escalations is not None:
        try:  # opened here too, so that a file that cannot serve stops the start with its reason
            EscalationQueue(escalations).close()
        except QueueError as error:
            raise click.BadParameter(str(error), param_hint="--escalations") from None
    config = ServerConfig(
        tuple(policies), max_body_bytes=max_body, max_depth=max_depth, time_budget=time_budget,
        session_idle_timeout=session_idle, max_sessions=max_sessions, token=token, watch=watch,
        max_session_messages=max_session_messages, max_session_bytes=max_session_bytes,
        read_timeout=read_timeout, max_connections=max_connections, on_unspecified=on_unspecified,
        escalations=escalations)
    run(config, host, port, log_level)


@main.command()
@click.argument("policies", nargs=-1, required=True, metavar="POLICY...")
@_traces_option
@click.option("--ledger", required=True, type=click.Path(dir_okay=False), metavar="FILE",
              help="The decision ledger to append to (made if missing).")
@click.option("--queue", type=click.Path(dir_okay=False), default=None, metavar="DB",
              help="An escalation queue (SQLite, from charter serve) whose open escalations are shown too.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address to listen on (anyone who can reach it can decide: keep it on loopback).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="The port to listen on.")
@_edge
def review(policies, trace_paths, ledger, queue, host, port) -> None:
    """Answer the open questions of POLICY files in the browser: pick who you are (an
    authority of the chain of command and your name), read the questions waiting for
    you with their evidence conversations, choose an outcome, see the amendment and
    its impact on the corpus, confirm. Confirming appends to the ledger and writes the
    amended policy. Needs the `serve` extra; see docs/review-app.md.
    """
    from .escalations import QueueError
    from .review_app import LOOPBACK, Workspace, run

    workspace = Workspace(tuple(policies), tuple(trace_paths), ledger, queue)
    try:
        workspace.refresh()
    except QueueError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    if host not in LOOPBACK:
        click.echo(f"warning: listening on {host}: anyone who can reach it can decide as any authority", err=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"charter review: {len(workspace.questions)} open questions over {workspace.traces} traces; "
               f"open http://{shown}:{port}/ (Ctrl-C stops)", err=True)
    run(workspace, host, port)


def _read_token(path: str) -> str:
    try:
        token = open(path, encoding="utf-8").read().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise click.BadParameter(f"cannot read {path}: {error}", param_hint="--token-file") from None
    if not token:
        raise click.BadParameter(f"{path} is empty", param_hint="--token-file")
    return token


@main.command()
@click.argument("question", metavar="QUESTION_ID")
@click.argument("policies", nargs=-1, required=True, metavar="POLICY...")
@_traces_option
@click.option("--as", "authority", required=True, metavar="AUTHORITY", help="The authority deciding.")
@click.option("--by", "person", required=True, metavar="PERSON", help="Who decides, by name.")
@click.option("--permit", is_flag=True, help="Outcome: the case is allowed.")
@click.option("--forbid", metavar="BEHAVIOUR", help='Outcome: forbid a behaviour (Charter, e.g. \'assistant says "x"\').')
@click.option("--require", metavar="BEHAVIOUR", help="Outcome: require a behaviour.")
@click.option("--within", type=click.IntRange(1), metavar="N", help="With --require: within N replies.")
@click.option("--keep-open", metavar="REASON", help="Outcome: still open, with a clearer reason (and --escalate-to).")
@click.option("--escalate-to", metavar="AUTHORITY", help="With --keep-open: who must decide it now.")
@click.option("--needs-fact", metavar="NAME", help="Outcome: it needs a fact the traces do not carry.")
@click.option("--why", required=True, help="The rationale, in a sentence or two.")
@click.option("--ledger", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="The decision ledger [default: decisions.ledger beside the first POLICY].")
@_format_option
@_edge
def decide(question, policies, trace_paths, authority, person, permit, forbid, require, within, keep_open,
           escalate_to, needs_fact, why, ledger, input_format) -> None:
    """Record a decision on an open question (its ID from `charter gaps`) in the
    decision ledger, with the traces of CORPUS that raise it as evidence.

    Only the question's escalation target, or an authority above it in the chain of
    command, decides: a lower authority's entry is kept as a proposal. `charter amend`
    turns the ledger's decisions into policy text. Exit code 0 once recorded; 2 on an
    unknown question or authority, a behaviour that does not parse, or a policy error.
    """
    from .decisions.decide import decide as record, default_ledger, outcome_from
    from .decisions.report import ruling_line
    from .decisions.survey import survey

    try:
        outcome = outcome_from(permit, forbid, require, within, keep_open, escalate_to, needs_fact)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    ledger = ledger or default_ledger(list(policies))
    found = survey(policies, trace_paths, input_format)
    _echo_skipped_diagnostics(found.skipped)
    ruling = record(found, ledger, question, authority, person, outcome, why)
    click.echo(f"{ledger}: {ruling_line(ruling)}")


@main.command()
@click.argument("policies", nargs=-1, required=True, metavar="POLICY...")
@_traces_option
@click.option("--ledger", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="The decision ledger [default: decisions.ledger beside the first POLICY].")
@click.option("--dry-run", is_flag=True, help="Show the amendment and its impact; write nothing.")
@click.option("--diff", "show_patch", is_flag=True, help="Text: also print the amendment as a unified diff.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="The plan (and what was written) as text or as one JSON object.")
@_format_option
@_edge
def amend(policies, trace_paths, ledger, dry_run, show_patch, output_format, input_format) -> None:
    """Turn the ledger's decisions into policy text: each applied decision rewrites the
    open clause (or adds a norm that overrides it) in the deciding authority's layer,
    with inline tests built from its evidence traces.

    The amended files are laid out as `charter fmt` does, must load, pass every inline
    test and every property `charter test --prove` proved before; the verdicts they
    change on CORPUS are shown. If anything fails, nothing is written. Exit code 0 when
    written (or nothing to change, or --dry-run with no problem); 1 when the amendment
    has problems; 2 on a policy or ledger error.
    """
    from .decisions.amend import plan_amendment
    from .decisions.decide import default_ledger
    from .decisions.report import render_amendment

    amendment = plan_amendment(policies, ledger or default_ledger(list(policies)), trace_paths, input_format)
    written = amendment.write() if amendment.ok and not dry_run else []
    if output_format == "json":
        click.echo(json.dumps({**amendment.to_json(), "written": written}, indent=2, ensure_ascii=False))
    else:
        click.echo(render_amendment(amendment, bool(written)))
    if show_patch and output_format == "text":
        click.echo(amendment.patch(), nl=False)
    if amendment.problems or amendment.warnings:
        click.echo(render_diagnostics(amendment.problems + amendment.warnings, amendment.sources), err=True)
    if amendment.problems:
        sys.exit(EXIT_FAIL)


def _echo_skipped_diagnostics(skipped) -> None:
    for diagnostic in skipped:
        click.echo(f"{diagnostic.span}: {diagnostic.message}", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
