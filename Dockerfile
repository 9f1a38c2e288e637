# Container image of the source-exports Airbyte connector.
#
#   docker build -t airbyte/source-exports:dev .
#   docker run --rm -i airbyte/source-exports:dev spec
#
# Offline builds (no package index reachable) mount host-prepared wheels and point pip at them:
#   podman build --network host -v "$WHEELS:/wheels:ro" \
#     --build-arg PIP_INSTALL_ARGS="--no-index --find-links /wheels" -t airbyte/source-exports:dev .
# See docs/container.md.

# Plain tag, no digest: a test machine provides a locally built image under this name.
ARG BASE_IMAGE=docker.io/library/python:3.11-slim

FROM ${BASE_IMAGE} AS build
# Extra pip arguments, e.g. "--no-index --find-links /wheels"; empty = the default index.
ARG PIP_INSTALL_ARGS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# Only what `pip install .` needs.
COPY setup.py pyproject.toml ./
COPY source_exports ./source_exports
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install ${PIP_INSTALL_ARGS} --use-pep517 . \
 && /opt/venv/bin/source-exports spec >/dev/null

FROM ${BASE_IMAGE}
LABEL io.airbyte.name="airbyte/source-exports" \
      io.airbyte.version="0.1.0" \
      org.opencontainers.image.title="source-exports" \
      org.opencontainers.image.description="Airbyte source for vendor export APIs: Cargo, SourceCraft CI, Spaaza, PostHog."
RUN groupadd --gid 1000 airbyte \
 && useradd --uid 1000 --gid airbyte --home-dir /airbyte --create-home \
        --shell /usr/sbin/nologin airbyte
COPY --from=build /opt/venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    AIRBYTE_ENTRYPOINT="source-exports"
WORKDIR /airbyte
USER airbyte
ENTRYPOINT ["source-exports"]
