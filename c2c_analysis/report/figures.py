"""The report templates' figures, and a renderer that draws some of them on a second core.

Each chart function takes plain data (small tables, labels) and returns the figure as
``<figure>`` HTML with its alt text (:func:`~c2c_analysis.report.page.figure_html`): the
run chart of an outcome (:func:`run_chart`), the gap chart of an outcome
(:func:`gap_chart`) and the turn-the-curve chart of a strategy (:func:`strategy_chart`).
The templates share them, so every report draws the same chart the same way.

:class:`FigureRenderer` calls them. A report's figures (nineteen in the sample's Tacoma
report) were about half of its own work, all of it on one core while the machine's second
core idled. For a single report (not a batch, whose workers already fill the cores) the
runner starts one helper process (:func:`make_helper`) on that core while the kernel
starts (after the rows' suppression, :mod:`c2c_analysis.report.prepared`); the helper
imports matplotlib and the charts' modules meanwhile, and the notebook's renderer hands it
a figure whenever it is free, drawing the others itself. The HTML is the same either way
(the helper gets the notebook's matplotlib settings, and a figure gives the same bytes
wherever it is drawn), the figures keep their order, and anything that goes wrong in the
helper (an error, a crash, a stopped process, a job it cannot load) makes the notebook
draw that figure itself, so an error is raised in the notebook (when the figure is waited
for: at ``str()`` or :func:`~c2c_analysis.report.page.figure_grid`). The helper's warnings
are raised again in the notebook as from the line that raised them, under the notebook's
filters. A helper of another installation (package or matplotlib version) is not used.
Exploring in JupyterLab, everything is drawn in the notebook.

The helper belongs to the run: it listens on a Unix socket in a private folder, accepts
one connection that proves the run's key (``multiprocessing.connection``'s
challenge), and is stopped by the runner when the run ends, however the kernel ended.

Why not ``concurrent.futures``: it cannot say whether its one worker is free before it
is handed work (drawing here is the better choice when it is not), its workers would be
the kernel's children (started after the kernel's imports, too late for the first
figures, and copying a kernel's threads if forked), and they would not see the notebook's
matplotlib settings.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import pickle
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from c2c_analysis.report import page

__all__ = [
    "ACCEPT_TIMEOUT",
    "HELPER_ENVIRONMENT",
    "WAIT",
    "FigureRenderer",
    "Helper",
    "PendingFigure",
    "gap_chart",
    "run_chart",
    "serve",
    "make_helper",
    "strategy_chart",
]

#: The kernel's environment variable that names the run's helper (its socket and key, JSON).
HELPER_ENVIRONMENT = "C2C_FIGURE_HELPER"
#: The helper's environment variable with the run's key (never on its command line).
_KEY_ENVIRONMENT = "C2C_FIGURE_KEY"
#: Seconds a notebook waits for the helper's figure before it draws the figure itself.
WAIT = 120.0
#: Seconds the helper waits for its kernel to connect (a notebook connects as it starts).
ACCEPT_TIMEOUT = 300.0
#: Modules the charts import when first called (the run chart's bands need the trends
#: package, and with it statsmodels): the helper imports them before it says "ready".
_CHART_MODULES = (
    "c2c_analysis.plotting.spc",
    "c2c_analysis.plotting.equity",
    "c2c_analysis.plotting.trends",
    "c2c_analysis.trends",
)


# --- the charts ---------------------------------------------------------------------------


def run_chart(runs: pd.DataFrame, signal: Mapping[str, Any], *, label: str, better: str) -> str:
    """The run chart of one outcome for all students, as HTML.

    Parameters
    ----------
    runs : DataFrame
        The outcome's rows of an :func:`~c2c_analysis.spc_table` run chart (``chart="run"``).
    signal : mapping
        The outcome's row of that result's summary (``runs_signal``, ``longest_run``,
        ``n_crossings``).
    label : str
        The outcome in words.
    better : str
        ``"higher"`` or ``"lower"`` (:func:`~c2c_analysis.better_direction`).
    """
    from c2c_analysis import plotting

    outcome = runs["outcome"].iloc[0]
    fig, ax = _figure((3.8, 2.6))
    plotting.plot_spc_grid(
        runs, by=["outcome"], proportion=True, bands=True, titles={outcome: label}, ncols=1,
        better={outcome: better}, ax=ax,
    )  # fmt: skip
    said = "signals a shift" if signal["runs_signal"] else "shows no signal beyond chance"
    first, last = runs["y"].iloc[[0, -1]]
    alt = (
        f"Run chart of {label.lower()}, all students: {100 * first:.1f}% to {100 * last:.1f}%; "
        f"the run chart {said} (longest run {int(signal['longest_run'])}, "
        f"{int(signal['n_crossings'])} median crossings)."
    )
    return page.figure_html(fig, alt=alt)


def gap_chart(lines: pd.DataFrame, *, label: str, reference: str, dimension: str) -> str:
    """The gap chart of one outcome (each group against ``reference``, by year), as HTML.

    Parameters
    ----------
    lines : DataFrame
        The outcome's rows of :func:`~c2c_analysis.gaps`.
    label : str
        The outcome in words.
    reference : str
        The reference group.
    dimension : str
        The groups' dimension in words ("race/ethnicity").
    """
    from c2c_analysis import plotting

    fig, ax = _figure((6.4, 3.4))
    plotting.plot_gaps(lines, ax=ax)
    shown = lines.loc[lines["gap_pp"].notna(), "year"]
    last = lines[lines["year"] == shown.max()].dropna(subset=["gap_pp"])
    last = last[~last["group"].isin(plotting.CATCH_ALL_GROUPS)]
    alt = (
        f"Gaps in {label.lower()} between each {dimension} group and {reference} students, by year"
    )
    if len(last):
        worst = last.loc[last["gap_pp"].idxmin()]
        alt += (
            f"; in {int(worst['year'])} the largest is {worst['group']} students, "
            f"{worst['gap_pp']:+.1f} points"
        )
    return page.figure_html(fig, alt=alt + ".")


def strategy_chart(projection: pd.DataFrame, row: Mapping[str, Any], *, label: str) -> str:
    """The turn-the-curve chart of one strategy and group (baseline, projection with its
    interval, actual), as HTML.

    Parameters
    ----------
    projection : DataFrame
        The row's projection (``PortfolioResult.projections[(strategy, group)]``).
    row : mapping
        The row of the scorecard (``strategy``, ``group``, ``baseline_first``,
        ``baseline_last``, ``actual``, ``last_period``, ``projected``, ``pi_lower``,
        ``pi_upper``).
    label : str
        The strategy's outcome in words.
    """
    from c2c_analysis.plotting import plot_turn_the_curve

    fig, ax = _figure((4.6, 3.2))
    plot_turn_the_curve(projection, title=f"{row['strategy']}: {row['group']}", ax=ax)
    ax.set_title(f"{row['strategy']}: {row['group']}", fontsize="medium")
    alt = (
        f"Turn-the-curve chart of {row['strategy']} for {row['group']} students, "
        f"{label.lower()}: baseline {int(row['baseline_first'])}-{int(row['baseline_last'])}, "
        f"actual {100 * row['actual']:.1f}% in {int(row['last_period'])} against a projected "
        f"{100 * row['projected']:.1f}% (95% prediction interval {100 * row['pi_lower']:.1f}% "
        f"to {100 * row['pi_upper']:.1f}%)."
    )
    return page.figure_html(fig, alt=alt)


def _figure(size: tuple[float, float]) -> tuple[Any, Any]:
    """A figure and its axes outside pyplot: written to SVG, never shown, so no backend's
    figure manager is made for it (the notebook's inline backend sets one up for every
    pyplot figure, and the first costs a tenth of a second)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    return fig, fig.subplots()


