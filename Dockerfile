# syntax=docker/dockerfile:1
# The Agent Operator image: `agentctl run` as a non-root numeric UID on a slim Python base.
#   docker build -t ghcr.io/agent-operator/agent-operator:0.1.0 --build-arg VERSION=0.1.0 .
# tests/packaging/test_dockerfile.py lints this file and installs the package the same way.

ARG PYTHON_VERSION=3.12

# --- build: the locked dependencies and the package, installed into a self-contained venv ---------
# Versions and hashes come from uv.lock, the same lock `make test` installs from; uv itself is pinned by
# hash in tools/uv/requirements.txt. tests/packaging/test_dockerfile.py runs this `uv sync` line.
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/agent-operator
WORKDIR /src
COPY tools/uv/requirements.txt tools/uv/requirements.txt
RUN pip install --require-hashes --no-deps -r tools/uv/requirements.txt
COPY pyproject.toml uv.lock README.md ./
COPY operator ./operator
RUN uv sync --locked --no-dev --no-editable --python /usr/local/bin/python \
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
