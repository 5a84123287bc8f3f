"""Run every benchmark in turn and print their tables (the README's Results).

    make bench        # or: .venv/bin/python bench/run_all.py

Needs the default models (``make models``) and, for the Chinese keyword comparison,
``wordlens train word2vec --corpus corpus/data/zh.txt.gz --tokenizer jieba
--out models/word2vec-zh``. Takes about 35 minutes on 2 cores.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    "bench_tokenizers.py",
    "bench_pmi.py",
    "bench_word2vec.py",
    "bench_engine.py",
    "bench_server.py",
    "bench_keywords.py",
]

if __name__ == "__main__":
    for script in SCRIPTS:
        print(f"\n## {script}\n", flush=True)
        subprocess.run([sys.executable, str(HERE / script)], check=True, cwd=HERE.parent)
