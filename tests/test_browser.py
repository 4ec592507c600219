"""The real-browser harness (tests/browser.py) against pages written here: what a page says, what
it asks the network for, how it prints and how it fits a phone, each seen by headless Chromium."""

from __future__ import annotations

import time

import pytest

from tests.browser import Browser, BrowserError, Message, Table, cut_tables

HEAD = '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
FLUID = '<meta name="viewport" content="width=device-width, initial-scale=1">'


def write(tmp_path, name: str, body: str, *, head: str = "", title: str = "Fixture") -> str:
    page = tmp_path / name
    page.write_text(HEAD.format(title=title) + head + "</head><body>" + body + "</body></html>")
    return str(page)


def test_a_clean_page_says_nothing_and_asks_for_nothing(browser, tmp_path):
    page = write(tmp_path, "clean.html", "<h1>Receivables</h1><p>USD 1,250.00</p>", title="Clean")
    visit = browser.visit(page)
    assert visit.messages == []
    assert visit.requests == []
    assert visit.url == (tmp_path / "clean.html").as_uri()
    assert visit.evaluate("document.title") == "Clean"
    assert visit.evaluate("[...document.querySelectorAll('h1, p')].map(e => e.textContent)") == [
        "Receivables",
        "USD 1,250.00",
    ]


def test_console_errors_and_uncaught_exceptions_are_caught_with_their_text(browser, tmp_path):
    page = write(
        tmp_path,
        "noisy.html",
        '<p>x</p><script>console.error("x");\nconsole.warn("amount", 12.5, true);\n'
        'throw new Error("the chart has no data");</script>',
    )
    visit = browser.visit(page)
    url = (tmp_path / "noisy.html").as_uri()
    assert visit.messages == [
        Message("console", "error", "x", url),
        Message("console", "warning", "amount 12.5 True", url),
        Message("exception", "error", f"Error: the chart has no data\n    at {url}:3:7", url),
    ]
    assert visit.requests == []


def test_an_image_from_a_server_is_a_request_the_server_saw(browser, tmp_path, http_server):
    page = write(tmp_path, "tracking.html", f'<img src="{http_server.url}/pixel.png" alt="">')
    visit = browser.visit(page)
    assert visit.requests == [f"{http_server.url}/pixel.png"]
    assert [(r.method, r.path) for r in http_server.requests] == [("GET", "/pixel.png")]


def test_a_file_next_to_the_page_is_a_request_and_its_failure_a_log_entry(browser, tmp_path):
    page = write(tmp_path, "styled.html", "<p>x</p>", head='<link rel="stylesheet" href="a.css">')
    visit = browser.visit(page)
    css = (tmp_path / "a.css").as_uri()
    assert visit.requests == [css]
    assert visit.messages == [
        Message("log", "error", "Failed to load resource: net::ERR_FILE_NOT_FOUND", css)
    ]


def test_data_and_blob_urls_are_the_page_s_own_bytes_not_requests(browser, tmp_path):
    gif = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
    page = write(
        tmp_path,
        "inline.html",
        f'<img id="a" src="{gif}" alt=""><img id="b" alt="">'
        "<script>document.getElementById('b').src = URL.createObjectURL("
        "new Blob(['<svg xmlns=\"http://www.w3.org/2000/svg\"/>'], {type: 'image/svg+xml'}));"
        "</script>",
    )
    visit = browser.visit(page)
    assert visit.evaluate("new Promise(r => setTimeout(() => r(document.images.length), 50))") == 2
    blob = visit.evaluate("document.getElementById('b').src")
    assert blob.startswith("blob:")
    assert visit.requests == []
    assert sorted(visit.inline) == sorted([gif, blob])
    assert visit.messages == []


def test_evaluate_fails_the_test_with_the_page_s_error(browser, tmp_path):
    visit = browser.visit(write(tmp_path, "p.html", "<p>x</p>"))
    with pytest.raises(BrowserError, match=r"'nothing\.here' failed in the page: ReferenceError"):
        visit.evaluate("nothing.here")


