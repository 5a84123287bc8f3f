"""Export → gensim round trips, and imports of good and malformed files."""

from pathlib import Path

import numpy as np
import pytest
from gensim.models import KeyedVectors

from wordlens.app.engine import Engine
from wordlens.artifacts import load_model, write_model
from wordlens.cli import main
from wordlens.training import vector_formats
from wordlens.training.vector_formats import VectorFormatError, read_vectors, write_vectors

WORDS = ["the", "Über", "猫", "New_York", "café", "x"]
# As imported: underscores joining words make a phrase (see tests/test_phrases.py).
IMPORTED = ["the", "Über", "猫", "New York", "café", "x"]


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(5)
    matrix = rng.normal(size=(len(WORDS), 7)).astype(np.float32)
    matrix[1, 2] = 1e-38  # extreme values must round-trip too
    matrix[2, 3] = -3.4e38
    return matrix


GENSIM_OPTIONS = {"word2vec": {}, "word2vec-bin": {"binary": True}, "glove": {"no_header": True}}


@pytest.mark.parametrize("fmt", list(GENSIM_OPTIONS))
def test_export_loads_back_in_gensim_unchanged(tmp_path, vectors, fmt):
    model = write_model(
        tmp_path / "m", kind="pmi", words=WORDS, vectors=vectors, counts=np.arange(6, 0, -1)
    )
    out = tmp_path / f"vectors.{fmt}"
    assert main(["-q", "export", str(model), "--format", fmt, str(out)]) == 0
    keyed = KeyedVectors.load_word2vec_format(str(out), **GENSIM_OPTIONS[fmt])
    assert keyed.index_to_key == WORDS
    np.testing.assert_array_equal(keyed.vectors, vectors)
    words, read_back = read_vectors(out, fmt)
    assert words == WORDS
    np.testing.assert_array_equal(read_back, vectors)


@pytest.mark.parametrize("fmt", list(GENSIM_OPTIONS))
def test_import_files_written_by_gensim(tmp_path, vectors, fmt):
    keyed = KeyedVectors(7)
    keyed.add_vectors(WORDS, vectors)
    source = tmp_path / "gensim.vec"
    keyed.save_word2vec_format(
        str(source), binary=fmt == "word2vec-bin", write_header=fmt != "glove"
    )
    models = tmp_path / "models"
    assert (
        main(["-q", "import", str(source), "--format", fmt, "--out", str(models / "imported")]) == 0
    )
    model = load_model(models / "imported")
    assert model.kind == "imported" and model.counts is None and list(model.words) == IMPORTED
    np.testing.assert_allclose(model.vectors, vectors, rtol=1e-6)
    engine = Engine(models).get("imported")
    assert engine.most_similar(["the"], topn=2) == [
        (w.replace("_", " "), pytest.approx(s, rel=1e-5))
        for w, s in keyed.most_similar("the", topn=2)
    ]


def test_limit_and_lowercase_tokenizer(tmp_path, vectors):
    source = tmp_path / "v.txt"
    write_vectors(source, WORDS, vectors, "glove")
    assert (
        main(
            [
                "-q",
                "import",
                str(source),
                "--format",
                "glove",
                "--out",
                str(tmp_path / "m"),
                "--limit",
                "3",
                "--lowercase",
            ]
        )
        == 0
    )
    model = Engine(tmp_path).get("m")
    assert list(model.words) == WORDS[:3]
    assert model.similarity("THE", "the") == pytest.approx(1.0)
    assert model.tokenizer.spec == {"name": "whitespace", "lowercase": True}


