"""The offline pipeline: corpus → vocabulary → co-occurrences → vectors → model artifact.

Each stage is one module with one job (``vocab``, ``cooccur``, …); the command line
that strings them together lives in :mod:`wordlens.commands`.
"""
