"""Loading the ledger from the configured invoice and customer sources (SPEC 2)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass

from arflow.collector import collector_paused
from arflow.config import CONTACT_FIELDS, CUSTOMER_FIELDS, INVOICE_FIELDS, Config, SourceConfig
from arflow.errors import ArflowError, Problem, RowError, SourceRefused
from arflow.ledger import BILLING, Customer, Ledger
from arflow.reading import SourceRead
from arflow.sources.command import program_problem, source_file
from arflow.sources.contacts import read_contacts
from arflow.sources.csvfile import Blocks, Progress, read_csv
from arflow.sources.customers import build_customers, merge_customers, phone_of
from arflow.sources.database import read_database
from arflow.sources.frames import (
    Slices,
    TextRows,
    block_slices,
    from_blocks,
    plain_csv,
    plain_slices,
)
from arflow.sources.invoices import INVOICE_REQUIRED, InvoiceBuilder
from arflow.sources.rows import column_index
from arflow.sources.shape import reshape
from arflow.sources.sqlitedb import read_sqlite
from arflow.sources.values import ValueParser


def open_source(
    config: Config,
    source: SourceConfig,
    progress: Progress | None = None,
    *,
    header_only: bool = False,
) -> tuple[str, list[str], Blocks]:
    """(display name, header, rows) for a CSV file, a SQLite table/query, a database
    server's (issue 35), or the output of a command (which runs now, unless it ran before)."""
    if source.is_database:
        display = config.source_name(source)
        zone = config.company.timezone
        return display, *read_database(source, display, header_only=header_only, zone=zone)
    path = source_file(config, source)  # a file, or a command's output
    # in messages: as the command names the folder's files
    display = config.named(path) if source.command is None else config.source_name(source)
    if source.is_sqlite:
        header, rows = read_sqlite(path, source, display, header_only=header_only)
    else:
        header, rows = read_csv(path, source, display, progress, header_only=header_only)
        if source.reshapes:
            setting = next(s for s in SOURCE_FIELDS if getattr(config, s) is source)
            parser = ValueParser(source, setting, config.company.region)
            header, rows = reshape(
                header,
                rows,
                source,
                display,
                setting,
                source.columns.get("issue_date", "issue_date") if setting == "invoices" else None,
                lambda value: _reads(parser.date, value),
            )
    return display, header, rows


