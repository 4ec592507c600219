"""Language and locale codes, as a person writes them (`de`, `de-DE`, `de_DE`), read the one
way: the company's `locale`, a customer's `language`, and a template file's language."""

from __future__ import annotations

from functools import lru_cache

import babel


@lru_cache(maxsize=256)
def locale_code(raw: str) -> str:
    """`raw` as babel names it (`de-de` → `de_DE`), or ValueError with the fix."""
    text = raw.strip()
    try:
        return str(babel.Locale.parse(text.replace("-", "_")))
    except (ValueError, TypeError, babel.UnknownLocaleError):
        raise ValueError(
            f"{raw!r} is not a language code babel knows; write one such as de, "
            "fr or de_CH (language, then an optional country)"
        ) from None


def fallbacks(code: str) -> tuple[str, ...]:
    """The template languages to try for `code`, nearest first: `de_CH` → (`de_CH`, `de`)."""
    language = code.split("_", 1)[0]
    return (code,) if language == code else (code, language)
