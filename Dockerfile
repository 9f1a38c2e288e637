# Container image of the source-exports Airbyte connector.
#
#   docker build -t airbyte/source-exports:dev .
#   docker run --rm -i airbyte/source-exports:dev spec
#
# Offline builds (no package index reachable) mount host-prepared wheels and point pip at them:
#   podman build --network host -v "$WHEELS:/wheels:ro" \
#     --build-arg PIP_INSTALL_ARGS="--no-index --find-links /wheels" -t airbyte/source-exports:dev .
# See docs/container.md.

# Plain tag, no digest: test machines provide a locally built image under this name.
ARG BASE_IMAGE=docker.io/library/python:3.11-slim
FROM ${BASE_IMAGE}

# Extra pip arguments, e.g. "--no-index --find-links /wheels"; empty = the default package index.
ARG PIP_INSTALL_ARGS=""

LABEL io.airbyte.name="airbyte/source-exports" \
      io.airbyte.version="0.1.1" \
      org.opencontainers.image.title="source-exports" \
      org.opencontainers.image.description="Airbyte source for vendor export APIs: Cargo, SourceCraft CI, Spaaza, PostHog."

# Only what `pip install .` needs; the sources are removed again after the install.
COPY setup.py pyproject.toml /tmp/source-exports/
COPY source_exports /tmp/source-exports/source_exports

# One layer: a virtualenv with the connector and its runtime dependencies (no pip cache, no
# sources), a build-time smoke test, and the unprivileged user the connector runs as.
RUN python3 -m venv /opt/venv \
 && PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    /opt/venv/bin/pip install ${PIP_INSTALL_ARGS} --use-pep517 /tmp/source-exports \
 && rm -rf /tmp/source-exports \
 && /opt/venv/bin/source-exports spec >/dev/null \
 && groupadd --gid 1000 airbyte \
 && useradd --uid 1000 --gid airbyte --home-dir /airbyte --create-home --shell /usr/sbin/nologin airbyte

ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    AIRBYTE_ENTRYPOINT="source-exports"
WORKDIR /airbyte
USER airbyte
ENTRYPOINT ["source-exports"]
