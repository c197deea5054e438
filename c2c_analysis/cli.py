"""The ``c2c`` command: validate outcome files and run the sample report::

    c2c --version
    c2c validate FILE [--column-map THEIRS=OURS ...] [--sheet NAME] [--recipe R]
                 [--problems FILE]
    c2c demo                     validate the bundled sample and summarize each partnership
    c2c samples                  list the bundled sample data sets
    c2c report PARTNERSHIP [--data FILE] [--portfolio FILE] [--out DIR] [--min-n N]
               [--min-cell N] [--top-bottom on|off|FRACTION] [--notebook NAME] [--timeout S]
    c2c batch [--data FILE] [--portfolio FILE] [--partnerships ...] [--workers N] [--out DIR]
              [--min-n N] [--min-cell N] [--top-bottom ...] [--skip-unchanged]
              [--scheduler ADDRESS|local:N]

Exit codes: 0 success, 1 invalid data or a failed report, 2 a usage error (an unknown or
unusable option, a missing file, a partnership not in the data, an --out that is a file or
cannot be written); see c2c --help.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import pandas as pd

from c2c_analysis import __version__
from c2c_analysis._defaults import DEFAULT_MIN_CELL, DEFAULT_MIN_N, DEFAULT_TOP_BOTTOM
from c2c_analysis.datasets import list_samples, sample_path
from c2c_analysis.io.outcomes import read_outcomes
from c2c_analysis.overview import outcome_overview
from c2c_analysis.validation import C2CDataWarning, DataValidationError

__all__ = ["main"]


_EXIT_CODES = """exit codes:
  0  success: every report succeeded (or was skipped, unchanged)
  1  invalid data, or a report failed (its status.json and last_failure.json say why)
  2  a usage error: an unknown or unusable option, a missing file, a partnership that is
     not in the data, an --out that is a file or cannot be written (one line on standard
     error, nothing run)"""


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line (exit code 2)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def _whole(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number (0 or more), got {text!r}")
    return value


def _top_bottom(text: str) -> bool | float:
    word = text.strip().lower()
    if word in ("on", "yes", "true"):
        return True
    if word in ("off", "no", "false", "0"):
        return False
    try:
        value = float(word)
    except ValueError:
        value = -1.0
    if not 0 < value <= 0.5:
        raise argparse.ArgumentTypeError(
            f"expected on, off or a fraction in (0, 0.5] such as 0.05, got {text!r}"
        )
    return value


def _thresholds_text() -> str:
    sizes = sorted(DEFAULT_TOP_BOTTOM)
    parts = []
    for size, after in zip(sizes, [*sizes[1:], None], strict=True):
        span = f"{size}-{after - 1}" if after else f"{size}+"
        parts.append(f"{100 * DEFAULT_TOP_BOTTOM[size]:g}%% for {span}")
    return ", ".join(parts)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="c2c",
        description="Cradle-to-career outcome analysis.",
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"c2c_analysis {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_validate(commands)
    commands.add_parser(
        "demo", help="validate the bundled sample data and summarize each partnership"
    )
    commands.add_parser("samples", help="list the bundled sample data sets")
    _add_audit(commands)
    report = commands.add_parser("report", help="run the report notebook for one partnership")
    report.add_argument(
        "partnership", help="the partnership's slug as the data spell it, e.g. tacoma"
    )
    batch = commands.add_parser("batch", help="run the report for many partnerships")
    batch.add_argument("--partnerships", nargs="+", help="default: every partnership in the data")
    batch.add_argument(
        "--workers", type=_positive_int, default=2, help="reports run at once (default: 2)"
    )
    batch.add_argument(
        "--skip-unchanged", action="store_true", help="skip reports whose inputs did not change"
    )
    batch.add_argument(
        "--scheduler",
        metavar="ADDRESS|local:N",
        help='run the reports on Dask (pip install "c2c_analysis[dask]"): a scheduler\'s '
        "address (tcp://host:8786; workers must share this file system), or local:N for a "
        "local cluster of N workers; default: --workers threads",
    )
    for sub in (report, batch):
        _add_run_options(sub)
    return parser


def _add_validate(commands: Any) -> None:
    validate = commands.add_parser(
        "validate", help="check an outcome file and report every problem"
    )
    validate.add_argument("file", help="CSV, Parquet or Excel file in the canonical layout")
    validate.add_argument(
        "--column-map",
        nargs="+",
        default=[],
        metavar="THEIRS=OURS",
        help="map a column of the file to a canonical column, e.g. 'Cohort Count=denominator'",
    )
    validate.add_argument("--sheet", help="Excel sheet to read (default: the first)")
    validate.add_argument("--recipe", help="reading recipe: a YAML file or a shipped recipe's name")
    validate.add_argument("--problems", metavar="FILE", help="write every problem to FILE (CSV)")
    validate.add_argument(
        "--rates-in-percent",
        choices=("yes", "no"),
        default=None,
        help="the rate columns are percents (yes) or proportions (no); default: decided per "
        "column from the values, and a mix is an error",
    )


def _add_audit(commands: Any) -> None:
    audit = commands.add_parser(
        "audit", help="check that nothing withheld in a report folder can be worked out"
    )
    audit.add_argument(
        "reports_dir",
        help=(
            "a report folder, read at any depth: *.csv and *.xlsx (tables/), *.json "
            "(results.json), the executed *.ipynb's HTML table outputs and *.html pages' "
            "tables (names starting with '.' skipped)"
        ),
    )
    audit.add_argument("--min-n", type=int, default=10, help="smallest group published")


def _add_run_options(sub: argparse.ArgumentParser) -> None:
    """The options ``report`` and ``batch`` share."""
    sub.add_argument(
        "--data",
        help="outcome table, CSV, Parquet or Excel (default: the bundled sample); from a "
        "CSV or Parquet file only the partnerships' rows are read",
    )
    sub.add_argument(
        "--portfolio", help="strategy portfolio YAML/CSV (default: the bundled sample)"
    )
    sub.add_argument("--out", default="reports", help="output folder (default: reports)")
    sub.add_argument(
        "--min-n",
        type=_positive_int,
        default=DEFAULT_MIN_N,
        help=f"smallest group of students published (default: {DEFAULT_MIN_N}, the most "
        "common state rule: NCES 2011-603, Washington OSPI, EDFacts)",
    )
    sub.add_argument(
        "--min-cell",
        type=_whole,
        default=DEFAULT_MIN_CELL,
        metavar="N",
        help="smallest number of students who met, or did not meet, an outcome published "
        f"exactly; fewer publish a range (default: {DEFAULT_MIN_CELL}, the 'fewer than 5' "
        "masking of many states, e.g. Texas TEA; 0: off)",
    )
    sub.add_argument(
        "--top-bottom",
        type=_top_bottom,
        default=True,
        metavar="on|off|FRACTION",
        help="publish rates near 0%% and 100%% as ranges (top/bottom coding, NCES "
        "2011-603's reporting rules, OSPI's '>95%%'): on (default) uses thresholds by group "
        f"size ({_thresholds_text()}), off turns it off, a fraction such as 0.05 sets one",
    )
    sub.add_argument(
        "--notebook", default="partnership_report", help="template name or .ipynb path"
    )
    sub.add_argument("--timeout", type=_seconds, default=600, help="seconds allowed per cell")
    sub.add_argument(
        "--wait",
        type=_seconds,
        default=None,
        metavar="S",
        help="seconds to wait while another c2c run writes to --out (default: until it ends)",
    )


def _column_map(pairs: Sequence[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        theirs, sep, ours = pair.rpartition("=")
        if not sep or not theirs:
            raise SystemExit(f"c2c: --column-map expects THEIRS=OURS, got {pair!r}")
        mapping[theirs] = ours
    return mapping


def _show_warnings(caught: list[warnings.WarningMessage]) -> None:
    for item in caught:
        if issubclass(item.category, C2CDataWarning):
            print(f"warning: {item.message}", file=sys.stderr)


def _validate(args: argparse.Namespace) -> int:
    try:
        return _validate_checked(args)
    except BrokenPipeError:  # main() ends quietly when the reader closes the pipe
        raise
    except OSError as error:  # a folder given as the file, --problems unwritable, ...
        reason = error.strerror or str(error)
        where = error.filename or args.file
        print(f"c2c: {where}: {reason}" if error.strerror else f"c2c: {error}", file=sys.stderr)
        return 2


def _validate_checked(args: argparse.Namespace) -> int:
    # The file is validated in chunks: problems go to --problems as they are found and
    # only the first stay in memory, so a large file needs far less memory than its table.
    from c2c_analysis.io.outcomes import validate_file

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", C2CDataWarning)
        try:
            checked = validate_file(
                args.file,
                column_map=_column_map(args.column_map),
                sheet=args.sheet,
                recipe=args.recipe,
                rates_in_percent=None
                if args.rates_in_percent is None
                else args.rates_in_percent == "yes",
                problems=args.problems,
            )
        except DataValidationError as error:  # the file or recipe could not be read
            _show_warnings(caught)
            print(f"{args.file}: INVALID\n{error}")
            if args.problems:
                count = error.write_problems(args.problems)
                print(f"{count} problem(s) written to {args.problems}")
            return 1
        if checked.error is not None:
            _show_warnings(caught)
            print(f"{args.file}: INVALID\n{checked.error}")
            if args.problems:
                print(f"{checked.count} problem(s) written to {args.problems}")
            return 1
    _show_warnings(caught)
    summary = checked.summary
    time = summary["time"]
    print(
        f"{args.file}: valid: {summary['rows']} rows, "
        f"{len(summary['partnerships'])} partnership(s), "
        f"{len(summary['outcomes'])} outcome(s), "
        f"{time} {summary['first']} to {summary['last']}, "
        f"{summary['suppressed']} suppressed"
        + (f" (canonical rows read through recipe {args.recipe})" if args.recipe else "")
    )
    return 0


def _demo() -> int:
    table = read_outcomes(sample_path("outcomes"))
    overview = outcome_overview(table)
    print(
        f"c2c_analysis {__version__}: bundled sample data "
        f"({sample_path('outcomes').name}), {len(table)} rows, valid."
    )
    print("Synthetic partnerships; Tacoma's graduation series is modelled on published figures.\n")
    columns = [
        "label",
        "first_year",
        "last_year",
        "missing_years",
        "latest_rate",
        "latest_denominator",
        "change_pp",
        "n_suppressed",
        "n_small",
    ]
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        for partnership, frame in overview.groupby("partnership", sort=True):
            shown = frame[columns].rename(columns={"label": "outcome"}).copy()
            shown["latest_rate"] = (100 * shown["latest_rate"]).round(1).astype(str) + "%"
            shown["change_pp"] = shown["change_pp"].map(lambda v: f"{v:+.1f}")
            print(f"== {partnership} ==")
            print(shown.to_string(index=False))
            print()
    print(
        "n_small: rows under 10 students; they are withheld (privacy.suppress) before anything "
        "is published."
    )
    return 0


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 500 else text[:497] + "..."


_T = TypeVar("_T")


def _report_errors(run: Callable[[], _T]) -> tuple[int, _T | None]:
    """Run a report command; a usage error, a busy or failing folder is one line on stderr."""
    from c2c_analysis.report import OutputFolderBusy

    try:
        return 0, run()
    except DataValidationError as error:
        if error.source == "partnerships":  # a partnership named that is not in the data
            print(f"c2c: {error}", file=sys.stderr)
            return 2, None
        print(f"c2c: invalid data: {error}", file=sys.stderr)
        return 1, None
    except (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError) as error:
        print(f"c2c: {_one_line(error)}", file=sys.stderr)
        return 2, None
    except OutputFolderBusy as error:
        print(f"c2c: {_one_line(error)}", file=sys.stderr)
        return 1, None
    except OSError as error:  # a full disk, a read-only folder: said once, no traceback
        from c2c_analysis.report.folders import describe_os_error

        print(f"c2c: {describe_os_error(error, 'the run')}", file=sys.stderr)
        return 1, None


def _report(args: argparse.Namespace) -> int:
    from c2c_analysis.report import run_report

    code, record = _report_errors(
        lambda: run_report(
            args.partnership,
            data=args.data,
            portfolio=args.portfolio,
            notebook=args.notebook,
            out_dir=args.out,
            timeout=args.timeout,
            min_n=args.min_n,
            min_cell=args.min_cell or None,
            top_bottom=args.top_bottom,
            lock_timeout=args.wait,
        )
    )
    if record is None:
        return code
    _print_record(record)
    return 0 if record.status == "succeeded" else 1


def _print_record(record) -> None:
    if record.skipped:
        print(f"{record.partnership}: skipped (unchanged since its last report) -> {record.output}")
    elif record.status == "succeeded":
        print(f"{record.partnership}: succeeded in {record.seconds:.1f} s -> {record.output}")
    else:
        where = f" (cell {record.failed_cell})" if record.failed_cell is not None else ""
        print(f"{record.partnership}: FAILED{where}: {record.error}")


def _batch(args: argparse.Namespace) -> int:
    from c2c_analysis.report import ReportFolderWarning, run_batch

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ReportFolderWarning)
        with _dask_client(args.scheduler) as client:
            if client is False:
                return 2
            code, records = _report_errors(
                lambda: run_batch(
                    args.partnerships,
                    data=args.data,
                    portfolio=args.portfolio,
                    workers=args.workers,
                    out_dir=args.out,
                    notebook=args.notebook,
                    timeout=args.timeout,
                    min_n=args.min_n,
                    min_cell=args.min_cell or None,
                    top_bottom=args.top_bottom,
                    skip_unchanged=args.skip_unchanged,
                    progress=True,
                    lock_timeout=args.wait,
                    client=client,
                )
            )
    if records is None:
        return code
    for record in records:
        _print_record(record)
    failed = sum(r.status != "succeeded" for r in records)
    skipped = sum(r.skipped for r in records)
    print(
        f"{len(records) - failed} of {len(records)} reports succeeded"
        + (f" ({skipped} skipped, unchanged)" if skipped else "")
        + f"; index: {args.out}/index.html"
    )
    problems = [w for w in caught if issubclass(w.category, ReportFolderWarning)]
    for problem in problems:
        print(f"c2c: {problem.message}", file=sys.stderr)
    return 1 if failed or problems else 0


@contextlib.contextmanager
def _dask_client(scheduler: str | None):
    """A Dask client for ``--scheduler`` (None without it; False after a usage error)."""
    if not scheduler:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print('c2c: --scheduler needs Dask: pip install "c2c_analysis[dask]"', file=sys.stderr)
        yield False
        return
    kind, _, count = scheduler.partition(":")
    try:
        if kind == "local":
            workers = _positive_int(count or "2")
            # One thread per worker; each report's kernel is a subprocess of its worker.
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = Client(cluster)
        else:
            cluster, client = None, Client(scheduler, timeout=30)
    except (argparse.ArgumentTypeError, OSError, ValueError, TimeoutError) as error:
        print(f"c2c: --scheduler {scheduler}: {_one_line(error)}", file=sys.stderr)
        yield False
        return
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``c2c`` command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _run(parser, args)
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("c2c: interrupted", file=sys.stderr)
        return 130


def _audit(args: argparse.Namespace) -> int:
    """Exit 0 when nothing withheld can be worked out, 1 when a cell or set is exposed."""
    from c2c_analysis.audit import audit_disclosure

    try:
        result = audit_disclosure(args.reports_dir, min_n=args.min_n)
    except FileNotFoundError as error:
        print(f"c2c: {error}", file=sys.stderr)
        return 2
    summary = result.summary.iloc[0]
    print(
        f"{args.reports_dir}: {'safe' if result.safe else 'EXPOSED'}: "
        f"{summary['withheld_values']} withheld values, {summary['exposed_values']} exposed; "
        f"{summary['sets']} isolated sets, {summary['exposed_sets']} exposed"
    )
    for row in result.exposed.itertuples(index=False):
        print(f"  {row.outcome} {row.time} {row.group}: {row.value} {row.reason}")
    if len(result.sets):
        for row in result.sets[result.sets["exposed"]].itertuples(index=False):
            print(f"  {row.outcome} {row.time} {row.cells}: {row.value} {row.reason}")
    return 0 if result.safe else 1


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "validate":
        return _validate(args)
    if args.command == "demo":
        return _demo()
    if args.command == "report":
        return _report(args)
    if args.command == "batch":
        return _batch(args)
    if args.command == "samples":
        print(list_samples().to_string(index=False))
        return 0
    if args.command == "audit":
        return _audit(args)
    parser.print_help()
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
