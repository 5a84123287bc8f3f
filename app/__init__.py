"""wordlens: the model artifact format, the query engine, the HTTP server and the CLI.

Nothing here imports the training-only dependency, gensim; numba compiles one small
kernel (the Huffman-path bookkeeping of keyword scoring, app/output_layer.py).
"""

__version__ = "0.1.0"
