"""The offline pipeline: corpus → vocabulary → co-occurrences → vectors → model artifact.

Each stage is one module with one job (``encode``, ``vocab``, ``cooccur``,
``pmi_eig``, ``pmi_adagrad``, ``word2vec``'s gensim stage); ``pmi`` and ``word2vec``
string them together (``train_pmi``, ``train_word2vec``: corpus in, model files
out). The command line on top of them is :mod:`wordlens.commands`.
"""