def _reads(parse: Callable[[str], object], value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True


SAMPLE_ROWS = 5  # the first rows a template is tried with when the sample's values fail it


@dataclass(frozen=True)
class SampleRow:
    """One of a source's first rows, as `validate` renders templates with it."""

    display: str  # the source's file, as messages name it
    line: int
    customer_id: str  # as the row has it ("" when it has none)
    extra: dict[str, str]  # its value of each extra column


@dataclass(frozen=True)
class SourceSamples:
    """The source's columns that are no canonical field (`invoice.extra.NAME` in templates),
    each with a real value to render templates with: the first one filled in among the
    source's first rows (`<NAME>` when none is); and its first SAMPLE_ROWS rows, each whole."""

    display: str
    extra: dict[str, str]
    rows: list[SampleRow]


def source_samples(
    config: Config, source: SourceConfig | None, fields: Sequence[str]
) -> SourceSamples | None:
    """The samples of a source (none without one); None when it cannot be read now
    (`validate` in CI often runs without the data)."""
    if source is None:
        return SourceSamples("", {}, [])
    if source.command is not None or source.is_database:
        # `validate` runs no program (it must be quick, and change nothing), and a project is
        # loaded without reaching a server (`--offline`, the hooks' sample, each command)
        return None
    try:
        display, header, blocks = open_source(config, source)
        try:
            lines, first = next(blocks, ((), []))  # one block of rows is plenty
        finally:
            blocks.close()  # a generator: this closes the file
    except ArflowError:
        return None
    mapped = {source.columns.get(f, f).strip().casefold() for f in fields}
    extra = [
        i for i, name in enumerate(header) if name.strip() and name.strip().casefold() not in mapped
    ]
    whole = [
        (line, row)
        for line, row in zip(lines, first, strict=False)
        if isinstance(row, list) and len(row) == len(header)
    ]
    names = [h.strip().casefold() for h in header]
    key = source.columns.get("customer_id", "customer_id").strip().casefold()
    at = names.index(key) if key in names else None
    return SourceSamples(
        display,
        {
            header[i]: next((row[i] for _, row in whole if row[i].strip()), f"<{header[i]}>")
            for i in extra
        },
        [
            SampleRow(
                display, line, row[at] if at is not None else "", {header[i]: row[i] for i in extra}
            )
            for line, row in whole[:SAMPLE_ROWS]
        ],
    )


# each source's fields, and those a file must have a column for
SOURCE_FIELDS = {
    "invoices": (INVOICE_FIELDS, INVOICE_REQUIRED),
    "customers": (CUSTOMER_FIELDS, ("customer_id",)),
    "contacts": (CONTACT_FIELDS, ("customer_id", "role")),
}


def header_read(config: Config, setting: str) -> SourceRead:
    """The header of the source `setting` ("invoices" or "customers") as a `SourceRead`
    without rows: the column of each field and the columns no field uses, checked against
    `columns:` (and `header_row:`, `headings:`, `skip_if:`, look-alike names); ArflowError
    says what stops it before its rows."""
    source = getattr(config, setting)
    fields, required = SOURCE_FIELDS[setting]
    display, header, _ = open_source(config, source, header_only=True)
    index = column_index(header, source, fields, required, display, setting)
    used = set(index.values())
    return SourceRead(
        setting,
        display,
        {f: header[i].strip() for f, i in index.items()},
        tuple(h for i, h in enumerate(header) if i not in used and h.strip()),
    )


def contact_roles(config: Config) -> set[str] | None:
    """The roles a workflow may name (issue 33): `billing` and those of the contacts file;
    None when the contacts file is not there or cannot be read (CI without customer data:
    any name may be a role)."""
    source = config.contacts
    if source is None:
        return {BILLING}
    if config.source_missing(source) or source.command is not None or source.is_database:
        return None  # no program is run, no server reached to load a project
    try:
        display, header, blocks = open_source(config, source)
        with closing(blocks):
            at = column_index(header, source, CONTACT_FIELDS, ("role",), display, "contacts")[
                "role"
            ]
            found = {row[at].strip().lower() for _, rows in blocks for row in rows if len(row) > at}
    except ArflowError:
        return None
    return (found - {""}) | {BILLING}


def present_headers(config: Config, *, offline: bool = False) -> list[SourceRead]:
    """The header of each source whose file is there (`header_read`); `offline`: no database
    is asked."""
    return [
        header_read(config, setting)
        for setting in SOURCE_FIELDS
        if getattr(config, setting) is not None
        and not _passed_over(config, getattr(config, setting), offline)
    ]


def _passed_over(config: Config, source: SourceConfig, offline: bool) -> bool:
    """A source `validate` does not read: a file that is not there (CI checks workflows
    without the ledger), a database when `--offline` (CI cannot reach it), a command (validate
    runs no program: it is quick and changes nothing; `_program_problems` looks for it)."""
    return (
        config.source_missing(source)
        or (offline and source.is_database)
        or source.command is not None
    )


def source_problems(config: Config, *, offline: bool = False) -> list[Problem]:
    """What stops each source before its rows (`header_read`), then what refuses it whole
    (SPEC 2.4: dates in another format than date_format:, more bad rows than max_bad_rows:).
    A file that is not there is no problem here: CI checks workflows without the ledger. A
    command is not run (`validate` must be quick and change nothing): only its program is
    looked for."""
    problems = _program_problems(config)
    present = 0
    for setting in SOURCE_FIELDS:
        source = getattr(config, setting)
        if source is None or _passed_over(config, source, offline):
            continue
        present += 1
        try:
            header_read(config, setting)
        except ArflowError as exc:
            problems.append(_problem(config, setting, exc))
    wanted = sum(getattr(config, setting) is not None for setting in SOURCE_FIELDS)
    if not problems and present == wanted:
        try:
            load_ledger(config)
        except SourceRefused as exc:
            problems.append(_problem(config, exc.setting, exc, exc.key))
    return problems


def _program_problems(config: Config) -> list[Problem]:
    """Each command source's program that cannot be started (not found, not executable)."""
    problems = []
    for setting in (*SOURCE_FIELDS, "payments"):
        source = getattr(config, setting)
        problem = None if source is None or not source.command else program_problem(config, source)
        if problem is not None:
            problems.append(_problem(config, setting, ArflowError(problem), "command"))
    return problems


def _problem(config: Config, setting: str, exc: ArflowError, key: str = "columns") -> Problem:
    return Problem(config.display(config.path), config.line(setting, key), setting, str(exc))


def load_ledger(
    config: Config,
    progress: Progress | None = None,
    *,
    reference: bool = False,
    check_phones: bool = False,
) -> Ledger:
    """Read customers then invoices; bad rows are held back in `errors`, good rows go on.
    `progress(done, total)` hears how far through the invoices file reading is.

    Phone numbers are checked when something asks a customer for its number (an SMS planned
    tonight, a listing that shows it), each bad one reported among `errors` then (issue 30:
    a night texts few of many customers); `check_phones` checks every one now, as `arflow
    sources` shows them.

    `reference` takes the plain way for every row (the csv module, and the careful row
    parsers that say what is wrong with a row): slower, and the same ledger; the tests hold
    the fast path to it."""
    with collector_paused():  # invoices and customers hold no reference cycles
        return _load(config, progress, reference, check_phones)


def _load(config: Config, progress: Progress | None, reference: bool, check_phones: bool) -> Ledger:
    region = config.company.region
    errors: list[RowError] = []
    from_file: dict[str, Customer] = {}
    reads = []
    if config.customers is not None:
        display, header, blocks = open_source(config, config.customers)
        parser = ValueParser(config.customers, "customers", region, check_phones)
        with closing(blocks):  # a missing column stops the file before its rows are read
            from_file, errors, read = build_customers(
                header,
                _reader(config, config.customers, header, blocks, reference),
                config.customers,
                display,
                parser,
                careful=reference,
            )
        reads.append(read)
    source = config.invoices
    display, header, blocks = open_source(config, source, progress)
    invoice_parser = ValueParser(source, "invoices", region, check_phones)
    builder = InvoiceBuilder(
        source,
        display,
        invoice_parser,
        from_file,
        config.company.currency,
        config.company.terms,
    )
    with closing(blocks):
        frame = builder.build_frame(
            header, _slices(config, source, header, blocks, reference, progress), careful=reference
        )
    errors.extend(builder.errors)
    reads.insert(0, builder.read)
    errors.sort(key=lambda e: (e.file, e.line))
    phone_column = builder.read.fields.get("phone", "phone")
    phones = phone_of(invoice_parser, lambda line: (display, line, phone_column), errors)
    customers = merge_customers(frame, from_file, builder.columns, phones)
    if config.contacts is not None:  # issue 33: people at each customer, in roles
        reads.append(read_contacts(config, open_source(config, config.contacts), customers, errors))
        errors.sort(key=lambda e: (e.file, e.line))
    return Ledger(
        customers=customers,
        errors=errors,
        frame=frame,
        extra_names=builder.extra_names,
        reads=reads,
    )


def _reader(
    config: Config,
    source: SourceConfig,
    header: list[str],
    blocks: Blocks,
    reference: bool,
    progress: Progress | None = None,
) -> Callable[[], TextRows]:
    """How to read the source's rows: polars for a plain CSV file, else the block reader."""

    def read() -> TextRows:
        fast = (
            None
            if source.is_database or source.is_sqlite or source.reshapes or reference
            else plain_csv(source_file(config, source), source, header, progress)
        )
        return from_blocks(header, blocks) if fast is None else fast

    return read


def _slices(
    config: Config,
    source: SourceConfig,
    header: list[str],
    blocks: Blocks,
    reference: bool,
    progress: Progress | None = None,
) -> Slices:
    """How to read the source's rows a slice at a time (`frames.Slices`): polars for a plain
    CSV file, else the block reader."""

    def read(plain: bool) -> Iterator[TextRows]:
        if plain and not (source.is_database or source.is_sqlite or source.reshapes or reference):
            return plain_slices(source_file(config, source), source, header, progress)
        return block_slices(header, blocks)

    return read
