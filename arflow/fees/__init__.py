"""Late fees (issue 31): statutory interest, fixed compensation and contractual fees; the
reference is docs/fees.md."""