@pytest.mark.parametrize(
    ("options", "spec"),
    [
        ([], {"name": "whitespace", "lowercase": False}),
        (["--tokenizer", "english"], {"name": "english"}),
        (["--tokenizer", "jieba", "--no-hmm"], {"name": "jieba", "hmm": False}),
    ],
)
def test_import_records_the_tokenizer_its_options_describe(tmp_path, vectors, options, spec):
    source = tmp_path / "v.txt"
    write_vectors(source, WORDS, vectors, "glove")
    out = tmp_path / "m"
    assert (
        main(["-q", "import", str(source), "--format", "glove", "--out", str(out), *options]) == 0
    )
    assert load_model(out).manifest["tokenizer"] == {**spec, "phrases": []}


def test_a_limit_reads_the_first_words_of_a_file_shorter_than_its_header(tmp_path):
    source = tmp_path / "v.bin"
    entry = b" \x00\x00\x80\x3f\x00\x00\x80\x3f"
    source.write_bytes(b"999999999999 2\na" + entry + b"b" + entry)
    words, vectors = read_vectors(source, "word2vec-bin", limit=1)
    assert words == ["a"] and vectors.tolist() == [[1.0, 1.0]]


@pytest.mark.parametrize(
    ("content", "fmt", "message"),
    [
        (b"3 2\na 1 2\nb 1 2 3\nc 1 2\n", "word2vec", r"v.bin:3: 'b' has 3 values, expected 2"),
        (b"a 1 2\nb 1\n", "glove", r"v.bin:2: 'b' has 1 values, expected 2"),
        (b"three two\na 1 2\n", "word2vec", r"v.bin:1: bad header"),
        (b"2 2\na 1.00 2.00\n", "word2vec", "header announces 2 words, the file has 1"),
        (b"2 2\na 1 2\n", "word2vec", "announces 2 words of 2 values; the 6 bytes after it"),
        (b"9999999999 300\na 1 2\n", "word2vec", "announces 9,999,999,999 words"),
        (b"999999999999 2\na \x00\x00\x80\x3f\x00\x00\x80\x3f", "word2vec-bin", "at most 1$"),
        (b"1 2\na 1 2\nb 3 4\n", "word2vec", "header announces 1 words, the file has 2"),
        (b"a 1 x\n", "glove", r"v.bin:1: values of 'a' are not numbers"),
        (b"2 2\na 1 2\n\xff\xfe 1 2\n", "word2vec", r"v.bin:3: not valid UTF-8"),
        (
            b"2 2\nlonger \x00\x00\x80\x3f\x00\x00\x80\x3f\nb \x00\x00",
            "word2vec-bin",
            "word 2 of 2: 2 of 8 vector bytes",
        ),
        (b"", "glove", "no vectors"),
    ],
)
def test_malformed_files_are_rejected_naming_the_line(tmp_path, capsys, content, fmt, message):
    source = tmp_path / "v.bin"
    source.write_bytes(content)
    with pytest.raises(VectorFormatError, match=message):
        read_vectors(source, fmt)
    assert main(["import", str(source), "--format", fmt, "--out", str(tmp_path / "m")]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_unicode_errors_option(tmp_path):
    source = tmp_path / "v.txt"
    source.write_bytes(b"2 2\nok 1 2\nbad\xff 3 4\n")
    words, _ = read_vectors(source, "word2vec", unicode_errors="replace")
    assert words == ["ok", "bad\ufffd"]
    words, _ = read_vectors(source, "word2vec", unicode_errors="ignore")
    assert words == ["ok", "bad"]


def test_repeated_words_keep_the_first(tmp_path):
    source = tmp_path / "v.txt"
    source.write_text("a 1 2\nb 3 4\na 5 6\n")
    words, matrix = read_vectors(source, "glove")
    assert words == ["a", "b"] and matrix[0].tolist() == [1, 2]


@pytest.mark.parametrize("fmt", list(GENSIM_OPTIONS))
def test_reading_holds_the_matrix_once(tmp_path, fmt):
    """The matrix is allocated once at its final size and filled in place: the peak
    of what reading allocates stays within 1.5 × the matrix, words included (a list
    of per-row arrays stacked at the end needed over 2 ×)."""
    import tracemalloc

    rng = np.random.default_rng(3)
    matrix = rng.normal(size=(10_000, 300)).astype(np.float32)
    words = [f"w{i}" for i in range(len(matrix))]
    source = tmp_path / "vectors"
    write_vectors(source, words, matrix, fmt)
    del words
    tracemalloc.start()
    try:
        read_words, read_back = read_vectors(source, fmt)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert read_words[-1] == "w9999"
    np.testing.assert_array_equal(read_back, matrix)
    assert peak < 1.5 * matrix.nbytes, f"{peak / matrix.nbytes:.2f} x the matrix"


@pytest.mark.parametrize("fmt", list(GENSIM_OPTIONS))
def test_reading_into_a_file_holds_a_stretch_of_rows(tmp_path, monkeypatch, fmt):
    """``into``: the matrix is a shared memory map of that .npy file, its pages
    released as rows arrive; words and values are those read into memory."""
    from procfs import mapped_rss_kib

    monkeypatch.setattr(vector_formats, "_RELEASE_ROWS", 100)
    rng = np.random.default_rng(4)
    matrix = rng.normal(size=(5_000, 256)).astype(np.float32)  # 5 MiB
    source = tmp_path / "vectors"
    write_vectors(source, [f"w{i}" for i in range(len(matrix))], matrix, fmt)
    into = tmp_path / "matrix.npy"
    words, read_back = read_vectors(source, fmt, into=into)
    assert isinstance(read_back, np.memmap) and Path(read_back.filename) == into
    assert mapped_rss_kib(into) <= 100 * 256 * 4 // 1024 + 4
    assert words == read_vectors(source, fmt)[0]
    np.testing.assert_array_equal(read_back, matrix)
    np.testing.assert_array_equal(np.load(into), matrix)


def test_import_leaves_rows_out_in_place(tmp_path, monkeypatch):
    """Words spelt as an earlier one once read as phrases are left out by moving the
    later rows up inside the mapped matrix, a block at a time (no copy of it)."""
    from wordlens.commands import convert

    monkeypatch.setattr(convert, "_KEEP_VALUES", 6)  # 3 rows of 2 a block
    words = []
    for i in range(20):
        words += [f"p{i}_q", f"p{i}__q"] if i % 2 else [f"p{i}_q"]  # "p1__q" is "p1 q" again
    matrix = np.arange(2 * len(words), dtype=np.float32).reshape(-1, 2)
    source = tmp_path / "v.txt"
    write_vectors(source, words, matrix, "word2vec")
    out = tmp_path / "m"
    assert main(["-q", "import", str(source), "--format", "word2vec", "--out", str(out)]) == 0
    model = load_model(out)
    kept = [row for row, word in enumerate(words) if "__" not in word]
    assert list(model.words) == [f"p{i} q" for i in range(20)]
    np.testing.assert_array_equal(model.vectors, matrix[kept])


def test_text_is_parsed_in_blocks_and_errors_name_their_line(tmp_path, monkeypatch):
    monkeypatch.setattr(vector_formats, "_ROWS_PER_BLOCK", 3)
    lines = [f"w{i} {i} {-i}" for i in range(10)]
    lines[4:4] = ["", "  "]  # blank lines, inside the second block
    source = tmp_path / "v.txt"
    source.write_text("\n".join(lines) + "\n")
    words, matrix = read_vectors(source, "glove")
    assert words == [f"w{i}" for i in range(10)]
    assert matrix[:, 0].tolist() == list(range(10)) and matrix.shape == (10, 2)
    assert read_vectors(source, "glove", limit=7)[1].shape == (7, 2)
    lines[8] = "w6 6 six"
    source.write_text("\n".join(lines) + "\n")
    with pytest.raises(VectorFormatError, match=r"v.txt:9: values of 'w6' are not numbers"):
        read_vectors(source, "glove")


def test_import_as_float16(tmp_path, vectors):
    source = tmp_path / "v.txt"
    write_vectors(source, WORDS, vectors[:, :], "word2vec")
    small = np.clip(vectors, -1e4, 1e4)  # float16 holds at most ±65504
    write_vectors(source, WORDS, small, "word2vec")
    out = tmp_path / "m"
    command = ["-q", "import", str(source), "--format", "word2vec", "--out", str(out)]
    assert main([*command, "--dtype", "float16"]) == 0
    model = load_model(out)
    assert model.vectors.dtype == np.float16
    np.testing.assert_array_equal(model.vectors, small.astype(np.float16))
    pmi = Engine(tmp_path).get("m")
    assert pmi.similarity("the", "the") == pytest.approx(1.0, abs=1e-6)


def read_projector(folder):
    """The two files as the Embedding Projector reads them (its data-provider.ts):
    vectors one row of tab-separated numbers a line; metadata a header when its first
    line holds a tab, then one row a line, blank lines skipped."""
    vectors = np.loadtxt(folder / "vectors.tsv", delimiter="\t", dtype=np.float32, ndmin=2)
    lines = (folder / "metadata.tsv").read_text(encoding="utf-8").split("\n")
    assert "\t" in lines[0] and lines[-1] == ""
    rows = [line.split("\t") for line in lines[1:-1] if line.strip()]
    return vectors, lines[0].split("\t"), rows


def test_projector_export_writes_vectors_and_metadata(tmp_path, vectors):
    words = ["the", "new york", "猫", "tab\tword", "café", "x"]
    model = write_model(
        tmp_path / "m", kind="pmi", words=words, vectors=vectors, counts=np.arange(60, 0, -10)
    )
    out = tmp_path / "projector" / "pmi"
    assert main(["-q", "export", str(model), "--format", "projector", str(out)]) == 0
    read_back, header, rows = read_projector(out)
    np.testing.assert_array_equal(read_back, vectors)
    assert header == ["word", "rank", "count", "norm"]
    assert [row[:3] for row in rows] == [
        ["the", "1", "60"],
        ["new york", "2", "50"],
        ["猫", "3", "40"],
        ["tab word", "4", "30"],
        ["café", "5", "20"],
        ["x", "6", "10"],
    ]
    norms = np.array([float(row[3]) for row in rows])
    np.testing.assert_allclose(norms, np.linalg.norm(vectors.astype(np.float64), axis=1), rtol=1e-5)


def test_export_limit_writes_the_most_frequent_words(tmp_path):
    vectors = np.random.default_rng(6).normal(size=(len(WORDS), 7)).astype(np.float32)
    model = write_model(
        tmp_path / "m", kind="imported", words=WORDS, vectors=vectors, dtype="float16"
    )
    out = tmp_path / "projector"
    assert (
        main(["-q", "export", str(model), "--format", "projector", str(out), "--limit", "2"]) == 0
    )
    read_back, header, rows = read_projector(out)
    np.testing.assert_array_equal(read_back, vectors[:2].astype(np.float16).astype(np.float32))
    assert header == ["word", "rank", "norm"]  # imported vectors have no counts
    assert [row[:2] for row in rows] == [["the", "1"], ["Über", "2"]]
    text = tmp_path / "v.txt"
    assert (
        main(["-q", "export", str(model), "--format", "word2vec", str(text), "--limit", "3"]) == 0
    )
    assert read_vectors(text, "word2vec")[0] == WORDS[:3]


def test_projector_export_refuses_a_file_as_its_folder(tmp_path, vectors, capsys):
    model = write_model(tmp_path / "m", kind="imported", words=WORDS, vectors=vectors)
    out = tmp_path / "taken"
    out.write_text("mine")
    assert main(["-q", "export", str(model), "--format", "projector", str(out)]) == 1
    assert "is a file: the projector format writes a folder" in capsys.readouterr().err
    assert out.read_text() == "mine"
