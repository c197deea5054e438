"""A partnership's rows read and suppressed once, ahead of its report's kernel.

:func:`~c2c_analysis.report.run_report` (a single report: a batch's workers fill the cores
already) starts :func:`prepare_partnership` in a thread of its own process as it starts
the kernel: the kernel's start and imports take a second or
two of one core, the suppression and its self-check about half a second of the other,
which is idle then. The kernel's :func:`~c2c_analysis.report.load_partnership` takes the
prepared result when it is exactly what it would compute itself, and otherwise (exploring
in JupyterLab, other parameters, another data file, another package version) computes it
as before.

"Exactly": the prepared file records the partnership, the SHA-256 of the data file's
bytes, the suppression parameters as ``load_partnership`` normalises them, and the versions
of this package, pandas and Python. It is a pickle (the tables come back with their dtypes
and index as they were), written atomically into the run's private input folder beside the
partnership's rows, and signed with a key made for the run (HMAC-SHA256): the kernel learns
the file and the key from its environment (:data:`ENVIRONMENT`), which only the runner sets
(through the kernel manager), and never unpickles bytes it cannot verify.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import pickle
import secrets
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "ENVIRONMENT",
    "Preparation",
    "load_prepared",
    "prepare_partnership",
    "preparation_key",
    "protect_rows",
    "start_preparation",
]

#: The kernel's environment variable that names the prepared file and its key (JSON).
ENVIRONMENT = "C2C_PREPARED"

#: How long a kernel waits for a preparation that is still running, in seconds; a wait
#: that runs out computes the suppression in the kernel.
WAIT = 30.0


def _normalised(min_n: Any, min_cell: Any, top_bottom: Any) -> dict[str, Any]:
    """The suppression settings as :func:`load_partnership` passes them to ``suppress``."""
    from c2c_analysis.report.runner import top_bottom_thresholds

    thresholds = top_bottom_thresholds(top_bottom)
    written: Any = thresholds
    if isinstance(thresholds, Mapping):  # keys as text, as JSON writes them
        written = {str(k): float(v) for k, v in sorted(thresholds.items())}
    return {
        "min_n": int(min_n),
        "min_cell": int(min_cell) if min_cell else None,
        "top_bottom": written,
    }


def protect_rows(rows: Any, *, min_n: Any, min_cell: Any, top_bottom: Any):
    """:func:`~c2c_analysis.privacy.suppress` of ``rows`` with a report's settings
    (``min_cell`` 0 or None: off; ``top_bottom`` as
    :func:`~c2c_analysis.report.runner.top_bottom_thresholds` reads it)."""
    from c2c_analysis.privacy import suppress
    from c2c_analysis.report.runner import top_bottom_thresholds

    return suppress(
        rows,
        min_n=min_n,
        min_cell=int(min_cell) if min_cell else None,
        top_bottom=top_bottom_thresholds(top_bottom),
    )


def read_rows(partnership: str, data_path: Any) -> tuple[Any, list[str], list[str]]:
    """The partnership's validated rows of ``data_path``, the reading notes and every
    partnership the file holds (the rows' index reset)."""
    from c2c_analysis.report.runner import read_partnership_rows

    rows, notes, known = read_partnership_rows(data_path or None, [partnership])
    rows = rows[rows["partnership"] == partnership].reset_index(drop=True)
    return rows, notes, known


def preparation_key(
    partnership: str, data_path: str | os.PathLike[str], *, min_n: Any, min_cell: Any,
    top_bottom: Any,
) -> str:  # fmt: skip
    """What a prepared result must have been made from to stand for a fresh one: the
    partnership, the data file's SHA-256, the normalised settings and the versions."""
    import pandas as pd

    import c2c_analysis

    digest = hashlib.sha256(Path(data_path).read_bytes()).hexdigest()
    return json.dumps(
        {
            "partnership": str(partnership),
            "data_sha256": digest,
            "settings": _normalised(min_n, min_cell, top_bottom),
            "versions": [c2c_analysis.__version__, pd.__version__, sys.version],
        },
        sort_keys=True,
    )


class Preparation:
    """A preparation the runner started: the file it writes, its key, and its thread.

    ``environment`` is what the kernel's environment gets (:data:`ENVIRONMENT`);
    :meth:`join` waits for the thread (the runner calls it before the private folder is
    removed).
    """

    def __init__(self, path: Path, thread: threading.Thread | None, secret: str) -> None:
        self.path = path
        self.thread = thread
        self.secret = secret

    @property
    def environment(self) -> dict[str, str]:
        return {ENVIRONMENT: json.dumps({"path": str(self.path), "key": self.secret})}

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()


def _pending(path: Path) -> Path:
    return path.with_name(path.name + ".pending")


def _sign(secret: str, payload: bytes) -> bytes:
    return hmac.new(bytes.fromhex(secret), payload, hashlib.sha256).digest()


def _framed(key: str, pickled: bytes) -> bytes:
    """The key (its length in 8 bytes, then UTF-8) before the pickle: a kernel compares
    the key before it unpickles anything (another version's classes may not load)."""
    encoded = key.encode("utf-8")
    return len(encoded).to_bytes(8, "big") + encoded + pickled


def prepare_partnership(
    partnership: str, data_path: str | os.PathLike[str], target: Path, secret: str, *,
    min_n: Any, min_cell: Any, top_bottom: Any,
) -> None:  # fmt: skip
    """Read and suppress the partnership's rows as :func:`load_partnership` would, and
    write the signed result to ``target`` (atomically). Any error leaves no file: the
    kernel then computes, and reports, it itself."""
    try:
        key = preparation_key(
            partnership, data_path, min_n=min_n, min_cell=min_cell, top_bottom=top_bottom
        )
        rows, notes, known = read_rows(partnership, data_path)
        if rows.empty:
            return
        result = protect_rows(rows, min_n=min_n, min_cell=min_cell, top_bottom=top_bottom)
        payload = _framed(key, pickle.dumps((rows, notes, known, result), protocol=5))
        temporary = target.with_name(target.name + ".tmp")
        with open(temporary, "wb") as handle:
            handle.write(_sign(secret, payload))
            handle.write(payload)
        os.replace(temporary, target)
    except Exception:  # the kernel computes it again and says what failed
        return
    finally:
        with contextlib.suppress(OSError):
            _pending(target).unlink()


def start_preparation(
    partnership: str, data_path: str | os.PathLike[str], folder: Path, *, min_n: Any,
    min_cell: Any, top_bottom: Any,
) -> Preparation:  # fmt: skip
    """Start :func:`prepare_partnership` in a thread, its file in ``folder`` (the run's
    private input folder)."""
    secret = secrets.token_hex(32)
    target = folder / f".{partnership}.prepared.pickle"
    _pending(target).touch()
    thread = threading.Thread(
        target=prepare_partnership,
        args=(partnership, data_path, target, secret),
        kwargs={"min_n": min_n, "min_cell": min_cell, "top_bottom": top_bottom},
        name=f"c2c-prepare-{partnership}",
        daemon=True,
    )
    thread.start()
    return Preparation(target, thread, secret)


def load_prepared(
    partnership: str, data_path: str | os.PathLike[str], *, min_n: Any, min_cell: Any,
    top_bottom: Any, environ: Mapping[str, str] | None = None,
) -> tuple[Any, list[str], list[str], Any] | None:  # fmt: skip
    """(rows, notes, known partnerships, SuppressionResult) the runner prepared for exactly
    this call, else None (nothing prepared, not verified, or made from other inputs)."""
    told = (os.environ if environ is None else environ).get(ENVIRONMENT)
    if not told or not data_path:
        return None
    try:
        spec = json.loads(told)
        path, secret = Path(spec["path"]), str(spec["key"])
        deadline = time.monotonic() + WAIT
        while _pending(path).exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        blob = path.read_bytes()
    except (OSError, ValueError, KeyError, TypeError):
        return None
    signature, payload = blob[:32], blob[32:]
    try:
        expected = _sign(secret, payload)
    except ValueError:  # not a key the runner made
        return None
    if not hmac.compare_digest(signature, expected):
        return None
    try:
        key = preparation_key(
            partnership, data_path, min_n=min_n, min_cell=min_cell, top_bottom=top_bottom
        )
    except (OSError, ValueError):
        return None
    size = int.from_bytes(payload[:8], "big")
    if payload[8 : 8 + size] != key.encode("utf-8"):
        return None
    # Signed by this run's runner with its own key, and made from these very inputs.
    rows, notes, known, result = pickle.loads(payload[8 + size :])
    return rows, notes, known, result
