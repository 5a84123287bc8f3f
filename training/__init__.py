"""The offline pipeline: corpus → vocabulary → co-occurrences → vectors → model artifact.

Each stage is one module with one job (``vocab``, ``cooccur``, …); the ``train_*``
modules string the stages together behind ``wordlens train``.
"""
