# Container image of the source-exports Airbyte connector, built the way Airbyte's Python connector
# template builds it (`airbyte-cdk image build`): FROM the base image `metadata.yaml` pins, the package
# installed into the base image's Python under /usr/local, WORKDIR /airbyte/integration_code, the
# base image's `airbyte` user, and /entrypoint.sh running `source-exports "$@"`.
# integration_tests/test_image_definition.py checks this file against the CDK's rendered template.
#
#   docker build -t airbyte/source-exports:dev .
#   docker run --rm -i airbyte/source-exports:dev spec
#
# Offline builds (no package index reachable) mount host-prepared wheels and point pip at them:
#   podman build --network host -v "$WHEELS:/wheels:ro" \
#     --build-arg PIP_INSTALL_ARGS="--no-index --find-links /wheels" -t airbyte/source-exports:dev .
# See docs/container.md.

# The same value as data.connectorBuildOptions.baseImage in metadata.yaml. Test machines without a
# registry pass a plain tag (`--build-arg BASE_IMAGE=docker.io/airbyte/python-connector-base:4.0.0`)
# naming a locally built stand-in.
ARG BASE_IMAGE=docker.io/airbyte/python-connector-base:4.0.0@sha256:d9894b6895923b379f3006fa251147806919c62b7d9021b5cd125bb67d7bbe22

FROM ${BASE_IMAGE} AS builder
# Extra pip arguments, e.g. "--no-index --find-links /wheels"; empty = the default package index.
ARG PIP_INSTALL_ARGS=""
WORKDIR /airbyte/integration_code
# Only what `pip install .` needs (.dockerignore keeps everything else out of the context).
COPY setup.py pyproject.toml ./
COPY source_exports ./source_exports
RUN PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 python -m pip install ${PIP_INSTALL_ARGS} --use-pep517 .

FROM ${BASE_IMAGE}
ARG CONNECTOR_NAME=source-exports
LABEL io.airbyte.name="airbyte/source-exports" \
      io.airbyte.version="0.2.7" \
      org.opencontainers.image.title="source-exports" \
      org.opencontainers.image.description="Airbyte source for vendor export APIs: Cargo, SourceCraft CI, Spaaza, PostHog."
WORKDIR /airbyte/integration_code
# The installed package and its dependencies, without the sources or any pip cache.
COPY --from=builder /usr/local /usr/local
RUN printf '#!/usr/bin/env bash\nset -e\n\n%s "$@"\n' "${CONNECTOR_NAME}" >/entrypoint.sh \
 && chmod 755 /entrypoint.sh \
 && /entrypoint.sh spec >/dev/null
USER airbyte
ENV AIRBYTE_ENTRYPOINT="/entrypoint.sh"
ENTRYPOINT ["/entrypoint.sh"]
