# syntax=docker/dockerfile:1
#
# One image for every My Number service. The service is chosen by the container's command:
#
#   docker run --rm mynumber:dev python -m services.registry
#   docker run --rm mynumber:dev python -m mynumber_core.migrations registry upgrade
#
# Build:  docker build -t mynumber:dev .        (see deploy/README.md)
#
# Two stages: "build" installs the project and its locked dependencies (uv.lock, pinned with
# hashes) into a virtualenv; "runtime" copies only that virtualenv onto a fresh slim base, so
# no build tools, uv, caches or source tree end up in the image. Keys, certificates and database URLs are never baked in: they are
# mounted at run time from Kubernetes Secrets.

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_NO_CACHE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy

WORKDIR /src
# uv (pinned, with hashes) goes into the build stage's system Python only, never the image.
COPY uv-requirements.txt ./
RUN pip install --require-hashes -r uv-requirements.txt
# A venv with pip in it, so that `pip check` can be run in the image.
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# Only what the install needs; .dockerignore keeps everything else out of the context.
# Runtime dependencies only (no extras: no Faker, no test or deploy tools), exactly as locked;
# tests/deploy/test_image_install.py installs the same set into a clean venv and runs pip check.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-editable --no-install-project
COPY src ./src
COPY gen ./gen
COPY services ./services
RUN uv sync --locked --no-dev --no-editable

FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="mynumber-platform" \
      org.opencontainers.image.description="Japan's My Number platform: registry, agencies, portal" \
      org.opencontainers.image.licenses="Apache-2.0"

# A fixed numeric uid/gid so that Kubernetes can verify runAsNonRoot without a passwd lookup.
RUN groupadd --system --gid 10001 mynumber \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin mynumber

COPY --from=build /opt/venv /opt/venv

# Bytecode is precompiled in the build stage: the root filesystem is read-only at run time.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MYNUMBER_LOG_FORMAT=json

WORKDIR /app
USER 10001:10001

# gRPC API (mTLS), gRPC health (plaintext), Prometheus metrics, gateway HTTP.
EXPOSE 50051 8081 9090 8080

# No default service: the orchestrator passes `python -m services.<name>`.
CMD ["python", "-c", "raise SystemExit('usage: python -m services.<registry|municipality|pension|tax|health|gateway>')"]