# --- the renderer (the notebook's side) -----------------------------------------------------


class PendingFigure:
    """A figure a :class:`FigureRenderer` is drawing; ``str()`` is its HTML (waiting for it)."""

    def __init__(self, renderer: FigureRenderer, job: tuple[Any, ...], html: str | None = None):
        self._renderer = renderer
        self._job = job
        self._html = html

    def __str__(self) -> str:
        if self._html is None:
            self._renderer._wait(self)
        return str(self._html)

    def __repr__(self) -> str:
        state = "drawn" if self._html is not None else "being drawn"
        return f"<PendingFigure {getattr(self._job[0], '__name__', 'figure')}: {state}>"


class FigureRenderer:
    """Draws figures (functions that return HTML) here, and in the run's helper process
    when the runner started one.

    Parameters
    ----------
    helper : bool, optional
        Use the run's helper. Default: when the runner started one (the kernel's
        :data:`HELPER_ENVIRONMENT` names it: a single report on a machine with two cores or
        more); False draws everything in the notebook, as exploring in JupyterLab does.

    Examples
    --------
    >>> renderer = FigureRenderer(helper=False)
    >>> str(renderer.submit(str.upper, "<figure>"))
    '<FIGURE>'
    >>> renderer.close()
    """

    def __init__(self, *, helper: bool | None = None) -> None:
        self._connection: Any = None
        self._ready = False
        self._busy: PendingFigure | None = None
        self._sent_settings: dict[str, Any] | None = None
        #: How many figures the helper drew, and how many were drawn here.
        self.helped = 0
        self.drawn_here = 0
        self._told = os.environ.get(HELPER_ENVIRONMENT) if helper is not False else None
        self._connect()

    def _connect(self) -> None:
        """Connect to the run's helper; until it listens (it starts with the kernel), each
        submit tries again."""
        from multiprocessing import AuthenticationError
        from multiprocessing.connection import Client

        told, self._told = self._told, None
        if not told:
            return
        try:
            spec = json.loads(told)
            address, key = str(spec["address"]), bytes.fromhex(spec["key"])
        except (ValueError, KeyError, TypeError):
            return  # not the runner's: everything is drawn here
        try:
            self._connection = Client(address, family="AF_UNIX", authkey=key)
        except (FileNotFoundError, ConnectionRefusedError):
            self._told = told  # not listening yet
        except (OSError, EOFError, AuthenticationError):
            self._connection = None

    def _alive(self) -> bool:
        return self._connection is not None

    def _stop_helper(self) -> None:
        connection, self._connection = self._connection, None
        self._ready = False
        if connection is not None:
            with contextlib.suppress(OSError, ValueError):
                connection.send(None)
            with contextlib.suppress(OSError):
                connection.close()

    def _receive(self, *, block: bool) -> None:
        """Take what the helper sent: its "ready", or the figure it drew (waiting for that
        when ``block``)."""
        try:
            while self._connection is not None and self._connection.poll(WAIT if block else 0):
                message = self._connection.recv()
                if isinstance(message, tuple) and message[0] == "ready":
                    if message[1] != _identity():  # another installation: not used
                        self._stop_helper()
                        return
                    self._ready = True
                    continue
                self._finish(message)
                return
        except (EOFError, OSError, pickle.UnpicklingError):  # the helper ended or broke
            self._lost()
            return
        if block:  # a helper that draws nothing for WAIT seconds is not waited on again
            self._lost()

    def _finish(self, message: tuple[str, Any, list[tuple[str, str, str, str, int]]]) -> None:
        pending, self._busy = self._busy, None
        status, value, said = message
        if pending is None:
            return
        if status != "ok":  # drawn again here, so that the error is raised in the notebook
            pending._html = self._here(pending._job)
            return
        for category, module, text, filename, lineno in said:  # said here, where they were
            _warn_at(text, _category(category, module), filename, lineno)
        pending._html = str(value)
        self.helped += 1

    def _lost(self) -> None:
        pending, self._busy = self._busy, None
        self._stop_helper()
        if pending is not None:
            pending._html = self._here(pending._job)

    def _here(self, job: tuple[Any, ...]) -> str:
        self.drawn_here += 1
        return str(_draw(job))

    def _wait(self, pending: PendingFigure) -> None:
        if self._busy is pending and self._alive():
            self._receive(block=True)
        if pending._html is None:  # not the helper's (any more): drawn here
            pending._html = self._here(pending._job)

    def submit(self, function: Callable[..., str], /, *args: Any, **kwargs: Any) -> PendingFigure:
        """Draw ``function(*args, **kwargs)`` (a module-level function returning HTML, such
        as :func:`run_chart`): in the helper when it is free, else here and now."""
        job = (function, args, kwargs)
        if getattr(function, "__module__", None) == "__main__":  # the notebook's own code
            return PendingFigure(self, job, self._here(job))
        if self._told:
            self._connect()
        if self._alive():
            self._receive(block=False)
        if self._alive() and self._ready and self._busy is None:
            pending = PendingFigure(self, job)
            settings = _settings()
            try:
                if settings != self._sent_settings:
                    self._connection.send(("settings", settings))
                    self._sent_settings = settings
                self._connection.send(("draw", job))
            except (TypeError, AttributeError, pickle.PicklingError):
                # A job that cannot be pickled (a lambda, a nested function): nothing was
                # sent (a message is pickled whole before it is written); drawn here.
                pending._html = self._here(job)
                return pending
            except (OSError, ValueError):  # the helper is gone: everything is drawn here
                self._stop_helper()
                pending._html = self._here(job)
                return pending
            self._busy = pending
            return pending
        return PendingFigure(self, job, self._here(job))

    def close(self) -> None:
        """Stop using the helper (the figure it is drawing is finished first)."""
        if self._busy is not None:
            str(self._busy)
        self._stop_helper()


