# wordlens: the HTTP server with the default models built in.
#
#   docker build -t wordlens .
#   docker run -p 8000:8000 wordlens
#
# BASE_IMAGE must provide python3 (3.11+) with venv and pip; the default is the
# official slim image. Both stages use it, so the virtual environment copies over.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# Build-time only (never part of the image's environment): a CA bundle path for pip
# behind a TLS-intercepting proxy, e.g. --build-arg PIP_CERT=/etc/ssl/certs/ca-certificates.crt
ARG PIP_CERT
WORKDIR /src
RUN python3 -m venv /opt/wordlens
# Dependencies first, the exact versions and hashes of requirements.lock alone, so
# that source changes keep this layer.
COPY requirements.lock ./
RUN /opt/wordlens/bin/pip install --require-hashes -r requirements.lock
COPY README.md LICENSE ./
COPY wordlens ./wordlens
COPY app ./app
COPY training ./training
COPY corpus ./corpus
RUN /opt/wordlens/bin/pip install --no-deps . \
    && /opt/wordlens/bin/python -m compileall -q /opt/wordlens/lib
# The default models, trained on the shipped corpus, so that the image answers at once.
RUN /opt/wordlens/bin/wordlens -q train pmi --out /models/pmi \
    && /opt/wordlens/bin/wordlens -q train word2vec --out /models/word2vec

FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/wordlens/bin:$PATH \
    WORDLENS_MODELS=/models WORDLENS_HOST=0.0.0.0 WORDLENS_PORT=8000 WORDLENS_WORKERS=1 \
    NUMBA_CACHE_DIR=/tmp/numba
RUN groupadd --system --gid 10001 wordlens \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin wordlens
COPY --from=build /opt/wordlens /opt/wordlens
COPY --from=build /models /models
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('WORDLENS_PORT', '8000'), timeout=4)"]
ENTRYPOINT ["wordlens", "serve"]
