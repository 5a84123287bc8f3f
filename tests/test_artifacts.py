import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from wordlens import artifacts
from wordlens.artifacts import (
    ModelFormatError,
    find_models,
    load_model,
    release_pages,
    update_manifest,
    write_model,
)

WORDS = ["the", "cat", "über", "猫"]


def make_model(path, **overrides):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(WORDS), 8)).astype(np.float32)
    vectors[2] = 0.0  # a zero vector must stay zero after normalisation, not NaN
    arguments = {
        "kind": "pmi",
        "words": WORDS,
        "vectors": vectors,
        "counts": np.array([10, 5, 3, 2]),
        "arrays": {"extra": np.arange(6, dtype=np.int32).reshape(2, 3)},
        "manifest": {"tokenizer": {"name": "english"}, "params": {"dim": 8}},
    }
    arguments.update(overrides)
    return write_model(path, **arguments), vectors


def test_release_pages_drops_a_map_from_memory_and_keeps_what_was_written(tmp_path):
    from procfs import mapped_rss_kib

    file = tmp_path / "m.npy"
    mapped = np.lib.format.open_memmap(file, mode="w+", dtype=np.float32, shape=(1024, 1024))
    mapped[:] = np.arange(1024, dtype=np.float32)  # 4 MiB, every page written
    assert mapped_rss_kib(file) >= 4000
    release_pages(mapped[10:20])  # any view releases the whole map
    assert mapped_rss_kib(file) < 100
    assert (mapped[1000] == np.arange(1024)).all()  # read back from the page cache
    del mapped
    assert (np.load(file)[-1] == np.arange(1024)).all()
    private = np.load(file, mmap_mode="c")
    private[:] = 7  # copy-on-write: released, these changes would be lost
    release_pages(private)
    assert (private == 7).all() and mapped_rss_kib(file) >= 4000
    release_pages(np.zeros(3))  # in memory: nothing to do


def test_write_model_holds_one_block_of_a_mapped_matrix(tmp_path):
    """The passes over the vectors (finite values, norms, the copy written) release a
    mapped matrix's pages a block at a time: an import reading into a memory map never
    holds the matrix resident while the word index is built (bench/bench_import.py)."""
    from procfs import mapped_rss_kib

    file = tmp_path / "matrix.npy"
    vectors = np.lib.format.open_memmap(file, mode="w+", dtype=np.float32, shape=(40_000, 64))
    vectors[:] = np.random.default_rng(0).normal(size=vectors.shape)  # 10 MiB, 3 blocks
    assert mapped_rss_kib(file) >= 10_000
    path = write_model(
        tmp_path / "m", kind="imported", words=[f"w{i}" for i in range(40_000)], vectors=vectors
    )
    assert mapped_rss_kib(file) < 100
    np.testing.assert_array_equal(load_model(path).vectors, vectors)


def test_model_release_drops_what_the_load_read(tmp_path):
    """Loading reads every page of the word index to check it; ``release`` drops them
    (an index build then holds only the matrix it maps), and the model still answers."""
    from procfs import mapped_rss_kib

    words = [f"w{i}" for i in range(30_000)]
    vectors = np.ones((len(words), 8), dtype=np.float32)
    path = write_model(tmp_path / "m", kind="imported", words=words, vectors=vectors)
    model = load_model(path)
    assert mapped_rss_kib(path / "suggest_keys.npy") > 1000  # 1.6 MiB, all checked
    model.release()
    assert {file.name: mapped_rss_kib(file) for file in path.glob("*.npy")} == {
        file.name: 0 for file in path.glob("*.npy")
    }
    assert mapped_rss_kib(path / "words.txt") == 0
    assert model.words.index("w29999") == 29_999 and model.words.suggest("w2999x")[0] == "w2999"


def test_round_trip(tmp_path):
    path, vectors = make_model(tmp_path / "m")
    model = load_model(path)
    assert model.name == "m" and model.kind == "pmi" and model.dim == 8
    assert list(model.words) == WORDS
    assert model.index["猫"] == 3
    assert model.counts.tolist() == [10, 5, 3, 2]
    np.testing.assert_array_equal(model.vectors, vectors)
    assert isinstance(model.vectors, np.memmap)
    assert model.norms.dtype == np.float32 and model.norms[2] == 0.0
    np.testing.assert_allclose(model.norms, np.linalg.norm(vectors, axis=1), rtol=1e-6)
    assert model.arrays["extra"].tolist() == [[0, 1, 2], [3, 4, 5]]
    manifest = model.manifest
    assert manifest["params"] == {"dim": 8} and manifest["vocab_size"] == 4
    assert set(manifest["files"]) == {
        "words.txt",
        "vectors.npy",
        "norms.npy",
        "counts.npy",
        "extra.npy",
        "word_offsets.npy",
        "word_hashes.npy",
        "word_hash_rows.npy",
        "word_order.npy",
        "suggest_keys.npy",
        "suggest_rows.npy",
    }
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())
    assert sorted(p.name for p in path.iterdir()) == sorted(
        [*manifest["files"], "manifest.json", ".verified.json"]
    )


