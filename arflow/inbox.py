"""The inbox (SPEC 6.1): customers' replies pause chasing, bounces stop dead addresses.

arflow reads the messages that arrived since the last run, from an IMAP folder (read-only:
nothing is deleted, moved or marked read) or a Maildir (`arflow.channels.mailboxes` reads
them). What each message is (a reply, an automatic answer, a bounce, or nothing of
arflow's) is `arflow.incoming.classify`'s to say. Every other message is ignored.

Each message is handled once: its Message-ID is recorded with what it did, in the same
transaction as the effect (a pause, a bounced address) and, for IMAP, the folder's last UID.
A crash before that commit leaves the message to the next run; after it, the message is done.

Nothing in a message can stop the run: a message that cannot be parsed, is huge, or has bytes
that are no text is read as far as it can be, and ignored when it names nothing arflow sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from arflow.channels.mailboxes import ImapReader, InboxError, Incoming, read_maildir
from arflow.config import Config
from arflow.errors import ArflowError, RowError
from arflow.incoming import classify
from arflow.state import StateDB


@dataclass
class InboxResult:
    events: list[dict] = field(default_factory=list)  # what each new message was and did
    error: str | None = None  # the inbox could not be (fully) read


def inbox_error(config: Config, message: str) -> RowError:
    """The inbox could not be read, as one of the run's problems (exit 3)."""
    return RowError(
        config.display(config.path), config.line("channels", "inbox") or 0, None, None, message
    )


def require_inbox(config: Config) -> None:
    """`arflow inbox` on a config that names no inbox to read: a config problem, nothing was
    done (exit 1)."""
    if config.channels.inbox is None:
        raise ArflowError(
            "arflow.yaml has no channels.inbox: add one, e.g. inbox: {transport: "
            "maildir, dir: mail/ar} under channels:"
        )


# --- one pass over the inbox -----------------------------------------------------------------
def read_inbox(
    config: Config, db: StateDB, as_of: date, emails_of: dict[str, tuple[str, ...]]
) -> InboxResult:
    """Read the messages that arrived since the last run and record what each does (a dry
    run's `db` drops the writes: it shows what would happen). `emails_of` holds each
    customer's addresses in the source, kept with a bounce so a new address ends the mark."""
    cfg = config.channels.inbox
    result = InboxResult()
    if cfg is None:
        return result
    reader: ImapReader | None = None
    try:
        if cfg.transport == "maildir":
            messages: Iterator[Incoming] = read_maildir(config.resolve(cfg.dir or ""))
            uidvalidity = ""
        else:
            reader = ImapReader(cfg)
            uidvalidity, messages = reader.messages(db.folder_position(cfg.folder))
        marked = {(cid, address) for _, cid, address, _ in db.bounced()}
        pause = timedelta(days=config.replies.pause_days)
        for incoming in messages:
            event = classify(incoming.raw, db, emails_of)
            position = (cfg.folder, uidvalidity, incoming.uid) if incoming.uid is not None else None
            if db.seen_incoming(event["message_id"]):
                if position is not None:  # known already: only the folder's place moves on
                    db.record_incoming({**event, "kind": "ignored"}, as_of, position)
                continue
            if event["kind"] == "reply":
                event["pause_until"] = (as_of + pause).isoformat()
                event["notice"] = True
            elif event["kind"] == "bounce":
                new = (event["customer_id"], event["address"]) not in marked
                event["notice"] = new
                marked.add((event["customer_id"], event["address"]))
            db.record_incoming(
                event, as_of, position, list(emails_of.get(event.get("customer_id") or "", ()))
            )
            if event["kind"] != "ignored":
                result.events.append(event)
        if reader is not None:
            result.error = reader.problem()  # a message it could not read, for the next run
    except InboxError as exc:
        result.error = str(exc)
    finally:
        if reader is not None:
            reader.close()
    return result
