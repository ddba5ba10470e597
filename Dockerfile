# syntax=docker/dockerfile:1
# The service image. The build stage runs the same scripts as the host
# build (scripts/deps.sh, scripts/build.sh); the final stage holds only the
# binary, its shared libraries and the migrations, and runs as an
# unprivileged user. No secret is in it: every setting comes from the
# environment (docs/deployment.md, Configuration), the certificate from a volume.
#
# `make image` builds it with podman from a locally made Debian 12 base
# (scripts/image.sh passes BASE_IMAGE); elsewhere the default base works:
#
#   docker build -t booking .
#   docker run -p 8443:8443 -v $PWD/cert:/app/cert:ro \
#     -e DATABASE_URL=postgresql://... -e REDIS_URL=redis://... \
#     -e JWT_SECRET=... -e PAYMENT_WEBHOOK_SECRET=... \
#     -e PAYMENT_PROVIDER=stripe -e STRIPE_SECRET_KEY=... \
#     -e STRIPE_WEBHOOK_SECRET=... booking
#
# PAYMENT_PROVIDER has no default in the image: without it the container
# refuses to start (deploy/container-entry.sh); mock is for development.

ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY scripts/deps.sh scripts/deps.sh
RUN ./scripts/deps.sh build && ./scripts/deps.sh docs
COPY . .
# npm.sh docs: swagger-ui-dist and redoc from the npm registry, pinned by
# package-lock.json, embedded by build.sh for /docs and /redoc. If the
# registry cannot be reached the image is built without them and those
# pages answer 404 docs_not_built (the build log says so); pass
# --build-arg DOCS=required to fail instead. Behind a TLS-inspecting proxy
# pass its CA bundle as the build secret npm_ca (scripts/image.sh passes
# the host's): it is mounted for this step only, never in a layer.
ARG DOCS=optional
RUN --mount=type=secret,id=npm_ca rm -rf build var node_modules \
    && { [ ! -s /run/secrets/npm_ca ] \
         || export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; } \
    && { ./scripts/npm.sh docs || { [ "$DOCS" != required ] \
         && echo "WARNING: image without /docs and /redoc (npm failed)"; }; } \
    && ./scripts/build.sh

FROM ${BASE_IMAGE}
COPY scripts/deps.sh /tmp/deps.sh
RUN DEPS_CLEAN_APT=1 /tmp/deps.sh image && rm /tmp/deps.sh \
    && groupadd --gid 10001 booking \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /app \
       --shell /usr/sbin/nologin booking \
    && mkdir -p /app/cert && chown booking /app
COPY --from=build /src/build/booking /usr/local/bin/booking
COPY deploy/container-entry.sh /usr/local/bin/booking-entry
COPY migrations /app/migrations

WORKDIR /app
ENV BIND_ADDRESS=0.0.0.0 \
    PORT=8443 \
    MIGRATIONS_DIR=/app/migrations \
    TLS_CERT=/app/cert/server.pem \
    TLS_KEY=/app/cert/key.pem \
    DRAIN_TIMEOUT_SECONDS=10
USER 10001:10001
EXPOSE 8443
# SIGTERM drains: give the container more than DRAIN_TIMEOUT_SECONDS to
# stop (docker stop -t 15, compose stop_grace_period).
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsk "https://127.0.0.1:${PORT}/api/health" >/dev/null || exit 1
ENTRYPOINT ["/usr/local/bin/booking-entry", "-f", "-n", "-r"]