def _draw(job: tuple[Any, ...]) -> str:
    function, args, kwargs = job
    return function(*args, **kwargs)


def _settings() -> dict[str, Any]:
    """matplotlib's settings where the notebook changed them (the theme, the SVG options)."""
    import matplotlib as mpl

    defaults = mpl.rcParamsDefault
    return {
        key: value
        for key, value in mpl.rcParams.items()
        if key != "backend" and (key not in defaults or defaults[key] != value)
    }


def _apply_settings(settings: Mapping[str, Any]) -> bool:
    """matplotlib's defaults with ``settings`` over them; False when one cannot be set even
    with seaborn imported (whose colour maps a seaborn style may name)."""
    import matplotlib as mpl

    rc: Any = mpl.rcParams  # typed by its keys, which a mapping from the notebook is not
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mpl.rcdefaults()
        try:
            rc.update(settings)
        except (ValueError, KeyError, TypeError):
            import seaborn  # noqa: F401 - registers its colour maps

            try:
                rc.update(settings)
            except (ValueError, KeyError, TypeError):
                return False
    return True


def _warn_at(text: str, category: type[Warning], filename: str, lineno: int) -> None:
    """Warn as if from ``filename:lineno`` (the same code the notebook would have run): the
    notebook's filters, and their once-per-place memory, decide as for its own warnings."""
    module = next(
        (
            m
            for m in list(sys.modules.values())
            if os.path.abspath(str(getattr(m, "__file__", None) or "")) == filename
        ),
        None,
    )
    registry = module.__dict__.setdefault("__warningregistry__", {}) if module else None
    name = module.__name__ if module else os.path.splitext(os.path.basename(filename))[0]
    warnings.warn_explicit(text, category, filename, lineno, module=name, registry=registry)


