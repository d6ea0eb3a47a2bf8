"""How names are compared: the one normalisation behind the stored search column,
the search itself and the duplicate check, so that every path (PostgreSQL's trigram
search, SQLite's plain substring search, the duplicate warning) agrees on what
"the same name" is.

"Siobhán D'Arcy", "SIOBHAN D\u2019ARCY" (a typographic apostrophe) and "siobhan
darcy" all become "siobhan darcy".
"""

from __future__ import annotations

import re
import unicodedata

# Apostrophes as people type them: ASCII ', the typographic right and left quotes,
# the backtick, the acute accent, the modifier letters (Hawaiian okina, Ukrainian
# names) and the prime. They are dropped, so "d'arcy" and "darcy" are one name.
APOSTROPHES = "'\u2019\u2018`\u00b4\u02bc\u02bb\u2032"
# Hyphens and dashes join double names: "Smith-Jones" is found by "smith jones".
HYPHENS = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
# Letters that Unicode does not decompose into a base letter and an accent.
LETTERS = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "ı": "i"}
)
_DROPPED = str.maketrans("", "", APOSTROPHES)
_SPACED = str.maketrans(dict.fromkeys(HYPHENS + ",.;", " "))
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """`text` casefolded, without accents or apostrophes, hyphens and commas as
    spaces, and single spaces between words."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = text.translate(LETTERS).translate(_DROPPED).translate(_SPACED)
    return _SPACES.sub(" ", text).strip()


def name_key(*, given_name: str, family_name: str) -> str:
    """What the patient's name is stored and compared as: family name first, as the
    patients list shows it ("D'Arcy, Siobhán" -> "darcy siobhan")."""
    return normalise(f"{family_name} {given_name}")
