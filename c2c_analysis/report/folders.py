"""The output folder: one lock, crash-safe replacement, recovery, no symlinks, private files.

A report folder is replaced so that at every moment ``<out>/<report>`` is a complete report,
the old one or the new one: the finished run is swapped with the old folder in one atomic
step (Linux ``renameat2(RENAME_EXCHANGE)``), and the old folder, now under the run's hidden
temporary name, is removed afterwards. Where the file system cannot swap, the old folder is
renamed to ``.<report>.<run>.old`` first and the run renamed into place; a crash between the
two leaves the old report under that name, and the next run puts it back before anything
else.

Leftovers of a killed run (``.<report>.<run>.tmp``, ``.<report>.<run>.old``, temporary
files) are recovered or removed by the next run, under the folder's lock (``.c2c.lock``,
held for a whole batch; a second batch on the same folder waits for it or fails clearly).

Nothing is written through a symbolic link inside the output folder: a link where a report
folder, ``index.html``, ``last_failure.json``, ``.failed`` or the lock would be is refused
with an error naming it, and files are written under a new temporary name
(``O_EXCL | O_NOFOLLOW``) and renamed over their target, which replaces a name and never
follows one.

Private files (inputs' fingerprints, each batch's per-partnership unsuppressed rows, failed
runs' notebooks, the key of the published fingerprints) live outside the output folder, in
a private folder (mode 0700): ``$C2C_PRIVATE_DIR``, else ``$XDG_STATE_HOME/c2c_analysis``
(``~/.local/state/c2c_analysis``), else ``<temp>/c2c_analysis-<uid>``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "OutputFolderBusy",
    "OutputFolderError",
    "folder_lock",
    "private_root",
    "publish",
    "recover",
    "remove_tree",
    "write_file",
]

LOCK_NAME = ".c2c.lock"
#: Hidden names the runner makes beside report folders: ``.<report>.<run id>.tmp|old``.
HIDDEN = re.compile(r"^\.(?P<name>[a-z0-9][a-z0-9_-]*)\.(?P<run>[0-9a-f]{12})\.(?P<kind>tmp|old)$")
_TEMP_FILE = re.compile(r"^\..+\.[0-9a-f]{12}\.part$")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
#: Errors of the file system rather than of the run: no space, read-only, no permission.
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES, errno.EPERM})
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class OutputFolderError(ValueError):
    """The output folder cannot be used as given (a usage error: ``c2c`` exits with 2)."""


class OutputFolderBusy(RuntimeError):
    """Another run holds the output folder's lock and did not release it in time."""


