# wordlens: the HTTP server with the default models built in.
#
#   docker build -t wordlens .
#   docker run -p 8000:8000 wordlens
#
# Each stage's inputs are only what it needs, so that an edit rebuilds little:
#
#   server-deps  the server's dependencies, requirements.lock      (lock changes)
#   train-deps   the pipeline's, requirements-train.lock            (lock changes)
#   models       the default models: wordlens/, training/, corpus/  (pipeline changes)
#   evaluated    their benchmark figures, computed by the query engine in app/;
#                only the two manifests are kept                    (app/ changes: seconds)
#   runtime      server-deps + models + manifests + the sources, no pip, no
#                gensim/scipy/numba, no corpus files
#
# The models are deterministic: seeded, and Word2Vec trained on one thread with a
# fixed PYTHONHASHSEED, so that two builds give byte-identical vectors.
#
# BASE_IMAGE must provide python3 (3.11) with venv and pip. The default is pinned by
# digest (python:3.11-slim-bookworm; see the README for how to move it forward).
ARG BASE_IMAGE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

FROM ${BASE_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore

# A virtual environment without pip: the base image's pip installs into it.
# PIP_CERT is build-time only (never part of the image's environment): a CA bundle
# path for pip behind a TLS-intercepting proxy,
# e.g. --build-arg PIP_CERT=/etc/ssl/certs/ca-certificates.crt
FROM base AS server-deps
ARG PIP_CERT
COPY requirements.lock /tmp/
RUN python3 -m venv --without-pip /opt/wordlens \
    && python3 -m pip --python /opt/wordlens/bin/python install --no-compile \
       --require-hashes -r /tmp/requirements.lock \
    && /opt/wordlens/bin/python -m compileall -q --invalidation-mode unchecked-hash \
       /opt/wordlens/lib

FROM base AS train-deps
ARG PIP_CERT
COPY requirements-train.lock /tmp/
RUN python3 -m venv --without-pip /opt/wordlens \
    && python3 -m pip --python /opt/wordlens/bin/python install \
       --require-hashes -r /tmp/requirements-train.lock

# Training reads no file of app/: the evaluation is the next stage's.
FROM train-deps AS models
WORKDIR /src
COPY wordlens ./wordlens
COPY training ./training
COPY corpus ./corpus
ENV PYTHONPATH=/src PYTHONHASHSEED=0
RUN /opt/wordlens/bin/python -m wordlens -q train pmi --no-evaluate --out /models/pmi \
    && /opt/wordlens/bin/python -m wordlens -q train word2vec --workers 1 --no-evaluate \
       --out /models/word2vec

FROM models AS evaluated
COPY app ./app
RUN for model in pmi word2vec; do \
      /opt/wordlens/bin/python -m wordlens -q evaluate /models/$model --save >/dev/null || exit 1; \
    done

# The sources the server runs, compiled once; the corpus files stay out (the
# stop-word lists, which keywords and phrases read, stay in).
FROM base AS sources
WORKDIR /opt/wordlens-src
COPY wordlens ./wordlens
COPY app ./app
COPY training ./training
COPY corpus/*.py ./corpus/
COPY corpus/stopwords ./corpus/stopwords
RUN mkdir bin \
    && printf '#!/opt/wordlens/bin/python\nimport sys\nfrom wordlens.cli import main\nif __name__ == "__main__":\n    sys.exit(main())\n' \
       > bin/wordlens \
    && chmod 755 bin/wordlens \
    && python3 -m compileall -q --invalidation-mode unchecked-hash /opt/wordlens-src

FROM base AS runtime
ARG BASE_IMAGE VERSION=0.0.0 REVISION=unknown CREATED=
LABEL org.opencontainers.image.title="wordlens" \
      org.opencontainers.image.description="Similar words, related words and keywords from PMI and Word2Vec word vectors, over HTTP" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"
ENV PATH=/opt/wordlens-src/bin:/opt/wordlens/bin:$PATH PYTHONPATH=/opt/wordlens-src \
    WORDLENS_MODELS=/models WORDLENS_HOST=0.0.0.0 WORDLENS_PORT=8000 WORDLENS_WORKERS=1
RUN groupadd --system --gid 10001 wordlens \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin wordlens
COPY --from=server-deps /opt/wordlens /opt/wordlens
COPY --from=models /models /models
COPY --from=evaluated /models/pmi/manifest.json /models/pmi/manifest.json
COPY --from=evaluated /models/word2vec/manifest.json /models/word2vec/manifest.json
COPY --from=sources /opt/wordlens-src /opt/wordlens-src
USER 10001:10001
EXPOSE 8000
# Ready, not merely alive: a container whose models failed to load is unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('WORDLENS_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["wordlens", "serve"]
