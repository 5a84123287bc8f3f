"""Break ten central functions one at a time, run the default suite after each, and
list the tests that caught it: proof that the suite can fail where it matters.

    git worktree add /tmp/breakages HEAD && cd /tmp/breakages && make install
    .venv/bin/python scripts/deliberate_breakages.py /tmp/breakages [NAME ...]

It edits the files of the checkout it is given (and restores them after each run),
so give it a spare worktree, never the one you work in. About 45 s per breakage.
"""

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(sys.argv[1])
MUTATIONS = [
    (
        "counting",
        "training/counts.py",
        "ticks[1:] = scale // distances[1:]",
        "ticks[1:] = scale // (distances[1:] + 1)",
    ),
    (
        "eigen solver",
        "training/pmi_eig.py",
        "scale = np.sqrt(np.maximum(values, 0.0))",
        "scale = np.maximum(values, 0.0)",
    ),
    (
        "AdaGrad step",
        "training/pmi_adagrad.py",
        "step_i[k] = eta * g_i / np.sqrt(squares[i, k] + np.float32(1e-8))",
        "step_i[k] = eta * g_i",
    ),
    (
        "Huffman log-probabilities",
        "app/output_layer.py",
        "turn = np.concatenate([positive, positive - dots])",
        "turn = np.concatenate([positive, positive + dots])",
    ),
    (
        "keyword scoring",
        "app/families.py",
        "total = weights @ self.vectors[tokens]",
        "total = self.vectors[tokens].sum(axis=0)",
    ),
    (
        "artifact checksum check",
        "wordlens/artifacts.py",
        'if _sha256(file) != expected.get("sha256"):',
        'if False and _sha256(file) != expected.get("sha256"):',
    ),
    ("tokenizer", "corpus/tokenizers.py", "folded = text.lower()  # İ doubles", "folded = text"),
    ("error mapping", "app/server.py", "    UnknownWordError: 404,", "    UnknownWordError: 400,"),
    (
        "batch job resume",
        "app/keywords_job.py",
        "    os.truncate(path, offset)",
        "    pass  # os.truncate(path, offset)",
    ),
    (
        "request limits",
        "app/middleware.py",
        "        limit = self.limit",
        "        limit = 2 * self.limit",
    ),
]
only = sys.argv[2:]
for name, file, old, new in MUTATIONS:
    if only and name not in only:
        continue
    path = ROOT / file
    original = path.read_text()
    assert original.count(old) == 1, (name, original.count(old))
    path.write_text(original.replace(old, new))
    started = time.time()
    try:
        result = subprocess.run(
            [
                str(ROOT / ".venv/bin/python"),
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--no-header",
                "-rf",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
    finally:
        path.write_text(original)
    failed = sorted(set(re.findall(r"^FAILED (\S+?)(?: - |$)", result.stdout, re.M)))
    errors = sorted(set(re.findall(r"^ERROR (\S+?)(?: - |$)", result.stdout, re.M)))
    summary = (
        result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-300:]
    )
    print(f"## {name} ({file}): {new!r}  [{time.time() - started:.0f} s]\n  {summary}", flush=True)
    for test in failed + errors:
        print(f"  - {test}", flush=True)
