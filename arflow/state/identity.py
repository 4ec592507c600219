"""Which file the state database is (SPEC 6 leaves it open; the README's guarantees say what
follows from it).

A state database carries a random id (table `meta`, and PRAGMA application_id marks the file as
arflow's), and the file `arflow.db.id` beside it holds the same id from the first run on. A
folder whose `.id` file says it has run refuses a state database that is missing, empty or
another folder's, instead of taking it for a fresh start and sending everything again
(`StateFile._examine`, `StateFile._identify`); and a run writes only while the path still names
the file it opened (`StateFile.ensure_in_place`: the inodes opened are pinned, and what a lost
file held is rescued beside it). `arflow state init --force` sets the old files aside first
(`archive_aside`).
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from arflow.state.errors import StateError, StateMoved, named_errors
from arflow.state.schema import APPLICATION_ID, SCHEMA_VERSION, table_columns, wanted_shape

_STATE_ID = re.compile(r"[0-9a-f]{32}")
# the names arflow gives a state database it sets aside: what a run saved when its database was
# replaced under it, and the old database `arflow state init --force` replaced
RESCUED = ".rescued-"
ARCHIVED = ".archived-"


def set_aside(state_path: Path, other: Path) -> bool:
    """Whether `other` is a state database arflow itself set aside beside `state_path` (or one
    of its files): kept, but no backup."""
    return other.name.startswith((state_path.name + RESCUED, state_path.name + ARCHIVED))


def id_path(state_path: Path) -> Path:
    """The `.id` file beside a state database: its id, from the first run on."""
    return state_path.with_name(state_path.name + ".id")


def read_id_file(path: Path, shown: str) -> str | None:
    """The id in `path`'s `.id` file; None when there is none (this folder never ran)."""
    marker = id_path(path)
    try:
        text = marker.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not an arflow id"
        raise StateError(
            f"cannot read {shown}.id ({why}); it holds the id of {shown}: restore "
            f"it from your backup, or delete it if {shown} is this folder's own "
            "(the next run writes it again)"
        ) from None
    if not _STATE_ID.fullmatch(text):
        raise StateError(
            f"{shown}.id does not hold an arflow state id ({text[:40]!r}): it was "
            f"changed outside arflow; restore it from your backup, or delete it if "
            f"{shown} is this folder's own (the next run writes it again)"
        )
    return text


def write_id_file(path: Path, state_id: str, shown: str) -> None:
    """Write the `.id` file beside, then rename it into place: never half an id."""
    marker = id_path(path)
    temp = marker.with_name(marker.name + ".tmp")
    try:
        with open(temp, "w", encoding="ascii") as handle:
            handle.write(state_id + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, marker)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise StateError(
            f"cannot write {shown}.id ({exc.strerror}): arflow keeps the id of "
            f"{shown} there; let the user running arflow write to its folder"
        ) from None


def lost(path: Path, shown: str, how: str) -> StateError:
    """The refusal for a folder that ran before and whose state database is gone."""
    saved = sorted(
        p
        for p in path.parent.glob(path.name + RESCUED + "*")
        if not p.name.endswith(("-wal", "-shm", ".id"))
    )
    hint = (
        (
            f" ({shown}{saved[-1].name[len(path.name) :]} holds what an interrupted run "
            f"saved: move it back to {shown})"
        )
        if saved
        else ""
    )
    wal = path.with_name(path.name + "-wal")
    if how == "missing" and wal.exists() and wal.stat().st_size:
        hint += (
            f" after moving {shown}-wal and {shown}-shm aside (they belong to the lost "
            "file, and SQLite would replay them into the one put back)"
        )
    return StateError(
        f"{shown} is {how}, but {shown}.id shows this folder has run before: "
        f"restore {shown} from your backup{hint}; to start over on purpose run "
        "`arflow state init --force`"
    )


