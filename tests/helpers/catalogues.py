"""The translation catalogues for tests: read, compile, extract, and check a catalogue.

Bokmål is the source language (every msgid); ``en`` and ``nn`` are catalogues in
portal/translations. Which texts nynorsk must cover is not a list kept by hand: it is what
babel finds in the files named by babel-consumer.cfg (what a private person reads).
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "portal" / "translations"
ALL_TEXTS = ROOT / "babel.cfg"
CONSUMER_TEXTS = ROOT / "babel-consumer.cfg"
KEYWORDS = ("_l", "lazy_gettext", "N_")

# %(name)s, %(num)d ... exactly as Flask-Babel fills them in.
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]")


def po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def read_catalogue(path: Path, locale: str) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def compile_catalogue(locale: str) -> Catalog:
    """Compile the locale's .po into the .mo beside it (atomically: parallel workers may do the
    same), as `make translations` does; returns the catalogue."""
    catalogue = read_catalogue(po_path(locale), locale)
    folder = po_path(locale).parent
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".messages-", suffix=".mo")
    try:
        with os.fdopen(fd, "wb") as fh:
            write_mo(fh, catalogue)
        os.replace(tmp, folder / "messages.mo")
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return catalogue


def extract(mapping: Path, out_dir: Path) -> Catalog:
    """Extract the texts of the files a babel mapping names, as `make messages` does."""
    pot = out_dir / f"{mapping.stem}.pot"
    args = ["pybabel", "-q", "extract", "-F", str(mapping)]
    for keyword in KEYWORDS:
        args += ["-k", keyword]
    CommandLineInterface().run([*args, "--no-location", "--sort-by-file", "-o", str(pot), str(ROOT)])
    return read_catalogue(pot, "nb")


def mapping_patterns(mapping: Path) -> list[str]:
    """The file patterns of a babel mapping (``[python: portal/x/**.py]`` → ``portal/x/**.py``)."""
    found = re.findall(r"^\[\w+:\s*([^\]]+)\]", mapping.read_text(encoding="utf-8"), re.MULTILINE)
    return [p.strip() for p in found]


def forms(value) -> tuple[str, ...]:
    """msgid/msgstr as a tuple: one element, or the singular and plural forms."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def key(msgid) -> str:
    return forms(msgid)[0]


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def problems(catalogue: Catalog, required: set[str]) -> dict[str, list[str]]:
    """What is wrong with a catalogue for the texts it must translate (msgid keys):
    ``missing`` (not in the catalogue), ``empty`` (a form without text), ``fuzzy``, and
    ``placeholders`` (names differ from the msgid's, checked for every translated entry)."""
    entries = {key(m.id): m for m in catalogue if m.id}
    found: dict[str, list[str]] = {"missing": [], "empty": [], "fuzzy": [], "placeholders": []}
    for msgid in sorted(required):
        m = entries.get(msgid)
        if m is None:
            found["missing"].append(msgid)
        elif not all(s.strip() for s in forms(m.string)):
            found["empty"].append(msgid)
        elif m.fuzzy:
            found["fuzzy"].append(msgid)
    for m in entries.values():
        ids, strings = forms(m.id), forms(m.string)
        for i, text in enumerate(strings):
            source = ids[min(i, len(ids) - 1)]
            if text and placeholders(text) != placeholders(source):
                found["placeholders"].append(f"{source!r} -> {text!r}")
    return {kind: items for kind, items in found.items() if items}


def report(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{kind}:\n  " + "\n  ".join(map(repr, items)) for kind, items in found.items())
