"""wordlens: the model artifact format, the query engine, the HTTP server and the CLI.

Nothing here imports the training-only dependencies (gensim, numba).
"""

__version__ = "0.1.0"
