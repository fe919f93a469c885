# The gwsync operator image: `docker build -t ghcr.io/gwsync/gwsync:0.1.0 .`
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp
COPY --from=build /install /usr/local
# Non-root, matching the Deployment's runAsUser; the root filesystem is mounted read-only.
RUN groupadd --gid 65532 gwsync && useradd --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin gwsync
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["gwsync", "run"]
