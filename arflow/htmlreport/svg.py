"""The report's charts as inline SVG, drawn here from the document's numbers: no library, no
script, no request. Each mark carries its figure in `data-*` attributes (the number the
document holds, unformatted) beside the text a person reads, so the page can be checked
against the JSON of `aging`, `kpi` and `forecast`. Every series is told apart by a pattern and
a label as well as a colour: the charts read in black and white."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

# the aging buckets, best to worst: a fill and a pattern each (print and colour-blind readers)
FILLS = {
    "current": ("#2f855a", None),
    "1-30": ("#d69e2e", "dots"),
    "31-60": ("#dd6b20", "hatch"),
    "61-90": ("#c53030", "cross"),
    "90+": ("#63171b", "solid-dark"),
}
INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#e4e7eb"
FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'


def attrs(**values: object) -> str:
    """`data-*` attributes, escaped, in the order given (`data_value` → `data-value`)."""
    return "".join(
        f' {name.replace("_", "-")}="{escape("" if v is None else str(v))}"'
        for name, v in values.items()
    )


def patterns(prefix: str) -> str:
    """The fills' patterns, defined once per chart, their ids prefixed with the chart's (ids
    are the page's: two charts must not share one)."""
    return (
        "<defs>"
        f'<pattern id="{prefix}-dots" width="6" height="6" patternUnits="userSpaceOnUse">'
        '<rect width="6" height="6" fill="#d69e2e"/><circle cx="3" cy="3" r="1.2" fill="#fff"/>'
        "</pattern>"
        f'<pattern id="{prefix}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#dd6b20"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2"/></pattern>'
        f'<pattern id="{prefix}-cross" width="6" height="6" patternUnits="userSpaceOnUse">'
        '<rect width="6" height="6" fill="#c53030"/>'
        '<path d="M0 0L6 6M6 0L0 6" stroke="#fff" stroke-width="1"/></pattern>'
        "</defs>"
    )


def fill_of(bucket: str, prefix: str) -> str:
    colour, pattern = FILLS[bucket]
    return f"url(#{prefix}-{pattern})" if pattern in ("dots", "hatch", "cross") else colour


@dataclass(frozen=True, slots=True)
class Segment:
    key: str  # the bucket
    value: Decimal
    label: str  # as a person reads it


def stacked_bar(name: str, currency: str, segments: Sequence[Segment], width: int = 640) -> str:
    """One currency's aging as a bar of its buckets, each as wide as its share, with the
    bucket's name and amount under it."""
    total = sum((s.value for s in segments if s.value > 0), Decimal(0))
    height, bar = 86, 30
    parts = [
        f'<svg class="chart" data-chart="{escape(name)}" role="img" viewBox="0 0 {width} '
        f'{height}" width="100%" {FONT} font-size="12" aria-label="Aging, {escape(currency)}">',
        patterns(ident := f"aging-{escape(currency)}"),
    ]
    x = 0.0
    for s in segments:
        if s.value <= 0 or total <= 0:
            continue
        w = float(s.value / total) * width
        parts.append(
            f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="{bar}" '
            f'fill="{fill_of(s.key, ident)}" stroke="#fff"'
            f"{attrs(data_currency=currency, data_bucket=s.key, data_value=s.value)}>"
            f"<title>{escape(s.key)}: {escape(s.label)}</title></rect>"
        )
        x += w
    parts.append(_legend(segments, bar + 8, width, ident))
    parts.append("</svg>")
    return "".join(parts)


def _legend(segments: Sequence[Segment], y: int, width: int, ident: str) -> str:
    """The buckets in a row under the bar: a swatch, the name and the amount each."""
    step = width / max(len(segments), 1)
    found = []
    for n, s in enumerate(segments):
        x = n * step
        found.append(
            f'<rect x="{x:.1f}" y="{y}" width="12" height="12" fill="{fill_of(s.key, ident)}" '
            f'stroke="{INK}" stroke-width="0.5"/>'
            f'<text x="{x + 16:.1f}" y="{y + 10}" fill="{INK}">{escape(s.key)}</text>'
            f'<text x="{x:.1f}" y="{y + 30}" fill="{INK}" font-weight="bold">'
            f"{escape(s.label)}</text>"
        )
    return "".join(found)


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # the day, or the step
    value: Decimal
    label: str  # the value as read
    caption: str  # under the column
    data: dict[str, object]


def columns(
    name: str, title: str, cols: Sequence[Column], width: int = 640, height: int = 150
) -> str:
    """Vertical bars with their value above and a caption under each (the forecast's days)."""
    top = max((c.value for c in cols), default=Decimal(0))
    plot = height - 40
    step = width / max(len(cols), 1)
    parts = [
        f'<svg class="chart" data-chart="{escape(name)}" role="img" viewBox="0 0 {width} '
        f'{height}" width="100%" {FONT} font-size="11" aria-label="{escape(title)}">',
        f'<line x1="0" y1="{plot + 16}" x2="{width}" y2="{plot + 16}" stroke="{GRID}"/>',
    ]
    for n, c in enumerate(cols):
        h = float(c.value / top) * (plot - 4) if top > 0 else 0.0
        x = n * step + step * 0.15
        y = plot + 16 - h
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
            f'fill="#3e6b9a"{attrs(**c.data)}><title>{escape(c.caption)}: '
            f"{escape(c.label)}</title></rect>"
            f'<text x="{x + step * 0.35:.1f}" y="{y - 3:.1f}" text-anchor="middle" '
            f'fill="{INK}">{escape(c.label)}</text>'
            f'<text x="{x + step * 0.35:.1f}" y="{height - 8}" text-anchor="middle" '
            f'fill="{MUTED}">{escape(c.caption)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class Point:
    month: str
    value: Decimal | None
    data: dict[str, object]


def line(
    name: str,
    title: str,
    points: Sequence[Point],
    shown: Callable[[Decimal], str],
    width: int = 300,
    height: int = 110,
) -> str:
    """A small line of one KPI over the months (a gap where it had no value), its first and
    last values written at their points."""
    values = [p.value for p in points if p.value is not None]
    low = min(values, default=Decimal(0))
    high = max(values, default=Decimal(1))
    span = high - low or Decimal(1)
    plot_top, plot_bottom = 18, height - 22
    left, step = 14, (width - 28) / max(len(points) - 1, 1)

    def y_of(v: Decimal) -> float:
        return plot_bottom - float((v - low) / span) * (plot_bottom - plot_top)

    parts = [
        f'<svg class="chart spark" data-chart="{escape(name)}" role="img" viewBox="0 0 '
        f'{width} {height}" width="100%" {FONT} font-size="10" aria-label="{escape(title)}">'
    ]
    path, pen = [], "M"
    for n, p in enumerate(points):
        if p.value is None:
            pen = "M"
            continue
        path.append(f"{pen}{left + n * step:.1f} {y_of(p.value):.1f}")
        pen = "L"
    if path:
        parts.append(f'<path d="{" ".join(path)}" fill="none" stroke="#3e6b9a" stroke-width="2"/>')
    for n, p in enumerate(points):
        x = left + n * step
        anchor = "start" if n == 0 else "end"  # the ends' labels stay inside the chart
        if p.value is not None:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y_of(p.value):.1f}" r="3" fill="#3e6b9a"'
                f"{attrs(**p.data)}><title>{escape(p.month)}: {escape(shown(p.value))}"
                "</title></circle>"
            )
            if n in (0, len(points) - 1):
                parts.append(
                    f'<text x="{x - 4 if n else x + 4:.1f}" y="{y_of(p.value) - 6:.1f}" '
                    f'text-anchor="{anchor}" fill="{INK}">{escape(shown(p.value))}</text>'
                )
        if n in (0, len(points) - 1):
            parts.append(
                f'<text x="{x:.1f}" y="{height - 6}" text-anchor="{anchor}" fill="{MUTED}">'
                f"{escape(p.month)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)
