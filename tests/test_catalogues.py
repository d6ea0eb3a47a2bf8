"""The translations' catalogues are complete: every message of locale/<lang>/ has its
translation in each language the clinic offers, none empty or fuzzy (a guess that
makemessages made from a changed string), with the plural forms of the language and
only the placeholders of the English. `make messages` gathers new strings in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.LOCALE_PATHS[0])
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != "en"]
KEYWORD = re.compile(r"(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(\".*\")$")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgid: str = ""
    plural: str | None = None
    strings: dict[int, str] = field(default_factory=dict)


def unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), m.group(0)), text.strip()[1:-1])


def read_catalogue(path: Path) -> list[Entry]:
    """The entries of a .po file (obsolete ones, #~, are left out)."""
    entries: list[Entry] = []
    entry, target = Entry(line=1), None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            if target is not None:
                entries.append(entry)
            entry, target = Entry(line=number + 1), None
        elif line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif match := re.match(
            r"(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(\".*\")$", line
        ):
            keyword, index, text = match.groups()
            target = (keyword, int(index or 0))
            setattr_text(entry, target, unquote(text), append=False)
        elif line.startswith('"') and target is not None:
            setattr_text(entry, target, unquote(line), append=True)
    if target is not None:
        entries.append(entry)
    return entries


def setattr_text(entry: Entry, target: tuple[str, int], text: str, *, append: bool) -> None:
    keyword, index = target
    if keyword == "msgstr":
        entry.strings[index] = entry.strings.get(index, "") + text if append else text
    elif keyword == "msgid":
        entry.msgid = entry.msgid + text if append else text
    elif keyword == "msgid_plural":
        entry.plural = (entry.plural or "") + text if append else text


def plural_forms(entries: list[Entry]) -> int:
    header = next(entry for entry in entries if entry.msgid == "")
    return int(re.search(r"nplurals=(\d+)", header.strings[0]).group(1))


def problems(path: Path) -> list[str]:
    entries = read_catalogue(path)
    forms = plural_forms(entries)
    found = []
    for entry in entries:
        if entry.msgid == "":
            continue
        where = f"{path.relative_to(LOCALE)}:{entry.line} {entry.msgid[:60]!r}"
        if "fuzzy" in entry.flags:
            found.append(f"{where}: fuzzy")
        expected = forms if entry.plural is not None else 1
        strings = [entry.strings.get(index, "") for index in range(expected)]
        if not all(s.strip() for s in strings):
            found.append(f"{where}: not translated")
        known = set(PLACEHOLDER.findall(entry.msgid + (entry.plural or "")))
        for string in strings:
            if unknown := set(PLACEHOLDER.findall(string)) - known:
                found.append(f"{where}: placeholders {sorted(unknown)} are not in the English")
    return found


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(language):
    path = LOCALE / language / "LC_MESSAGES" / "django.po"
    assert path.exists(), f"No catalogue for {language}: run `make messages`."

    assert problems(path) == []


def test_the_catalogues_read_here_are_those_django_reads():
    """The reader above understands the files: it finds as many messages as msgfmt's
    statistics would, a plural with each form."""
    entries = read_catalogue(LOCALE / "ar" / "LC_MESSAGES" / "django.po")

    assert len(entries) > 900
    plurals = [entry for entry in entries if entry.plural is not None]
    assert plurals
    assert all(len(entry.strings) == 6 for entry in plurals)


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalogues_are_compiled(language):
    """Django reads the .mo that `make install` compiles from the .po (not in git)."""
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    mo = po.with_suffix(".mo")

    assert mo.exists(), f"{mo} is missing: run `make install`."
    assert mo.stat().st_mtime >= po.stat().st_mtime, f"{mo} is older than its .po: `make install`."