def _category(name: str, module: str) -> type[Warning]:
    import importlib

    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return UserWarning
    return found if isinstance(found, type) and issubclass(found, Warning) else UserWarning


# --- the helper (the runner's side) --------------------------------------------------------


class Helper:
    """A run's helper process: ``environment`` is what the kernel's environment gets,
    :meth:`launch` starts the process (the runner may wait until other start-up work is
    done: the kernel connects whenever it listens), :meth:`stop` ends it (the runner calls
    it when the run ends, whatever happened)."""

    def __init__(self, folder: str, address: str, key: str) -> None:
        self.folder, self.address, self.key = folder, address, key
        self.process: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._stopped = False

    @property
    def environment(self) -> dict[str, str]:
        return {HELPER_ENVIRONMENT: json.dumps({"address": self.address, "key": self.key})}

    def launch(self) -> None:
        """Start the helper process (once; not after :meth:`stop`)."""
        with self._lock:
            if self._stopped or self.process is not None:
                return
            with contextlib.suppress(OSError):
                self.process = subprocess.Popen(
                    [sys.executable, "-P", "-c", _HELPER_CODE, self.address],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env={**os.environ, _KEY_ENVIRONMENT: self.key},
                    cwd=self.folder,
                    close_fds=True,
                )

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            process = self.process
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