def test_a_screenshot_is_a_png_of_the_viewport(browser, tmp_path):
    visit = browser.visit(write(tmp_path, "p.html", "<p>x</p>"), width=640, height=360)
    data = visit.screenshot(tmp_path / "shot.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (640, 360)


def _ledger_table(style: str, *, thead: bool = True) -> str:
    """60 rows; rows 28 and 55 hold a note of 16 lines, tall enough to be cut by a page break.
    Heights are set in px, so pages break at the same rows whatever the fonts."""
    rows = "".join(
        f"<tr><td>Customer {i:02d}</td><td>"
        + ("".join(f"<div>n{i}w{j}</div>" for j in range(16)) if i in TALL else "ok")
        + f"</td><td>{i * 100}.00</td></tr>"
        for i in range(1, 61)
    )
    head = "<thead><tr><th>Customer</th><th>Note</th><th>Balance</th></tr></thead>"
    return (
        "<style>body { font: 12px/20px sans-serif } h2 { font-size: 16px; margin: 0 0 10px }"
        "td, th { padding: 4px; height: 20px; white-space: nowrap }"
        f"div {{ height: 20px }} {style}</style>"
        f"<h2>Largest accounts</h2><table>{head if thead else ''}<tbody>{rows}</tbody></table>"
    )


TALL = (28, 55)
PRINT_CSS = "@media print { thead {display: table-header-group} tr {break-inside: avoid} }"


@pytest.mark.parametrize(
    ("style", "thead", "a4", "letter"),
    [
        pytest.param(
            "",
            True,
            [
                "table 'Largest accounts': row 'Customer 28' split over pages 1 and 2",
                "table 'Largest accounts': row 'Customer 55' split over pages 2 and 3",
            ],
            ["table 'Largest accounts': row 'Customer 28' split over pages 1 and 2"],
            id="no print stylesheet: tall rows split (Chromium repeats a thead by itself)",
        ),
        pytest.param(PRINT_CSS, True, [], [], id="the print stylesheet: nothing cut"),
        pytest.param(
            "@media print { thead {display: table-row-group} tr {break-inside: avoid} }",
            True,
            [f"table 'Largest accounts': page {p} holds rows without the header" for p in (2, 3)],
            [f"table 'Largest accounts': page {p} holds rows without the header" for p in (2, 3)],
            id="a header not repeated",
        ),
        pytest.param(
            PRINT_CSS,
            False,
            ["table 'Largest accounts' has no header (thead) to repeat on each page"],
            ["table 'Largest accounts' has no header (thead) to repeat on each page"],
            id="no header at all",
        ),
    ],
)
def test_printed_tables_are_checked_for_cut_rows_and_missing_headers(
    browser, tmp_path, pdf_pages, style, thead, a4, letter
):
    visit = browser.visit(write(tmp_path, "long.html", _ledger_table(style, thead=thead)))
    for paper, expected in (("A4", a4), ("Letter", letter)):
        pages = pdf_pages(visit.print_pdf(tmp_path / f"{paper}.pdf", paper=paper))
        assert cut_tables(visit, pages) == expected, paper


def test_print_pdf_uses_the_paper_asked_for(browser, tmp_path, pdf_pages):
    from pypdf import PdfReader

    visit = browser.visit(
        write(tmp_path, "p.html", "<p>one page</p>", head="<style>@page { size: A3 }</style>")
    )
    # in points: A4 is 595 × 842 (Chromium rounds its 8.27 × 11.69 inches up), Letter 612 × 792
    for paper, size in (("A4", (596, 842)), ("Letter", (612, 792))):
        pdf = visit.print_pdf(tmp_path / f"{paper}.pdf", paper=paper)
        with PdfReader(pdf) as reader:
            box = reader.pages[0].mediabox
            assert (len(reader.pages), round(box.width), round(box.height)) == (1, *size)
        assert pdf_pages(pdf) == ["one page\n"]


def test_cut_tables_reads_rows_in_order_and_names_what_is_missing():
    table = Table(
        "Aging", ["Customer", "Total"], [["Blue Harbor Cafe", "1,200.00"], ["Cedar Labs", "90.00"]]
    )
    pages = ["Customer Total\nBlue Harbor Cafe 1,200.00", "Customer Total\nCedar Labs"]
    assert cut_tables([table], pages) == [
        "table 'Aging': row 'Cedar Labs' is not in the PDF whole (missing '90.00': cut off at "
        "the page's edge?)"
    ]
    # a row is looked for from the page of the row before it: an earlier page holding the same
    # words does not hide a split
    table.rows.append(["Blue Harbor Cafe", "1,200.00"])
    pages = [
        "Customer Total\nBlue Harbor Cafe 1,200.00",
        "Customer Total\nCedar Labs 90.00 Blue",
        "Customer Total\nHarbor Cafe 1,200.00",
    ]
    assert cut_tables([table], pages) == [
        "table 'Aging': row 'Blue Harbor Cafe' split over pages 2 and 3"
    ]


def test_tables_are_found_in_the_page_s_order():
    # the words of the second table's row are in page 1's text as well: its row is looked for
    # from the page where the first table ended
    tables = [
        Table("Aging", ["Currency", "Total"], [["USD", "6,844.50"]]),
        Table("Largest", ["Customer", "Owed"], [["Cedar Labs", "90.00"]]),
    ]
    pages = [
        "Cedar Labs owes 90.00 since March.",
        "Currency Total\nUSD 6,844.50\nCustomer Owed\nCedar Labs 90.00",
    ]
    assert cut_tables(tables, pages) == []
    # two tables with the same header on one page need it twice
    tables = [Table(name, ["Workflow", "Step"], [[name, "a"]]) for name in ("First", "Second")]
    assert cut_tables(tables, ["Workflow Step\nFirst a\nWorkflow Step\nSecond a"]) == []
    assert cut_tables(tables, ["Workflow Step\nFirst a\nSecond a"]) == [
        "table 'Second': page 1 holds rows without the header"
    ]


def test_a_word_broken_after_a_hyphen_is_still_whole():
    # Chromium breaks "past-due-15-30-45" after a hyphen in a narrow cell; pdftotext -raw
    # keeps the two parts as drawn
    table = Table("Steps", ["Workflow", "Step"], [["past-due-15-30-45", "past-due-30"]])
    assert cut_tables([table], ["Workflow Step\npast-due-15-30-\n45 past-due-\n30"]) == []
    assert cut_tables(
        [table], ["Workflow Step\npast-due-15-30-", "Workflow Step\n45 past-due-30"]
    ) == ["table 'Steps': row 'past-due-15-30-45' split over pages 1 and 2"]


def test_a_header_is_what_is_left_of_a_page_once_its_rows_are_taken_out():
    # every row says "Customer": the header's word must be there once more
    table = Table("Customers", ["Customer"], [["Customer C001"], ["Customer C002"]])
    assert cut_tables([table], ["Customer\nCustomer C001", "Customer C002"]) == [
        "table 'Customers': page 2 holds rows without the header"
    ]
    assert cut_tables([table], ["Customer\nCustomer C001", "Customer\nCustomer C002"]) == []
    # the end of a row cut in two is not the next page's header
    table = Table("Notes", ["Customer", "Note"], [["C002", "customer note two"], ["C003", "note"]])
    assert cut_tables([table], ["Customer Note\nC002", "customer note two\nC003 note"]) == [
        "table 'Notes': row 'C002' split over pages 1 and 2",
        "table 'Notes': page 2 holds rows without the header",
    ]
    pages = ["Customer Note\nC002", "Customer Note\ncustomer note two\nC003 note"]
    assert cut_tables([table], pages) == ["table 'Notes': row 'C002' split over pages 1 and 2"]


def test_a_page_wider_than_a_phone_fails_the_phone_check(browser, tmp_path):
    wide = write(
        tmp_path,
        "wide.html",
        '<h1>Aging</h1><table id="aging" style="width: 900px"><tr><td>x</td></tr></table>',
        head=FLUID,
    )
    assert browser.visit(wide).phone_problems() == [
        "on a phone 390 px wide the page is 908 px wide: it scrolls sideways "
        "(table#aging reaches 908 px)"
    ]
    unfit = write(tmp_path, "unfit.html", "<p>no viewport</p>")
    assert browser.visit(unfit).phone_problems() == [
        "on a phone 390 px wide the page is laid out 980 px wide "
        '(no <meta name="viewport" content="width=device-width">)'
    ]


def test_a_fluid_page_passes_the_phone_check(browser, tmp_path):
    fluid = write(
        tmp_path,
        "fluid.html",
        '<h1>Aging</h1><table style="width: 100%"><tr><td>x</td></tr></table>'
        '<svg viewBox="0 0 900 300" style="max-width: 100%"><rect width="900" height="300"/></svg>',
        head=FLUID,
    )
    visit = browser.visit(fluid, width=1200)
    assert visit.phone_problems() == []
    assert visit.evaluate("[window.innerWidth, document.documentElement.scrollWidth]") == [390, 390]


def test_a_hung_page_fails_within_the_deadline_and_the_browser_is_killed(browser, tmp_path):
    page = write(tmp_path, "hung.html", "<p>x</p>")
    with Browser(browser.executable, timeout=2) as hung:
        visit = hung.visit(page)
        started = time.monotonic()
        with pytest.raises(BrowserError, match="did not answer within 2 s: waited for Runtime"):
            visit.evaluate("for (;;) {}")
        assert time.monotonic() - started < 4
        process = hung.process
    assert process is not None and process.returncode is not None


def test_a_browser_that_cannot_start_fails_saying_what_it_said(tmp_path):
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(BrowserError) as failed, Browser(str(fake)):
        pass
    assert str(failed.value) == (
        "Chromium quit while the test waited for Browser.getVersion\n  cannot open display"
    )


def test_print_media_and_the_tables_as_print_shows_them(browser, tmp_path):
    page = write(
        tmp_path,
        "media.html",
        "<style>@media print { .screen { display: none } }</style>"
        '<p class="screen">Open in arflow</p><table aria-label="Aging"><thead><tr><th>Currency</th>'
        '<th class="screen">Chart</th><th>Total</th></tr></thead><tbody><tr><td>USD</td>'
        '<td class="screen">▇▇▇</td><td>6,844.50</td></tr><tr class="screen"><td>EUR</td><td>'
        "</td><td>0.00</td></tr></tbody></table><h2>Largest accounts</h2><div><table><caption>"
        "Top</caption><tr><td>x</td></tr></table></div><table><tbody><tr><td>y</td></tr></tbody>"
        "</table>",
    )
    shown = "getComputedStyle(document.querySelector('p.screen')).display"
    assert browser.visit(page).evaluate(shown) == "block"
    visit = browser.visit(page, media="print")
    assert visit.evaluate(shown) == "none"
    assert visit.tables() == [
        Table("Aging", ["Currency", "Total"], [["USD", "6,844.50"]]),
        Table("Top", [], [["x"]]),
        Table("Largest accounts", [], [["y"]]),
    ]
    assert visit.evaluate(shown) == "none"
    # read under print media, the screen is as it was
    visit = browser.visit(page)
    assert visit.tables()[0].header == ["Currency", "Total"]
    assert visit.evaluate(shown) == "block"


def test_a_visit_ends_when_the_next_begins(browser, tmp_path):
    first = browser.visit(write(tmp_path, "a.html", "<p>a</p>"))
    second = browser.visit(write(tmp_path, "b.html", "<p>b</p>"))
    assert second.evaluate("document.body.textContent") == "b"
    with pytest.raises(BrowserError) as over:
        first.evaluate("1")
    assert (
        str(over.value) == f"Runtime.evaluate: the visit of {first.url} is over (a new one began)"
    )
    tabs = browser.send("Target.getTargets")["targetInfos"]
    assert [t["url"] for t in tabs if t["url"].startswith("file:")] == [second.url]
