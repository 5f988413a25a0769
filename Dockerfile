# syntax=docker/dockerfile:1
# The Agent Operator image: `agentctl run` as a non-root numeric UID on a slim Python base.
#   docker build -t ghcr.io/agent-operator/agent-operator:0.1.0 --build-arg VERSION=0.1.0 .
# tests/packaging/test_dockerfile.py lints this file and installs the package the same way.

ARG PYTHON_VERSION=3.12

# --- build: wheels for the package and every dependency, installed into a self-contained venv -----
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN pip wheel --wheel-dir /wheels . \
 && python -m venv /opt/agent-operator \
 && /opt/agent-operator/bin/pip install --no-index --find-links /wheels agent-operator \
 && /opt/agent-operator/bin/pip uninstall --yes pip \
 && /opt/agent-operator/bin/agentctl --version

# --- runtime: the venv only; no compiler, no pip, no sources -------------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="agent-operator" \
      org.opencontainers.image.description="Kubernetes operator that takes AI agents to production safely" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/agent-operator/agent-operator" \
      org.opencontainers.image.vendor="Agent Operator maintainers"
RUN python -m pip uninstall --yes pip setuptools wheel \
 && groupadd --system --gid 10001 agent-operator \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin agent-operator
COPY --from=build /opt/agent-operator /opt/agent-operator
ENV PATH=/opt/agent-operator/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# Numeric, so Kubernetes can verify runAsNonRoot without resolving a user name.
USER 10001:10001
# metrics, liveness (/healthz), admission webhook (HTTPS)
EXPOSE 8080 8081 9443
ENTRYPOINT ["agentctl", "run"]
