"""Answers from model files: the query engine, the model families, the HTTP server.

Nothing here imports the training-only dependency, gensim; numba compiles one small
kernel (the Huffman-path bookkeeping of keyword scoring, ``output_layer.py``).
"""