def make_helper() -> Helper | None:
    """A run's helper, not yet launched (:meth:`Helper.launch`); None where it cannot help:
    one core, or no Unix sockets."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (cores or 1) < 2 or os.name != "posix":
        return None
    folder = tempfile.mkdtemp(prefix="c2c-")  # mode 0700; short, as socket paths must be
    return Helper(folder, os.path.join(folder, "figures"), secrets.token_hex(32))


def serve(address: str, key: str) -> None:
    """The helper process: listen at ``address`` for the kernel (with ``key``), import the
    plotting libraries meanwhile, then draw the jobs it is sent until the connection ends
    or says stop."""
    from multiprocessing import AuthenticationError
    from multiprocessing.connection import Listener

    listener = Listener(address, family="AF_UNIX", authkey=bytes.fromhex(key))
    accepted: list[Any] = []

    def accept() -> None:
        while not accepted:  # a connection without the run's key is refused, and waited on
            try:
                accepted.append(listener.accept())
            except (AuthenticationError, EOFError, ConnectionError):
                continue
            except OSError:
                return
        # One notebook only: a second renderer's connection is refused at once (and draws
        # its figures itself) instead of waiting for a challenge that would never come.
        listener.close()

    waiting = threading.Thread(target=accept, daemon=True)
    waiting.start()
    import matplotlib

    matplotlib.use("agg")  # never the notebook's inline backend: nothing is shown here
    import importlib

    import matplotlib.pyplot as plt

    from c2c_analysis.plotting import figure_svg

    for module in _CHART_MODULES:  # what the charts import on first use, imported now
        importlib.import_module(module)
    # One throwaway figure loads the fonts and fills matplotlib's caches before "ready":
    # the first figure the notebook hands over then takes no longer than the others.
    fig, ax = _figure((3, 2))
    ax.plot([2019, 2020], [0.5, 0.6], marker="o", label="All students")
    ax.set_title("Ready")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))
    figure_svg(fig)
    gc.freeze()  # the imports' objects live as long as the helper: collections skip them
    waiting.join(timeout=ACCEPT_TIMEOUT)  # a notebook that never connects leaves no process
    if not accepted:
        _remove_socket(address)
        return
    connection = accepted[0]
    broken = False
    try:
        connection.send(("ready", _identity()))
        while True:
            try:
                message = connection.recv()
            except (EOFError, OSError):
                raise
            except Exception as exc:  # a job naming what this process cannot load
                connection.send(("error", f"{type(exc).__name__}: {exc}", []))
                continue
            if message is None:
                return
            kind, payload = message
            if kind == "settings":  # the defaults with the notebook's changes
                broken = not _apply_settings(payload)
                continue
            if broken:  # settings it cannot take: the notebook draws the figure
                connection.send(("error", "the notebook's matplotlib settings", []))
                continue
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")  # the notebook's filters decide what shows
                try:
                    result: tuple[str, Any] = ("ok", _draw(payload))
                except BaseException as exc:  # the notebook draws it again and raises there
                    result = ("error", f"{type(exc).__name__}: {exc}")
                finally:
                    plt.close("all")
            said = [_said(w) for w in caught] if result[0] == "ok" else []
            connection.send((result[0], result[1], said))
    except (EOFError, OSError, KeyboardInterrupt):  # the kernel ended
        return
    finally:
        connection.close()
        _remove_socket(address)


def _identity() -> dict[str, str]:
    """What the helper draws with: a notebook uses it only when its own are the same."""
    import matplotlib

    import c2c_analysis

    return {
        "c2c_analysis": f"{c2c_analysis.__version__} {os.path.dirname(c2c_analysis.__file__)}",
        "matplotlib": matplotlib.__version__,
        "python": sys.version,
    }


def _said(warning: warnings.WarningMessage) -> tuple[str, str, str, str, int]:
    category = warning.category
    return (category.__name__, category.__module__, str(warning.message),
            str(warning.filename), int(warning.lineno))  # fmt: skip


def _remove_socket(address: str) -> None:
    """The socket and its folder (made for it alone), which a killed runner cannot remove."""
    with contextlib.suppress(OSError):
        os.unlink(address)
    with contextlib.suppress(OSError):
        os.rmdir(os.path.dirname(address))


def helper_main() -> None:
    """The helper's entry point (``python -P -c``, the key in its environment)."""
    serve(sys.argv[1], os.environ.pop(_KEY_ENVIRONMENT))


#: The helper's command after ``python -P -c``: its ``__main__`` is empty, so a job naming
#: something of a notebook's ``__main__`` fails to load there (and is drawn in the notebook)
#: instead of finding a namesake; ``-P`` keeps the working folder off ``sys.path``.
_HELPER_CODE = "from c2c_analysis.report.figures import helper_main; helper_main()"
