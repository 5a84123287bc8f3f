"""Answers from model files: the query engine, the model families, the HTTP server.

Nothing here imports the training-only dependencies, gensim, SciPy and numba: a server
worker imports numpy, the query code and the HTTP stack.
"""
