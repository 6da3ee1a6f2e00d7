"""Writing outputs safely: atomic files and directories, one writer per target.

Every file skydome writes goes through `write_atomic_file` (a temporary file
beside the target, fsync, `os.replace`), every directory through a staging
directory beside the target (same parent, so the same filesystem: the final
`rename` is atomic). A run directory (`staged_run_dir`) is put in place as a
whole: an earlier run there is moved aside and deleted only once the new one is
in place, so a directory never mixes two runs' files.

Writers of one target exclude each other with an advisory lock (`target_lock`:
`fcntl.flock` on ``.NAME.lock`` beside the target, removed when released).
Temporary and set-aside directories are named ``.NAME.skydome-tmp-PID-XXXX`` and
``.NAME.skydome-old-PID-XXXX``; those left by a writer that was killed (its lock
is free) are removed by the next writer in the same parent directory.

Every error a user can cause (a missing or read-only parent, a target that is a
file, a mount point, a directory of someone else's files, a busy target) is a
one-line `UserError` raised before any long work starts.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from skydome.errors import UserError

__all__ = [
    "RUN_MARKER",
    "RunStaging",
    "atomic_output",
    "is_run_dir",
    "staged_run_dir",
    "target_lock",
    "write_atomic_dir",
    "write_atomic_file",
]

RUN_MARKER = ".skydome-run"
"""File that marks a directory as written by `skydome run` (so `--force` may replace it)."""

_LEFTOVER_DIR = re.compile(r"^\.(?P<name>.+)\.skydome-(?:tmp|old)-\d+-[a-z0-9_]+$")
_PART = "skydome-part"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _why(e: OSError) -> str:
    """One line for an OS error: its text without the repeated path."""
    return e.strerror or str(e)


def _fsync_dir(path: Path) -> None:
    """Make a rename or new entry in `path` durable (best effort: not every system can)."""
    with suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_tree(root: Path) -> None:
    """Flush every file under `root` to disk, then the directories (files from libraries)."""
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            fd = os.open(os.path.join(dirpath, f), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


# --- the lock ---------------------------------------------------------------------------


def _lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


def _try_lock(path: Path) -> int | None:
    """Take the advisory lock held through file `path`; its descriptor, or None if busy.

    The holder removes the file when it is done; a waiter that opened the file
    just before that would hold a lock on a removed file, so after locking we
    check the file is still the one at `path`, and try again if not.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory lock
        return os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    for _ in range(20):
        fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except OSError:
            os.close(fd)
            raise
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)
    return None  # pragma: no cover - the file keeps changing under us: someone holds it


def _unlock(fd: int, path: Path) -> None:
    """Remove the lock file (if it is still ours) while holding the lock, then release it."""
    try:
        if os.path.samestat(os.fstat(fd), os.stat(path)):
            os.unlink(path)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def target_lock(target: Path, busy: str) -> Iterator[None]:
    """Hold the advisory lock of `target` (file ``.NAME.lock`` beside it) for the block.

    Args:
        target: the file or directory about to be written; its parent must exist.
        busy: the `UserError` message when another process holds the lock.

    Raises:
        UserError: the lock is held elsewhere, or the lock file cannot be made.
    """
    path = _lock_path(target)
    try:
        fd = _try_lock(path)
    except OSError as e:
        raise UserError(f"{target}: cannot write in {target.parent}: {_why(e)}") from None
    if fd is None:
        raise UserError(busy)
    try:
        yield
    finally:
        _unlock(fd, path)


def _clean_leftovers(parent: Path, own: str) -> None:
    """Remove staging and set-aside directories that killed writers left in `parent`.

    A leftover of target NAME is stale when nobody holds NAME's lock; the
    caller holds the lock of `own`, so that target's leftovers are stale.
    """
    try:
        entries = sorted(os.scandir(parent), key=lambda e: e.name)
    except OSError:
        return
    for e in entries:
        m = _LEFTOVER_DIR.match(e.name)
        if m is None or not e.is_dir(follow_symlinks=False):
            continue
        if m["name"] == own:
            shutil.rmtree(e.path, ignore_errors=True)
            continue
        lock = parent / f".{m['name']}.lock"
        try:
            fd = _try_lock(lock)
        except OSError:
            continue
        if fd is None:
            continue  # its writer is alive
        try:
            shutil.rmtree(e.path, ignore_errors=True)
        finally:
            _unlock(fd, lock)


# --- files ------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _clean_dead_parts(path: Path) -> None:
    """Remove temporary files of `path` left by killed writers (their process is gone)."""
    prefix = f".{path.name}.{_PART}-"
    with suppress(OSError), os.scandir(path.parent) as entries:
        for e in entries:
            if not e.name.startswith(prefix):
                continue
            pid = e.name[len(prefix) :].split("-", 1)[0]
            if pid.isdigit() and not _pid_alive(int(pid)) and e.is_file(follow_symlinks=False):
                with suppress(OSError):
                    os.unlink(e.path)


