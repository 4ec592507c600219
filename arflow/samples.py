"""The contexts `validate` (and every command, before it acts) renders the templates in, and
whose values a failure depends on.

A template is checked in the sample context: made-up values, with the sources' extra columns
holding their first filled value. When that fails, the template is tried again with each of
the sources' first rows (that row's own values and customer id), and with the data's values
left empty (any row may have an empty cell). A template that renders in none of them is broken:
a problem, and nothing is done. A template one of them renders is not: its failure depends on a
row's values, and at run time it is that one message's error (the others go out, exit 3); here
it is a warning naming the row."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from arflow.config import CUSTOMER_FIELDS, INVOICE_FIELDS, Config
from arflow.contexts import sample_context, with_payment_links
from arflow.render import RenderError, Templates, payment_link
from arflow.sources import SampleRow, SourceSamples, source_samples

# the shapes of context a template meets: (person set, invoices paid, statement set) → how
# errors name it; the first is the fullest
SHAPES = {
    (True, False, True): "",
    (False, False, True): " (in a campaign's customer message, where person is not set)",
    (True, False, False): "",
    (False, False, False): " (in a customer message, where person is not set)",
    (True, True, False): " (in on_paid, where the invoices are paid)",
    (False, True, False): " (in a customer message in on_paid: no person, invoices paid)",
}
FULLEST = next(iter(SHAPES))
SAMPLE_ID = "C001"  # the sample customer's id (a real customer may have it too)
NO_DATA_ID = "SAMPLE"  # the customer of the context without the data's values
# whose values failed a template when no row of the data does: the sample's made-up ones
SAMPLE_VALUES = f"the sample customer {SAMPLE_ID} (made up, each extra column's first value)"


class Samples:
    """The sample context of each shape (`base`), and the other contexts a template that
    fails in one is tried in (`depends_on`), made only then."""

    def __init__(self, config: Config, templates: Templates):
        self.config = config
        self.templates = templates
        self.invoices = source_samples(config, config.invoices, INVOICE_FIELDS)
        self.customers = source_samples(config, config.customers, CUSTOMER_FIELDS)
        self.base = {
            shape: self._context(shape, _first(self.invoices), _first(self.customers))
            for shape in SHAPES
        }
        self._others: dict[tuple, list[tuple[str | None, dict]]] = {}

    def _context(
        self,
        shape: tuple,
        invoice_extra: dict[str, str] | None,
        customer_extra: dict[str, str] | None,
        customer_id: str = SAMPLE_ID,
    ) -> dict:
        person, paid, statement = shape
        context = sample_context(
            self.config,
            person=person,
            paid=paid,
            statement=statement,
            invoice_extra=invoice_extra,
            customer_extra=customer_extra,
            customer_id=customer_id,
        )
        return with_payment_links(context, self._link) if self.config.payment_url else context

    def _link(self, context: dict) -> str | None:
        """A payment link in a sample (None when it cannot be made: `link_error` tells)."""
        try:
            return self.link(context)
        except RenderError:
            return None

    def link(self, context: dict) -> str | None:
        return payment_link(self.templates, cast(str, self.config.payment_url), context)

    def others(self, shape: tuple) -> list[tuple[str | None, dict]]:
        """The contexts of the shape with the data's first rows' values, each named by its
        row, and the one without the data's values (named None)."""
        if shape not in self._others:
            invoices, customers = _first(self.invoices), _first(self.customers)
            found: list[tuple[str | None, dict]] = []
            for row, extras in [
                *((r, (r.extra, customers)) for r in _rows(self.invoices)),
                *((r, (invoices, r.extra)) for r in _rows(self.customers)),
            ]:
                context = self._context(shape, *extras, row.customer_id or SAMPLE_ID)
                found.append(
                    (f"{row.display} line {row.line} (customer {row.customer_id})", context)
                )
            empty = self._context(shape, _empty(invoices), _empty(customers), NO_DATA_ID)
            self._others[shape] = [*found, (None, empty)]
        return self._others[shape]

    def depends_on(self, shape: tuple, fails: Callable[[dict], bool]) -> str | None:
        """What a failure in the shape's sample depends on, asked of the other contexts
        (`fails(context)`: it fails there too): None when it fails in every one (the template
        is broken), else the first row it fails with (or the sample's values)."""
        tried = [(label, fails(context)) for label, context in self.others(shape)]
        if all(failed for _, failed in tried):
            return None
        return next((label for label, failed in tried if label and failed), SAMPLE_VALUES)


def _first(samples: SourceSamples | None) -> dict[str, str] | None:
    """The extra columns' first values (None: the source could not be read, any name)."""
    return None if samples is None else samples.extra


def _rows(samples: SourceSamples | None) -> list[SampleRow]:
    return [] if samples is None else samples.rows


def _empty(extra: dict[str, str] | None) -> dict[str, str] | None:
    return None if extra is None else dict.fromkeys(extra, "")


def data_warning(message: str, row: str) -> str:
    """A problem that depends on a row's values, said as a warning."""
    return (
        f"{message} — with the values of {row}; it renders with other values, so a run does not "
        "stop for it: that message is not sent and is reported (exit 3), the others go"
    )