def _describe(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return "no space left on the device"
    if error.errno == errno.EROFS:
        return "the file system is read-only"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if error.errno == errno.EDQUOT:
        return "disk quota exceeded"
    return error.strerror or str(error)


def describe_os_error(error: OSError, doing: str) -> str:
    """One line for a file-system failure: what was being done and why it failed."""
    where = f" ({error.filename})" if error.filename else ""
    return f"{doing} failed: {_describe(error)}{where}"


def refuse_symlink(path: Path, what: str = "") -> None:
    """Raise :class:`OutputFolderError` if ``path`` is a symbolic link."""
    if path.is_symlink():
        raise OutputFolderError(
            f"{path} is a symbolic link; c2c never writes through links inside the output "
            f"folder{what}: remove the link or choose another --out"
        )


def check_output_folder(out_dir: str | os.PathLike[str]) -> Path:
    """The output folder, created if missing; a clear error if it cannot be one."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"--out {out} is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError as error:  # a file somewhere on the path
        raise OutputFolderError(f"--out {out}: {error.filename} is a file, not a folder") from None
    except OSError as error:
        raise OutputFolderError(
            f"cannot create the output folder {out}: {_describe(error)}"
        ) from None
    return out


@contextlib.contextmanager
def folder_lock(out_dir: Path, *, timeout: float | None = None) -> Iterator[None]:
    """Hold the output folder's lock: one batch (or report) writes to a folder at a time.

    Waits for another holder to finish, up to ``timeout`` seconds (``None``: as long as it
    takes), then raises :class:`OutputFolderBusy`. The lock is the kernel's (``flock``):
    it ends with the process that holds it, so a killed batch never leaves it behind.
    """
    path = out_dir / LOCK_NAME
    refuse_symlink(path, " (the folder's lock)")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o644)
    except OSError as error:
        if error.errno == errno.ELOOP:
            refuse_symlink(path, " (the folder's lock)")
        raise OutputFolderError(f"cannot write to {out_dir}: {_describe(error)}") from None
    try:
        if fcntl is not None:
            deadline = None if timeout is None else time.monotonic() + timeout
            delay = 0.05
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if deadline is not None and time.monotonic() >= deadline:
                        holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                        raise OutputFolderBusy(
                            f"{out_dir} is in use by another c2c run ({holder or 'unknown'}); "
                            f"waited {timeout:g} s"
                        ) from None
                    time.sleep(delay)
                    delay = min(delay * 2, 1.0)
        with contextlib.suppress(OSError):  # who holds it, for the message above
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} since {time.strftime('%H:%M:%S')}".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def remove_tree(path: Path) -> None:
    """Remove a hidden leftover (a folder, a file or a link: never what a link points to)."""
    if path.is_symlink() or not path.is_dir():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return
    for _ in range(3):  # a killed run's kernel may still be writing into it
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        time.sleep(0.05)


def recover(out_dir: Path) -> list[str]:
    """Put back or clean what killed runs left in ``out_dir``; call it holding the lock.

    - ``.<report>.<run>.old`` (the last good report, moved aside by a replacement that
      could not swap): renamed back to ``<report>`` when that is missing, else removed;
    - ``.<report>.<run>.tmp`` (an unfinished run, or an old report swapped out of place):
      removed;
    - temporary files of the runner (``.*.<run>.part``) in the folder and in each report
      folder, and ``.inputs.*`` folders of earlier versions (unsuppressed rows): removed.

    Returns
    -------
    list of str
        What was done, one sentence each.
    """
    done: list[str] = []
    try:
        entries = sorted(os.scandir(out_dir), key=lambda e: e.name)
    except OSError:
        return done
    for entry in entries:
        name = entry.name
        path = Path(entry.path)
        match = HIDDEN.match(name)
        if match and match["kind"] == "old":
            final = out_dir / match["name"]
            if not os.path.lexists(final) and not entry.is_symlink() and entry.is_dir():
                os.rename(path, final)
                done.append(f"restored the last good report {match['name']} from {name}")
                continue
            remove_tree(path)
            done.append(f"removed {name}")
        elif match or _TEMP_FILE.match(name) or name.startswith(".inputs."):
            remove_tree(path)
            done.append(f"removed {name}")
        elif not name.startswith(".") and entry.is_dir(follow_symlinks=False):
            with contextlib.suppress(OSError):
                for inner in os.scandir(path):
                    if _TEMP_FILE.match(inner.name):
                        remove_tree(Path(inner.path))
                        done.append(f"removed {name}/{inner.name}")
    failed = out_dir / ".failed"
    if failed.is_dir() and not failed.is_symlink():  # failed runs are kept privately now
        remove_tree(failed)
        done.append("removed .failed")
    return done


def write_file(path: Path, data: str | bytes) -> None:
    """Write ``path`` atomically, never through a symbolic link.

    Refuses (:class:`OutputFolderError`) when ``path`` is a link; writes a new temporary
    file beside it (created exclusively, not following links) and renames it over
    ``path``.
    """
    refuse_symlink(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o644)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


# --- replacing a report folder ------------------------------------------------------------

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_RENAMEAT2: Any = None


def _renameat2():
    global _RENAMEAT2
    if _RENAMEAT2 is None:
        function = False
        with contextlib.suppress(OSError, AttributeError, TypeError):
            libc = ctypes.CDLL(None, use_errno=True)
            function = libc.renameat2
            function.argtypes = [
                ctypes.c_int,
                ctypes.c_char_p,
                ctypes.c_int,
                ctypes.c_char_p,
                ctypes.c_uint,
            ]
            function.restype = ctypes.c_int
        _RENAMEAT2 = function
    return _RENAMEAT2 or None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one atomic step; ``False`` where the system cannot."""
    function = _renameat2()
    if function is None:
        return False
    if function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def publish(work: Path, final: Path) -> None:
    """Put the finished run ``work`` at ``final``, replacing what is there.

    At no moment is ``final`` missing or incomplete once it existed: the two folders are
    swapped atomically and the old one removed from the run's hidden name afterwards; where
    swapping is impossible, the fallback's one unsafe moment leaves the old report under a
    name :func:`recover` restores.
    """
    refuse_symlink(final, " (a report folder)")
    if not os.path.lexists(final):
        os.rename(work, final)
        return
    if _exchange(work, final):
        remove_tree(work)  # the old report, under the run's name
        return
    run = HIDDEN.match(work.name)
    backup = final.with_name(f".{final.name}.{run['run'] if run else uuid.uuid4().hex[:12]}.old")
    os.rename(final, backup)
    os.rename(work, final)
    remove_tree(backup)


# --- private files --------------------------------------------------------------------------


def _ensure_private(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise OutputFolderError(f"the private folder {path} is not a folder")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise OutputFolderError(f"the private folder {path} belongs to another user")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path


def private_root() -> Path:
    """The private folder (mode 0700) for what must not be published."""
    configured = os.environ.get("C2C_PRIVATE_DIR")
    if configured:
        return _ensure_private(Path(configured))
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    try:
        return _ensure_private(Path(state) / "c2c_analysis")
    except OSError:
        user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
        return _ensure_private(Path(tempfile.gettempdir()) / f"c2c_analysis-{user}")


def check_private_outside(out_dir: Path) -> Path:
    """The private folder, refused when it lies inside the output folder."""
    root = private_root()
    out, private = out_dir.resolve(), root.resolve()
    if private == out or out in private.parents:
        raise OutputFolderError(
            f"the private folder {root} is inside the output folder {out_dir}: set "
            "C2C_PRIVATE_DIR to a folder outside it"
        )
    return root


def _folder_key(out_dir: Path) -> str:
    return hashlib.sha256(os.fsencode(out_dir.resolve())).hexdigest()[:16]


def private_folder(out_dir: Path, kind: str) -> Path:
    """``<private>/<kind>/<key of out_dir>``: a private folder per output folder."""
    return _ensure_private(private_root() / kind / _folder_key(out_dir))


def local_secret() -> bytes:
    """This machine's key for published fingerprints (created once, mode 0600)."""
    path = private_root() / "secret"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
    except FileExistsError:
        for _ in range(20):  # another process may be writing it this instant
            key = path.read_bytes().strip()
            if len(key) >= 32:
                return key
            time.sleep(0.05)
        raise OutputFolderError(f"the private key {path} is damaged: remove it") from None
    key = os.urandom(32).hex().encode()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def write_private_record(out_dir: Path, report: str, record: dict[str, Any]) -> Path:
    """Write ``record`` (JSON) as the private record of ``report`` in ``out_dir``."""
    folder = private_folder(out_dir, "records")
    path = folder / f"{report}.json"
    write_file(path, json.dumps(record, indent=2, sort_keys=True))
    return path


@contextlib.contextmanager
def private_inputs() -> Iterator[Path]:
    """A private temporary folder (mode 0700) for one batch's unsuppressed inputs.

    It is removed when the batch ends; one that a killed batch left is removed by the next
    batch (each holds a lock on its folder while it runs, which the system releases when
    the process dies).
    """
    base = _ensure_private(private_root() / "inputs")
    clean_stale_inputs(base)
    run = uuid.uuid4().hex[:12]
    lock_path = base / f"{run}.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        folder = base / run
        folder.mkdir(mode=0o700)
        try:
            yield folder
        finally:
            remove_tree(folder)
    finally:
        with contextlib.suppress(OSError):
            lock_path.unlink()
        os.close(fd)


def clean_stale_inputs(base: Path) -> list[str]:
    """Remove the input folders of batches that are no longer running."""
    removed = []
    names = {p.name.split(".")[0] for p in base.iterdir()} if base.is_dir() else set()
    now = time.time()
    for run in sorted(names):
        lock_path = base / f"{run}.lock"
        # A batch creates its lock file, then locks it, then makes its folder: give one
        # that is starting a minute before calling its files stale.
        try:
            newest = max(
                (os.lstat(p).st_mtime for p in (lock_path, base / run) if os.path.lexists(p)),
                default=0.0,
            )
        except OSError:
            continue
        if now - newest < 60 and not os.path.lexists(lock_path):
            continue
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _CLOEXEC, 0o600)
        except OSError:
            continue
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a running batch
            if now - os.fstat(fd).st_mtime < 5 and not (base / run).exists():
                continue  # created this instant, not yet locked by its batch
            remove_tree(base / run)
            with contextlib.suppress(OSError):
                lock_path.unlink()
            removed.append(run)
        finally:
            os.close(fd)
    return removed
