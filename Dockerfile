# Workshop Builder: hardened multi-stage image.
# BASE_IMAGE selects the base of both stages; an offline base built by
# scripts/make-base-image.sh works where no registry can be reached.
ARG BASE_IMAGE=python:3.12-slim

# --- builder: a virtual environment with the runtime dependencies ----------
FROM ${BASE_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
# Dependencies first, so a change to the app's code reuses this layer.
COPY requirements.txt /tmp/requirements.txt
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-compile -r /tmp/requirements.txt \
    && /opt/venv/bin/pip uninstall --yes pip setuptools \
    && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

# --- production: only the environment, the app and an unprivileged user ----
# Order matters for the cache: what changes least comes first, and the app's
# code (the most frequent change) is the very last layer, so an edit to it
# rebuilds one COPY and nothing else.
FROM ${BASE_IMAGE} AS production
# The account exists for tools that look it up; the uid is what matters.
RUN groupadd --gid 1000 workshop-user \
    && useradd --uid 1000 --gid 1000 --no-create-home --home-dir /tmp \
       --shell /usr/sbin/nologin workshop-user \
    && mkdir -p /workshops \
    && chown 1000:1000 /workshops
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    XDG_CACHE_HOME=/tmp/.cache \
    WORKSHOPS_BASE_DIR=/workshops
WORKDIR /tmp
# workshop-user, by number: runtimes that enforce non-root need a numeric uid.
USER 1000:1000
HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 \
    CMD ["python3", "-m", "workshop_builder.health"]
ENTRYPOINT ["python3", "-m", "workshop_builder"]
CMD ["--help"]
# Build metadata changes with every commit: after the stable layers.
ARG BUILD_DATE=unknown
ARG VCS_REF=unknown
ARG VERSION=dev
LABEL org.opencontainers.image.title="workshop-builder-app" \
      org.opencontainers.image.description="Generates programming workshops from a topic" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT"
COPY workshop_builder /app/workshop_builder
