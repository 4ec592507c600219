"""`arflow report --html` (issue 34): one self-contained HTML page a controller opens — aging by
bucket and currency, the largest accounts, the collections KPIs with their formulas and their
trend, what arflow did in the last 30 days, what comes in the next 14, and how soon each step
was followed by payment.

`figures` turns what a command read (the aging, the ledger, the history, the forecast) into one
document of plain data; `svg` draws its charts; `page` writes the page (and `digest` the weekly
summary email) from that document alone, so every number on the page is one of the document's."""
