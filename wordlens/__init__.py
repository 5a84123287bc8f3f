"""wordlens: PMI and Word2Vec word vectors, and a server for similar words, related
words and keywords.

The package is layered; imports only go down (checked by ``make lint``)::

    wordlens.cli : wordlens.commands    the command line and its subcommands, on top
    wordlens.app | wordlens.training    answers from model files | model files from a corpus
    wordlens.artifacts | wordlens.corpus     the model-file format | text and tokenisers

``app``, ``training`` and ``corpus`` are the project's top-level folders, reached
here through links, so that an installed wordlens claims only the name ``wordlens``.
"""

__version__ = "0.1.0"