def test_imported_vectors_have_no_counts(tmp_path):
    path, _ = make_model(tmp_path / "m", kind="imported", counts=None, arrays=None)
    assert load_model(path).counts is None


def test_rewrite_replaces_the_model_and_leaves_no_debris(tmp_path):
    make_model(tmp_path / "m")
    make_model(tmp_path / "m", words=["a", "b", "c", "d"])
    assert list(load_model(tmp_path / "m").words) == ["a", "b", "c", "d"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    calls = []

    def failing_save(file, array, dtype):
        calls.append(file)
        if len(calls) == 2:
            raise OSError("disk full")
        np.save(file, array.astype(dtype))

    monkeypatch.setattr(artifacts, "_save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        make_model(tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def write_in_a_process_killed(path, patch: str) -> None:
    """Run ``write_model(path)`` in a child process that ``patch`` (Python run first,
    with os, signal and numpy as np imported) kills with SIGKILL part-way, so that no
    clean-up runs."""
    script = "import os, signal, numpy as np\n" + textwrap.dedent(patch)
    script += textwrap.dedent(f"""
        from wordlens import artifacts
        artifacts.write_model({str(path)!r}, kind="pmi", words=["a", "b"],
                              vectors=np.ones((2, 3)))
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=os.getcwd())
    assert result.returncode == -signal.SIGKILL


def test_killed_writer_leaves_no_model(tmp_path):
    """A writer killed mid-way (SIGKILL: no clean-up runs) leaves no loadable model,
    and the next write removes its debris."""
    write_in_a_process_killed(
        tmp_path / "m",
        """
        from wordlens import artifacts
        real_save = artifacts._save
        def save_then_die(file, array, dtype):
            real_save(file, array, dtype)
            os.kill(os.getpid(), signal.SIGKILL)
        artifacts._save = save_then_die
        """,
    )
    assert not (tmp_path / "m").exists()
    assert find_models(tmp_path) == {}
    make_model(tmp_path / "m")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_corrupted_file_is_refused_by_name(tmp_path):
    path, _ = make_model(tmp_path / "m")
    data = bytearray((path / "vectors.npy").read_bytes())
    data[-1] ^= 0xFF
    (path / "vectors.npy").write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match=r"vectors\.npy: checksum mismatch"):
        load_model(path)
    load_model(path, verify=False)  # sizes still match: the explicit opt-out loads it


def test_truncated_and_missing_files(tmp_path):
    path, _ = make_model(tmp_path / "m")
    (path / "counts.npy").write_bytes((path / "counts.npy").read_bytes()[:-8])
    with pytest.raises(ModelFormatError, match=r"counts\.npy: .* bytes.*truncated"):
        load_model(path, verify=False)
    (path / "counts.npy").unlink()
    with pytest.raises(ModelFormatError, match=r"counts\.npy: missing"):
        load_model(path)


def test_bad_manifests(tmp_path):
    path, _ = make_model(tmp_path / "m")
    manifest_file = path / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest_file.write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(ModelFormatError, match="format version 99"):
        load_model(path)
    manifest_file.write_text("{ truncated")
    with pytest.raises(ModelFormatError, match="manifest.json: not valid JSON"):
        load_model(path)
    manifest_file.unlink()
    with pytest.raises(ModelFormatError, match="manifest.json: missing"):
        load_model(path)
    with pytest.raises(ModelFormatError, match="not a directory"):
        load_model(tmp_path / "nothing")


def test_update_manifest(tmp_path):
    path, _ = make_model(tmp_path / "m")
    update_manifest(path, evaluation={"wordsim353": 0.5})
    assert load_model(path).manifest["evaluation"] == {"wordsim353": 0.5}
    with pytest.raises(ValueError, match="cannot change"):
        update_manifest(path, files={})


def test_invalid_inputs_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="duplicate"):
        make_model(tmp_path / "m", words=["a", "a", "b", "c"])
    with pytest.raises(ValueError, match="newline"):
        make_model(tmp_path / "m", words=["a", "b\nc", "d", "e"])
    with pytest.raises(ValueError, match="4 words but 3"):
        make_model(tmp_path / "m", vectors=np.ones((3, 8)))
    with pytest.raises(ValueError, match="invalid model kind"):
        make_model(tmp_path / "m", kind="Word 2 Vec")
    with pytest.raises(ValueError, match="reserved"):
        make_model(tmp_path / "m", arrays={"vectors": np.ones(3)})
    assert list(tmp_path.iterdir()) == []


def test_find_models_lists_the_folders_with_a_manifest(tmp_path):
    make_model(tmp_path / "one")
    (tmp_path / ".one.partial-1-abc").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{}")  # loading says what is wrong
    (tmp_path / "lost+found").mkdir()
    (tmp_path / "file.txt").write_text("x")
    assert sorted(find_models(tmp_path)) == ["broken", "one"]


def _edit_manifest(path, edit):
    manifest_file = path / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    edit(manifest)
    manifest_file.write_text(json.dumps(manifest))


def _listing(file):
    data = file.read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


@pytest.mark.parametrize("name", ["../../outside.bin", "/ABSOLUTE", "sub/dir.npy", ".."])
def test_manifest_file_names_stay_inside_the_model_folder(tmp_path, name):
    """A crafted manifest must not make the loader read (hash, map) a file outside
    the model, even one whose size and checksum it lists correctly."""
    path, _ = make_model(tmp_path / "models" / "m")
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"a system file")
    listed = name.replace("/ABSOLUTE", str(outside))
    _edit_manifest(path, lambda m: m["files"].update({listed: _listing(outside)}))
    with pytest.raises(ModelFormatError, match="not a plain file name"):
        load_model(path)


def test_array_names_must_be_identifiers(tmp_path):
    path, _ = make_model(tmp_path / "models" / "m")
    (tmp_path / "models" / "x.npy").write_bytes((path / "extra.npy").read_bytes())
    _edit_manifest(path, lambda m: m["arrays"].update({"../x": m["arrays"]["extra"]}))
    with pytest.raises(ModelFormatError, match="array name '../x' is not an identifier"):
        load_model(path)


def test_a_model_file_may_not_lead_outside_through_a_link(tmp_path):
    path, _ = make_model(tmp_path / "models" / "m")
    outside = tmp_path / "elsewhere.npy"
    (path / "extra.npy").rename(outside)
    (path / "extra.npy").symlink_to(outside)
    with pytest.raises(ModelFormatError, match=r"m/extra\.npy: .*outside the model folder"):
        load_model(path)


def test_messages_name_files_relative_to_the_models_folder(tmp_path):
    path, _ = make_model(tmp_path / "models" / "m")
    (path / "vectors.npy").write_bytes(b"garbage")
    with pytest.raises(ModelFormatError) as info:
        load_model(path.absolute())
    assert str(info.value).startswith("m/vectors.npy: ") and str(tmp_path) not in str(info.value)
    (path / "manifest.json").unlink()
    with pytest.raises(ModelFormatError, match="^m/manifest.json: missing") as info:
        load_model(path.absolute())
    assert str(tmp_path) not in str(info.value)


def _poison(file, value):
    """Overwrite the last float32 of a .npy file in place (same size, so only a
    checksum would notice)."""
    data = bytearray(file.read_bytes())
    data[-4:] = np.float32(value).tobytes()
    file.write_bytes(bytes(data))


@pytest.mark.parametrize(("file", "value"), [("vectors.npy", np.nan), ("floats.npy", np.inf)])
def test_non_finite_values_are_refused_without_verify_too(tmp_path, file, value):
    path, _ = make_model(tmp_path / "m", arrays={"floats": np.ones((4, 8), dtype=np.float32)})
    _poison(path / file, value)
    with pytest.raises(ModelFormatError, match=rf"m/{file}: 1 value is not finite"):
        load_model(path, verify=False)


def test_the_finite_check_counts_across_chunks(tmp_path):
    """Arrays of more than a chunk (2**20 values) are checked a chunk at a time."""
    words = [f"w{i}" for i in range(2000)]
    vectors = np.ones((2000, 600), dtype=np.float32)  # 1.2 million values
    path, _ = make_model(tmp_path / "m", words=words, vectors=vectors, counts=None)
    assert load_model(path, verify=False).vectors.shape == (2000, 600)
    values = np.load(path / "vectors.npy", mmap_mode="r+")
    values[0, 0] = values[-1, -1] = np.inf
    values.flush()
    del values
    with pytest.raises(ModelFormatError, match=r"m/vectors\.npy: 2 values are not finite"):
        load_model(path, verify=False)


def test_non_finite_vectors_are_not_written(tmp_path):
    vectors = np.ones((4, 8))
    vectors[1, 2] = np.nan
    with pytest.raises(ValueError, match="1 value is not finite"):
        make_model(tmp_path / "m", vectors=vectors)
    assert list(tmp_path.iterdir()) == []


def test_a_crash_between_the_two_renames_never_loses_the_model(tmp_path):
    """A writer killed after retiring the old model and before putting the new one in
    place: the old model comes back (the next reader or writer restores it), and the
    next write leaves no debris."""
    make_model(tmp_path / "m")
    write_in_a_process_killed(
        tmp_path / "m",
        """
        real_rename = os.rename
        def rename_then_die(source, target):
            real_rename(source, target)
            if ".m.old-" in str(target):
                os.kill(os.getpid(), signal.SIGKILL)
        os.rename = rename_then_die
        """,
    )
    assert not (tmp_path / "m").exists()  # the window the crash hit
    assert list(load_model(find_models(tmp_path)["m"]).words) == WORDS  # the old model, back
    make_model(tmp_path / "m", words=["a", "b", "c", "d"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    assert list(load_model(tmp_path / "m").words) == ["a", "b", "c", "d"]


def _counting_hashes(monkeypatch):
    """The files whose SHA-256 the loader computes from now on."""
    hashed = []
    real = artifacts._sha256

    def counting(path):
        hashed.append(path.name)
        return real(path)

    monkeypatch.setattr(artifacts, "_sha256", counting)
    return hashed


def test_a_published_model_is_verified_once_then_checked_by_its_stamp(tmp_path, monkeypatch):
    path, _ = make_model(tmp_path / "m")
    hashed = _counting_hashes(monkeypatch)
    load_model(path)
    assert hashed == []  # the writer's stamp holds: nothing read whole
    load_model(path, verify="full")
    assert sorted(hashed) == sorted(json.loads((path / "manifest.json").read_text())["files"])
    hashed.clear()
    os.utime(path / "norms.npy")  # touched: its stamp no longer holds, so all are read
    load_model(path)
    assert "norms.npy" in hashed
    hashed.clear()
    load_model(path)  # ... and the load that verified them stamped them again
    assert hashed == []


def test_a_copy_that_keeps_times_keeps_the_stamp_and_any_other_is_verified(tmp_path, monkeypatch):
    import shutil

    path, _ = make_model(tmp_path / "m")
    kept = tmp_path / "kept"
    shutil.copytree(path, kept, copy_function=shutil.copy2)  # times kept, inodes not
    hashed = _counting_hashes(monkeypatch)
    load_model(kept)
    assert hashed == []  # as cp -p, rsync -a, tar or Docker's COPY copy a model
    # Docker's classic builder keeps whole seconds of the mtime only
    whole = (path / "vectors.npy").stat().st_mtime_ns // 1_000_000_000 * 1_000_000_000
    os.utime(kept / "vectors.npy", ns=(whole, whole))
    load_model(kept)
    assert hashed == []
    os.utime(kept / "vectors.npy", ns=(whole - 1_000_000_000, whole - 1_000_000_000))
    load_model(kept)  # any other time: read whole
    assert "vectors.npy" in hashed
    hashed.clear()
    copy = tmp_path / "copy"
    shutil.copytree(path, copy, copy_function=shutil.copy)  # new times
    load_model(copy)
    assert "vectors.npy" in hashed
    hashed.clear()
    load_model(copy)  # stamped by the load that verified it
    assert hashed == []


def _forge_stamp(path):
    """Make the stamp describe the files as they are now, as if no write had been
    seen: what bytes changing under the file system (bit rot) would look like."""
    stamp_file = path / ".verified.json"
    stamp = json.loads(stamp_file.read_text())
    for name, entry in stamp["files"].items():
        entry["fingerprint"] = artifacts._stamp_entry(path / name)["fingerprint"]
    stamp_file.write_text(json.dumps(stamp))


def test_what_the_stamp_catches_and_what_only_full_verification_does(tmp_path):
    words = [f"w{i}" for i in range(1000)]
    vectors = np.ones((1000, 300), dtype=np.float32)  # 1.2 MB: sampled, not read whole
    path, _ = make_model(tmp_path / "m", words=words, vectors=vectors, counts=None)
    data = bytearray((path / "vectors.npy").read_bytes())
    data[len(data) // 2 + 1000] ^= 0xFF  # between two sampled blocks
    (path / "vectors.npy").write_bytes(bytes(data))
    _forge_stamp(path)
    load_model(path)  # unseen: the documented limit of the stamp
    with pytest.raises(ModelFormatError, match=r"m/vectors\.npy: checksum mismatch"):
        load_model(path, verify="full")
    data[-1] ^= 0xFF  # in the last 64 KiB, which the digest reads
    (path / "vectors.npy").write_bytes(bytes(data))
    _forge_stamp(path)
    with pytest.raises(ModelFormatError, match=r"m/vectors\.npy: checksum mismatch"):
        load_model(path)


def test_a_stamp_for_other_checksums_does_not_count(tmp_path, monkeypatch):
    path, _ = make_model(tmp_path / "m")
    stamp = json.loads((path / ".verified.json").read_text())
    stamp["files"]["vectors.npy"]["sha256"] = "0" * 64
    (path / ".verified.json").write_text(json.dumps(stamp))
    hashed = _counting_hashes(monkeypatch)
    load_model(path)
    assert "vectors.npy" in hashed


def test_models_with_a_unit_row_copy_still_load_without_mapping_it(tmp_path):
    """Models written before kept ``vectors_norm.npy``: it is listed and checked, but
    never mapped (no second copy of the matrix in memory)."""
    path, vectors = make_model(tmp_path / "m")
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-30)
    np.save(path / "vectors_norm.npy", unit.astype(np.float32))

    def add(manifest):
        manifest["arrays"]["vectors_norm"] = {"shape": [4, 8], "dtype": "float32"}
        manifest["files"]["vectors_norm.npy"] = _listing(path / "vectors_norm.npy")

    _edit_manifest(path, add)
    model = load_model(path)
    assert "vectors_norm" not in model.arrays
    np.testing.assert_array_equal(model.vectors, vectors)
    _poison(path / "vectors_norm.npy", 0.5)
    with pytest.raises(ModelFormatError, match=r"m/vectors_norm\.npy: checksum mismatch"):
        load_model(path)


def test_float16_vectors(tmp_path):
    path, vectors = make_model(tmp_path / "m", dtype="float16")
    model = load_model(path)
    assert (
        model.vectors.dtype == np.float16
        and model.manifest["arrays"]["vectors"]["dtype"] == "float16"
    )
    np.testing.assert_array_equal(model.vectors, vectors.astype(np.float16))
    stored = model.vectors.astype(np.float64)
    np.testing.assert_allclose(model.norms, np.linalg.norm(stored, axis=1), rtol=1e-6)
    assert (path / "vectors.npy").stat().st_size == 128 + 4 * 8 * 2  # header, 2 bytes a value
    too_large = np.ones((4, 8))
    too_large[1, 2] = 7e4
    with pytest.raises(ValueError, match=r"1 value is not finite \(float16 holds at most"):
        make_model(tmp_path / "big", vectors=too_large, dtype="float16")
    with pytest.raises(ValueError, match="dtype must be one of"):
        make_model(tmp_path / "other", dtype="float64")


def test_the_verify_command_reads_every_file_whatever_the_stamp(tmp_path, monkeypatch, capsys):
    from wordlens.app.settings import Settings
    from wordlens.cli import main

    words = [f"w{i}" for i in range(1000)]
    vectors = np.ones((1000, 300), dtype=np.float32)
    make_model(tmp_path / "models" / "good")
    path, _ = make_model(tmp_path / "models" / "rotten", words=words, vectors=vectors, counts=None)
    data = bytearray((path / "vectors.npy").read_bytes())
    data[len(data) // 2 + 1000] ^= 0xFF  # between the sampled blocks
    (path / "vectors.npy").write_bytes(bytes(data))
    _forge_stamp(path)
    monkeypatch.setenv("WORDLENS_MODELS", str(tmp_path / "models"))
    assert main(["verify"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("good: ok, 11 files")
    assert out[1] == "rotten: FAILED: rotten/vectors.npy: checksum mismatch (corrupted or modified)"
    assert main(["verify", "good"]) == 0
    assert Settings.from_env({"WORDLENS_VERIFY": "full"}).verify_checksums == "full"
    assert Settings.from_env({"WORDLENS_VERIFY": "0"}).verify_checksums is False
    assert Settings.from_env({}).verify_checksums is True
