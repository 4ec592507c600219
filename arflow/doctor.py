"""`arflow doctor`: is this deployment ready for tonight? Each check is one line: ok, warn (worth
a look, never the exit code) or fail (tonight's run would not do its work)."""

from __future__ import annotations

import os
import time
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

from arflow.actions import CONTACT_WORDS
from arflow.config import Config
from arflow.errors import ArflowError
from arflow.project import Project
from arflow.reading import SourceRead, group_errors
from arflow.source_view import reach_text, view_sources
from arflow.sources import SOURCE_FIELDS, header_read
from arflow.sources.command import ran
from arflow.state import StateDB, set_aside

BACKUP_DAYS = 2  # a backup older than this is a warning


class Check(NamedTuple):
    level: str  # "ok", "warn", "fail"
    text: str


def checks(project: Project, now: datetime) -> list[Check]:
    """Every check but the config's own (the caller loaded it, or reported why not)."""
    config = project.config
    found = _sources(config)
    if all(c.level == "ok" for c in found):
        found = _data(project, config.today(now))  # the same sources, read through
    inbox = [_inbox(config)] if config.channels.inbox is not None else []
    return [*found, *_state(config, now), _email(config), *inbox, _zone(config, now)]


def _sources(config: Config) -> list[Check]:
    """Each source's header, read once: there, readable, with the columns the config names."""
    out = []
    for setting in SOURCE_FIELDS:
        if getattr(config, setting) is None:
            continue
        try:
            read = header_read(config, setting)
        except ArflowError as exc:
            out.append(Check("fail", str(exc)))
            continue
        columns = len(read.fields) + len(read.ignored)
        out.append(Check("ok", f"{setting}: {read.display} can be read ({columns} columns)"))
    return out


def _data(project: Project, today: date) -> list[Check]:
    """The sources read as tonight's run reads them (`arflow sources` shows more)."""
    view = view_sources(project, today)
    if view.refused:
        return [Check("fail", view.refused)]
    found = []
    for r in view.reads:
        empty = f", {r.empty:,} empty ignored" if r.empty else ""
        unused = f"; not used: {', '.join(r.ignored)}" if r.ignored else ""
        found.append(
            Check(
                "ok" if not r.held_back else "warn",
                f"{_read_how(project.config, r)} ({len(r.fields) + len(r.ignored)} "
                f"columns): {r.rows:,} row{'' if r.rows == 1 else 's'}, {r.held_back:,} held "
                f"back{empty}{unused}",
            )
        )
    found += [Check("warn", g.text(3)) for g in group_errors(view.errors)]
    for kind, reach in view.unreachable.items():
        if reach["unreachable"] == reach["customers"] and reach["customers"]:
            found.append(
                Check(
                    "fail",
                    f"{kind}: "
                    + (
                        f"none of the {reach['customers']} customers with an open invoice has "
                        f"{CONTACT_WORDS[reach['contact']]}"
                        if reach["customers"] > 1
                        else f"the one customer with an open invoice has no {reach['contact']}"
                    )
                    + f"; the workflows' {kind} actions would reach nobody",
                )
            )
        elif reach["unreachable"]:
            found.append(
                Check(
                    "warn",
                    f"{kind}: {reach_text(reach)} {'has' if reach['unreachable'] == 1 else 'have'}"
                    f" no {reach['contact']} (`arflow sources` names them)",
                )
            )
    return found


def _read_how(config: Config, read: SourceRead) -> str:
    """`invoices: invoices.csv can be read`, or for a command (issue 35) `invoices: ran
    `python3 export.py` in 0.4 s, its output read`."""
    run = ran(getattr(config, read.setting))
    if run is None:
        return f"{read.setting}: {read.display} can be read"
    command = getattr(config, read.setting).command_text
    return f"{read.setting}: ran `{command}` in {run.seconds:.1f} s, its output read"


def _state(config: Config, now: datetime) -> list[Check]:
    path = config.resolve(config.state)
    shown = config.display(path)
    folder = path.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        return [
            Check(
                "fail",
                f"state: {config.display(folder)} cannot be written: arflow keeps "
                f"{shown} there (and its lock and journal)",
            )
        ]
    if not path.exists():
        return [Check("ok", f"state: {shown} does not exist yet; the first run creates it")]
    if not os.access(path, os.R_OK | os.W_OK):
        return [Check("fail", f"state: {shown} cannot be written by this user")]
    try:
        db = StateDB.open_readonly(path, shown)
        if db is not None:
            db.close()
    except ArflowError as exc:
        return [Check("fail", f"state: {exc}")]
    return [Check("ok", f"state: {shown} is readable and writable"), _backup(path, shown, now)]


def _backup(path: Path, shown: str, now: datetime) -> Check:
    """The newest copy of the state database beside it (`arflow.db.*` other than arflow's own
    files and the databases it set aside, or in a `backups/` folder next to it)."""
    own = {f"{path.name}{end}" for end in ("-wal", "-shm", "-journal", ".id", ".lock")}
    copies = [
        p
        for p in path.parent.glob(f"{path.name}.*")
        if p.name not in own and not set_aside(path, p)
    ] + [p for p in (path.parent / "backups").glob(f"{path.stem}*") if p.is_file()]
    if not copies:
        return Check(
            "warn",
            f"state: no backup of {shown} next to it ({path.name}.* or backups/);"
            f" back it up daily, e.g. sqlite3 {path.name} '.backup "
            f"{path.name}.bak'",
        )
    newest = max(p.stat().st_mtime for p in copies)
    age = (now.timestamp() - newest) / 86400
    if age > BACKUP_DAYS:
        return Check("warn", f"state: the newest backup of {shown} is {age:.0f} days old")
    return Check(
        "ok", f"state: backed up {time.strftime('%Y-%m-%d %H:%M', time.gmtime(newest))} UTC"
    )


def _email(config: Config) -> Check:
    email = config.channels.email
    if email.transport != "smtp":
        return Check("ok", f"email: written to {email.dir}/ (transport outbox); nothing is sent")
    from arflow.channels import sender_address
    from arflow.channels.smtp import SmtpChannel

    channel = SmtpChannel(email, sender_address(config))
    try:
        channel.open()  # logs in, sends nothing
    except ArflowError as exc:
        return Check("fail", f"email: {exc}".replace(" Nothing was sent.", ""))
    finally:
        channel.close()
    if channel.down:
        return Check("fail", f"email: {channel.down}")
    login = f" and logged in as {email.username}" if email.username else ""
    return Check("ok", f"email: reached {email.host}{login} (nothing sent)")


def _inbox(config: Config) -> Check:
    """The inbox tonight's run reads: a Maildir that is one, an IMAP login that works (nothing
    is read or changed), within the session's deadline."""
    from arflow.channels.mailboxes import ImapReader, InboxError, check_maildir

    inbox = config.channels.inbox
    assert inbox is not None
    try:
        if inbox.transport == "maildir":
            check_maildir(config.resolve(inbox.dir or ""))
            return Check("ok", f"inbox: {inbox.dir} is a Maildir")
        ImapReader(inbox).close()  # logs in, reads nothing
    except InboxError as exc:
        return Check("fail", f"inbox: {exc}".replace("channels.inbox: ", ""))
    return Check("ok", f"inbox: logged in to {inbox.host} as {inbox.username} (nothing read)")


def _zone(config: Config, now: datetime) -> Check:
    zone = config.company.timezone
    return Check(
        "ok",
        f"time zone: today is {config.today(now)} in {zone} (company.timezone); "
        f"the server's clock says {now.astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
    )