@named_errors
class StateFile:
    """The connection to one state database file and what makes sure it is this folder's:
    the root of `StateDB`."""

    def __init__(self, conn: sqlite3.Connection, path: Path, shown: str | None = None):
        self.conn = conn
        self.path = path
        self.shown = shown or str(path)  # how messages name it: relative to the AR folder
        # (st_dev, st_ino) of the files opened: "" the database, "-wal" and "-shm" beside it
        self._inodes: dict[str, tuple[int, int]] = {}
        self._rescued: Path | None = None

    def _pin(self, *suffixes: str) -> None:
        for suffix in suffixes or ("",):
            with contextlib.suppress(FileNotFoundError):
                st = os.stat(self.path.with_name(self.path.name + suffix))
                self._inodes[suffix] = (st.st_dev, st.st_ino)

    def _inode(self, suffix: str = "") -> tuple[int, int] | None:
        """(st_dev, st_ino) of what the path (with `suffix`) names now; None: nothing."""
        try:
            st = os.stat(self.path.with_name(self.path.name + suffix))
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def _examine(self, known: str | None) -> int:
        """Before migrating: refuse a file that is not this folder's arflow state. Returns its
        schema version (0: a new, empty database)."""
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StateError(
                f"the state database {self.shown} was written by a newer arflow "
                f"(schema {version}, this one knows {SCHEMA_VERSION}); upgrade "
                "arflow before running it on this folder"
            )
        tables = self._tables()
        application = self.conn.execute("PRAGMA application_id").fetchone()[0]
        if (version == 0 and tables) or application not in (0, APPLICATION_ID):
            listed = ", ".join(sorted(tables)[:5]) or "none"
            raise StateError(
                f"{self.shown} is another program's SQLite database (tables: "
                f"{listed}), not an arflow state database: point `state:` in "
                "arflow.yaml at another file, or move it away"
            )
        if version == 0 and known is not None:
            raise lost(self.path, self.shown, "empty")
        return version

    def _identify(self, known: str | None) -> str | None:
        """After migrating: every table and column is there and the id is this folder's
        (None: the database has no id yet)."""
        # a table or column missing: the file was changed by hand
        shape, wanted = table_columns(self.conn), wanted_shape()
        missing = [f"table {t}" for t in sorted(wanted) if t not in shape] + [
            f"column {t}.{c}"
            for t, columns in sorted(wanted.items())
            if t in shape
            for c in sorted(columns)
            if c not in shape[t]
        ]
        if missing:
            raise self._tampered(
                f"has no {', no '.join(missing)} (arflow keeps "
                f"{'them' if len(missing) > 1 else 'it'})"
            )
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'id'").fetchone()
        if row is None:
            return None
        if known is not None and row[0] != known:
            raise StateError(
                f"{self.shown} is another folder's state database (its id "
                f"{str(row[0])[:8]}… is not the {known[:8]}… in {self.shown}.id): "
                f"restore this folder's {self.shown} from your backup; to start "
                "over on purpose run `arflow state init --force`"
            )
        return str(row[0])

    def _tables(self) -> set[str]:
        return {
            name
            for (name,) in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }

    def _tampered(self, what: str) -> StateError:
        return StateError(
            f"{self.shown} {what}: the file was changed outside arflow; restore it from your backup"
        )

    def ensure_in_place(self) -> None:
        """Raise StateMoved when the path no longer names the file this connection writes
        (deleted, or replaced by another file), after saving what it holds beside. One stat:
        a file held open cannot hand its inode number to another."""
        if "" not in self._inodes:
            return  # in memory
        here = self._inode()
        if here == self._inodes[""]:
            return
        what = "was deleted" if here is None else "was replaced by another file"
        try:
            saved = self._rescue()
        except (OSError, sqlite3.Error) as exc:
            raise StateMoved(
                f"{self.shown} {what} while arflow was using it, and what arflow "
                f"had recorded could not be saved beside it ({exc}); restore "
                f"{self.shown} from your backup"
            ) from None
        name = self.shown + saved.name[len(self.path.name) :]
        put_back = (
            f"put it back (`mv {name} {self.shown}`)"
            if here is None
            else f"set the new {self.shown} aside and put {name} in its place"
        )
        raise StateMoved(
            f"{self.shown} {what} while arflow was using it; what arflow had "
            f"recorded is saved in {name}: {put_back}, then run again"
        )

    def _rescue(self) -> Path:
        """Copy what this connection holds to a new file beside the lost one (once), and move
        the lost one's -wal and -shm files aside: SQLite would replay them into whatever file
        takes the name next (a backup put back, say)."""
        if self._rescued is None:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            target = self.path.with_name(f"{self.path.name}{RESCUED}{stamp}")
            n = 1
            while target.exists():
                n += 1
                target = self.path.with_name(f"{self.path.name}{RESCUED}{stamp}-{n}")
            copy = sqlite3.connect(target)
            try:
                self.conn.backup(copy)
            finally:
                copy.close()
            self._rescued = target
            for suffix in ("-wal", "-shm"):
                if suffix in self._inodes and self._inode(suffix) == self._inodes[suffix]:
                    os.replace(
                        self.path.with_name(self.path.name + suffix),
                        target.with_name(f"{target.name}.lost{suffix}"),
                    )
        return self._rescued


def archive_aside(path: Path, stamp: str, force: bool, shown: str) -> list[tuple[Path, Path]]:
    """`arflow state init`: with `force`, the old database (with its -wal and -shm files) and
    its `.id` file are renamed aside with an `.archived-STAMP` suffix, which keeps them a
    complete state database: nothing is deleted. Without `force`, a folder that has any of
    them is refused. Returns the (old, new) names."""
    archive = path.with_name(f"{path.name}{ARCHIVED}{stamp}")
    n = 1
    while archive.exists() or id_path(archive).exists():
        n += 1
        archive = path.with_name(f"{path.name}{ARCHIVED}{stamp}-{n}")
    moves = [
        (path.with_name(path.name + suffix), archive.with_name(archive.name + suffix))
        for suffix in ("", "-wal", "-shm", ".id")
    ]
    present = [(old, new) for old, new in moves if old.exists()]
    if present and not force:
        raise StateError(
            f"{shown} already holds this folder's state (or {shown}.id says it "
            "did); nothing was changed. To start over on purpose, add --force: "
            "the old files are kept aside, never deleted"
        )
    for n, (old, new) in enumerate(present):
        try:
            os.rename(old, new)
        except OSError as exc:
            done = ", ".join(f"{a.name} to {b.name}" for a, b in present[:n]) or "nothing"
            raise StateError(
                f"cannot move {old.name} aside to {new.name} ({exc.strerror}); moved so far: {done}"
            ) from None
    return present
