# syntax=docker/dockerfile:1
# One image for every component: the entrypoint is `aiops-rca`, the Helm chart
# picks the subcommand (operator, receiver, dashboard; sandbox for demos).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/aiops-rca
COPY pyproject.toml README.md ./
COPY operator ./operator
COPY webhook_receiver ./webhook_receiver
COPY dashboard ./dashboard
COPY sandbox ./sandbox
COPY crds ./crds
RUN /opt/aiops-rca/bin/pip install --no-cache-dir . \
 && /opt/aiops-rca/bin/python -m aiops_operator.install_check \
 && /opt/aiops-rca/bin/aiops-rca --help > /dev/null

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="aiops-rca" \
      org.opencontainers.image.description="Self-healing incidents for Azure Data Factory and Databricks failures" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/aiops-rca/aiops-rca"
RUN groupadd --system --gid 10001 aiops \
 && useradd --system --uid 10001 --gid aiops --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin aiops
COPY --from=build /opt/aiops-rca /opt/aiops-rca
COPY --from=build /src/crds /opt/aiops-rca/share/crds
ENV PATH=/opt/aiops-rca/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# Numeric user so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
WORKDIR /tmp
EXPOSE 8080
ENTRYPOINT ["aiops-rca"]
CMD ["--help"]