def _check_file_target(path: Path) -> None:
    """One-line errors for a file that cannot be written; remove dead writers' parts."""
    if path.is_dir():
        raise UserError(f"{path}: is a directory, expected a file name")
    if not path.parent.is_dir():
        what = "is not a directory" if path.parent.exists() else "does not exist"
        raise UserError(f"{path}: cannot write: {path.parent} {what}")
    _clean_dead_parts(path)


def write_atomic_file(path: Path, text: str | bytes) -> None:
    """Write a file through a temporary file beside it, fsync and `os.replace`.

    Readers see the old file or the new one, never a part. A failure removes
    the temporary file; a killed writer's temporary file
    (``.NAME.skydome-part-PID-XXXX``) is removed by the next write of the same file.

    Raises:
        UserError: the file cannot be written (one line: the path and the reason).
    """
    path = Path(path)
    data = text.encode("utf-8") if isinstance(text, str) else text
    parent = path.parent
    _check_file_target(path)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_PART}-{os.getpid()}-", dir=parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; give it the usual mode
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise UserError(f"{path}: cannot write: {_why(e)}") from None
    finally:
        if tmp is not None:
            with suppress(OSError):
                os.unlink(tmp)
    _fsync_dir(parent)


@contextmanager
def atomic_output(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path` for a library to write; then fsync and replace.

    For writers that want a file name (`pyarrow.parquet.write_table`,
    `DataFrame.to_csv`): ``with atomic_output(p) as tmp: df.to_parquet(tmp)``.
    Leaving the block by an exception removes the temporary file and leaves
    `path` as it was; an `OSError` becomes a one-line `UserError`.
    """
    path = Path(path)
    _check_file_target(path)
    tmp = path.parent / f".{path.name}.{_PART}-{os.getpid()}-{os.urandom(4).hex()}"
    try:
        try:
            yield tmp
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
        except OSError as e:
            raise UserError(f"{path}: cannot write: {_why(e)}") from None
    finally:
        with suppress(OSError):
            os.unlink(tmp)
    _fsync_dir(path.parent)


# --- directories ------------------------------------------------------------------------


def _first_existing(path: Path) -> Path:
    p = path
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


def _make_parent(target: Path, shown: Path) -> None:
    """Create the parent of `target` if needed; one-line errors."""
    parent = target.parent
    base = _first_existing(parent)
    if not base.is_dir():
        raise UserError(f"{shown}: cannot create it: {base} is not a directory")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"{shown}: cannot create {parent}: {_why(e)}") from None


def _make_staging(target: Path, shown: Path, kind: str = "tmp") -> Path:
    """A new directory ``.NAME.skydome-KIND-PID-XXXX`` beside `target`, with the usual mode."""
    try:
        tmp = Path(
            tempfile.mkdtemp(
                prefix=f".{target.name}.skydome-{kind}-{os.getpid()}-", dir=target.parent
            )
        )
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes it 0700
    except OSError as e:
        raise UserError(f"{shown}: cannot write in {target.parent}: {_why(e)}") from None
    return tmp


def write_atomic_dir(out_dir: Path, write: Callable[[Path], object]) -> None:
    """Fill `out_dir` through `write(tmp_dir)`, so a failure leaves nothing half-written.

    A new directory appears only when complete. Files in an existing
    directory are each replaced atomically (`os.replace`); files not written
    this time are left as they are (a figures directory: use `staged_run_dir`
    for a run directory, which is replaced as a whole).
    """
    out_dir = Path(out_dir)
    target = Path(os.path.abspath(out_dir))
    _make_parent(target, out_dir)
    if os.path.lexists(target) and not target.is_dir():
        raise UserError(f"{out_dir}: exists and is not a directory")
    with target_lock(target, f"{out_dir}: another skydome process is writing it; try again"):
        _clean_leftovers(target.parent, target.name)
        tmp = _make_staging(target, out_dir)
        try:
            write(tmp)
            _fsync_tree(tmp)
            if target.is_dir():
                for f in sorted(tmp.iterdir()):
                    os.replace(f, target / f.name)
                _fsync_dir(target)
            else:
                os.rename(tmp, target)
                _fsync_dir(target.parent)
        except OSError as e:
            raise UserError(f"{out_dir}: cannot write: {_why(e)}") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def is_run_dir(path: Path) -> bool:
    """True when `path` is a directory written by `skydome run`.

    Marked by `RUN_MARKER`; directories written before the marker existed are
    recognised by `summary.json` (a run summary) beside `events.parquet`, and no
    study `manifest.json`.
    """
    p = Path(path)
    if (p / RUN_MARKER).is_file():
        return True
    if not (p / "events.parquet").is_file() or (p / "manifest.json").exists():
        return False
    try:
        s = json.loads((p / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(s, dict) and {"scenario", "seed", "events"} <= s.keys()


def _is_empty(d: Path) -> bool:
    with os.scandir(d) as it:
        return next(it, None) is None


def _check_target(target: Path, shown: Path, force: bool) -> None:
    """Refuse a target that must not be replaced (see `staged_run_dir`)."""
    if not os.path.lexists(target):
        return
    if not target.is_dir():
        raise UserError(f"{shown}: exists and is not a directory; choose another --out")
    if os.path.ismount(target):
        raise UserError(
            f"{shown}: is a mount point, which cannot be replaced as a whole; "
            f"write the run into a new directory on it, e.g. --out {shown / 'run1'}"
        )
    try:
        if _is_empty(target):
            return
    except OSError as e:
        raise UserError(f"{shown}: cannot be read: {_why(e)}") from None
    if not is_run_dir(target):
        raise UserError(
            f"{shown}: exists, is not empty and is not a skydome run directory; "
            "nothing was written: choose a new or empty directory for --out"
        )
    if not force:
        raise UserError(
            f"{shown}: holds an earlier skydome run; add --force to replace it as a whole, "
            "or choose another --out"
        )


class RunStaging:
    """The staging directory of a run directory being written (see `staged_run_dir`).

    Attributes:
        path: the directory to fill; it lies beside the target (same filesystem).
        target: the run directory, as an absolute path.
    """

    def __init__(self, path: Path, target: Path, shown: Path, force: bool) -> None:
        self.path = path
        self.target = target
        self._shown = shown
        self._force = force
        self.committed = False

    def commit(self) -> None:
        """Put the staging directory in place of the target, as a whole.

        An earlier run there is first renamed aside (``.NAME.skydome-old-...``),
        the new directory renamed in, and the old one deleted only then; if the
        second rename fails the old run is put back.

        Raises:
            UserError: the target changed meanwhile into something that must not
                be replaced, or a rename failed.
        """
        target, shown = self.target, self._shown
        try:
            (self.path / RUN_MARKER).write_text('{"written_by": "skydome run"}\n', encoding="utf-8")
            _fsync_tree(self.path)
        except OSError as e:
            raise UserError(f"{shown}: cannot write: {_why(e)}") from None
        _check_target(target, shown, self._force)  # a non-skydome process may have been here
        old: Path | None = None
        try:
            if os.path.lexists(target) and not _is_empty(target):
                old = _make_staging(target, shown, "old")
                os.rename(target, old)  # replaces the empty `old`
            try:
                os.rename(self.path, target)  # replaces an empty directory, if any
            except OSError:
                if old is not None:
                    os.rename(old, target)
                    old = None
                raise
        except OSError as e:
            hint = (
                " (the target is on another filesystem than its parent directory)"
                if e.errno in (errno.EXDEV, errno.EBUSY)
                else ""
            )
            raise UserError(f"{shown}: cannot put the run in place: {_why(e)}{hint}") from None
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        self.committed = True
        _fsync_dir(target.parent)


@contextmanager
def staged_run_dir(target: Path, *, force: bool = False) -> Iterator[RunStaging]:
    """Prepare to write run directory `target` as a whole; yield its staging directory.

    Everything that can be checked is checked here, before a long simulation:
    the target is not the current directory (or above it), not a file, not a
    mount point; if it exists it is empty, or a skydome run directory and
    `force` is given; its parent exists or can be created and is writable (the
    staging directory is created now, beside the target). The target's lock is
    held until the block ends, so a second writer fails at once.

    Fill `staging.path`, then call `staging.commit()`. Leaving the block
    without committing (an error, Ctrl-C) removes the staging directory and
    leaves the target as it was.

    Raises:
        UserError: any of the checks fails, or another process writes the target.
    """
    shown = Path(target)
    abs_target = Path(os.path.abspath(shown))
    real = abs_target.resolve()  # through symlinks: the rename happens where the files are
    cwd = Path.cwd().resolve()
    if real == real.parent:
        raise UserError(f"{shown}: is the root directory; choose a new directory for --out")
    if real == cwd or real in cwd.parents:
        raise UserError(
            f"{shown}: is the current directory{'' if real == cwd else ' or above it'}; "
            "nothing was written: choose a new directory for --out, e.g. --out runs/NAME"
        )
    _make_parent(real, shown)
    busy = (
        f"{shown}: another skydome run is writing this directory "
        f"(lock {_lock_path(real)}); wait for it to finish or choose another --out"
    )
    with target_lock(real, busy):
        _check_target(real, shown, force)
        _clean_leftovers(real.parent, real.name)
        staging = RunStaging(_make_staging(real, shown), real, shown, force)
        try:
            yield staging
        finally:
            shutil.rmtree(staging.path, ignore_errors=True)
