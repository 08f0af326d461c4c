"""Writing a checkpoint directory all at once, so that a crash never leaves half of one.

Every checkpoint bert-zoo writes (each twin's `save_pretrained` through
`conversion.checkpoint.save_pretrained`, and `bert-zoo convert`) goes through `atomic_directory`: the
files are written into a hidden folder beside the target, `.NAME.tmp-PID-XXXX`, given the umask's usual
permissions and flushed to disk; then that folder and the target are exchanged in one atomic rename
(Linux `renameat2(RENAME_EXCHANGE)`; elsewhere two renames with the old content kept aside in between).
At every instant the target holds either the old checkpoint or the new one. What a killed writer leaves
behind is removed (or the old content put back) by the next write to the same target
(`clean_stale_staging`). No tensors here: files and directories only.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import re
import secrets
import shutil
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

logger = logging.getLogger("bert_zoo")

# `.NAME.tmp-PID-XXXX`: a directory being written for NAME; `.NAME.old-PID-XXXX`: NAME's previous
# content, moved aside for an instant where directories cannot be exchanged atomically.
_STAGING = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-(?P<pid>\d+)-[0-9a-f]+$")
_INSIDE = "bert-zoo"  # staging inside the target (a mount point): `.bert-zoo.tmp-PID-XXXX`
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def staging_path(target: Path, kind: str = "tmp", name: str | None = None) -> Path:
    """A fresh hidden name beside `target` (or inside it when `name` is given) for this process."""
    hidden = f".{name or target.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}"
    return (target if name else target.parent) / hidden


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid() or os.name == "nt":  # never guess on Windows (os.kill would end the process)
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def clean_stale_staging(target: str | os.PathLike[str]) -> list[Path]:
    """Remove what a killed write to `target` left: staging folders of processes that are gone.

    `.NAME.tmp-PID-*` beside `target` (and `.bert-zoo.tmp-PID-*` inside it) are removed when process PID
    no longer runs on this machine. A `.NAME.old-PID-*` (the previous content, moved aside) is put back
    as `target` when `target` is missing, else removed. Returns the paths handled; logs each.
    """
    target = Path(os.path.abspath(target))
    found = []
    for folder, name in ((target.parent, target.name), (target, _INSIDE)):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            match = _STAGING.match(entry.name)
            if match and match["name"] == name and not _pid_alive(int(match["pid"])):
                found.append((entry, match["kind"]))
    for entry, kind in found:
        if kind == "old" and not target.exists():
            try:
                os.rename(entry, target)
            except OSError as err:  # another process got there first: leave the copy, never delete it
                logger.warning("could not put %s back as %s: %s", entry, target, err)
            else:
                logger.warning(
                    "%s: put back the previous content, left aside by a write that was killed", target
                )
        else:
            _remove(entry)
            logger.info("removed %s, left by a write to %s that was killed", entry, target)
    return [entry for entry, _ in found]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), os.fspath(b))


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:
        shutil.copy2(src, dst, follow_symlinks=False)


def _finish_files(staging: Path) -> None:
    """Give every file the umask's usual mode (0644 under umask 022) and flush it to disk."""
    mode = stat.S_IMODE(staging.stat().st_mode) & 0o666  # staging was made 0777 & ~umask
    for root, _dirs, files in os.walk(staging):
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path):
                continue
            os.chmod(path, mode)
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(staging)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _publish_beside(staging: Path, target: Path, replaces: Callable[[str], bool]) -> Path | None:
    """Make `staging` the new `target`; returns the folder now holding the old content, to remove."""
    if not target.is_dir():
        os.rename(staging, target)
        return None
    os.chmod(staging, stat.S_IMODE(target.stat().st_mode))
    for entry in target.iterdir():  # what the new content does not replace comes along (hard links)
        if replaces(entry.name) or _STAGING.match(entry.name) or (staging / entry.name).exists():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, staging / entry.name, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(os.fspath(entry), os.fspath(staging / entry.name))
    _fsync_dir(staging)
    if _exchange(staging, target):
        return staging
    aside = staging_path(target, "old")
    os.rename(target, aside)  # a crash now leaves the old content here; clean_stale_staging puts it back
    try:
        os.rename(staging, target)
    except BaseException:
        os.rename(aside, target)
        raise
    return aside


def _publish_inside(staging: Path, target: Path, replaces: Callable[[str], bool]) -> None:
    """Move each staged file into `target` (config.json last), then drop what it replaces."""
    names = sorted(p.name for p in staging.iterdir())
    for name in sorted(names, key=lambda n: n == "config.json"):
        os.replace(staging / name, target / name)
    for entry in target.iterdir():
        if entry.name not in names and replaces(entry.name) and not _STAGING.match(entry.name):
            _remove(entry)
    os.rmdir(staging)


@contextlib.contextmanager
def atomic_directory(
    target: str | os.PathLike[str],
    *,
    replaces: Callable[[str], bool] = lambda name: True,
    caller: str = "save_pretrained",
) -> Iterator[Path]:
    """Write a directory all at once: yields an empty staging folder; on normal exit it becomes `target`.

    target: the directory to create or replace (created with its parents; a symlink is followed).
    replaces: for an existing `target`, the entry names the new content supersedes (dropped even when
        not rewritten); every other entry is carried over (hard links, copies where linking fails).
    caller: the method name for the error message.

    The staging folder is `.NAME.tmp-PID-XXXX` beside `target`, made with the umask's permissions; its
    files get the umask's file mode (0644 under umask 022) and are flushed to disk, then the folder and
    `target` are exchanged in one atomic step (Linux; elsewhere two renames, with the old content kept
    aside in between). A crash or kill at any point leaves the old `target` complete: the next call
    removes the leftovers (`clean_stale_staging`). When `target` is a mount point or its parent is not
    writable, the staging folder is inside `target` and each file is replaced atomically on its own.
    An exception inside the block removes the staging folder and leaves `target` as it was.

    Raises:
        NotADirectoryError: `target` is an existing file.
    """
    target = Path(os.path.abspath(target))
    if target.is_symlink():
        target = target.resolve()
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{caller} needs a directory, {target} is a file")
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_staging(target)
    inside = target.is_dir() and (os.path.ismount(target) or not os.access(target.parent, os.W_OK))
    staging = staging_path(target, name=_INSIDE if inside else None)
    os.mkdir(staging, 0o777)
    leftover: Path | None = staging
    try:
        yield staging
        _finish_files(staging)
        cwd = os.getcwd()
        if inside:
            _publish_inside(staging, target, replaces)
            leftover = None
        else:
            leftover = _publish_beside(staging, target, replaces)
        _fsync_dir(target.parent)
        if cwd == os.fspath(target) or cwd.startswith(os.fspath(target) + os.sep):
            with contextlib.suppress(OSError):  # the process sat in the replaced tree: follow the path
                os.chdir(cwd)
    finally:
        if leftover is not None:
            _remove(leftover)
