# syntax=docker/dockerfile:1
# The service image. The build stage runs the same scripts as the host
# build (scripts/deps.sh, scripts/build.sh); the final stage holds only the
# binary, its shared libraries and the migrations, and runs as a non-root
# user.
#
#   docker build -t booking .
#   docker run -p 8443:8443 -v $PWD/cert:/app/cert:ro \
#     -e DATABASE_URL=postgresql://... -e REDIS_URL=redis://... \
#     -e JWT_SECRET=... -e PAYMENT_WEBHOOK_SECRET=... booking

FROM debian:bookworm-slim AS build
WORKDIR /src
COPY scripts/deps.sh scripts/deps.sh
RUN ./scripts/deps.sh build
COPY . .
RUN rm -rf build var && ./scripts/build.sh

FROM debian:bookworm-slim
COPY scripts/deps.sh /tmp/deps.sh
RUN DEPS_CLEAN_APT=1 /tmp/deps.sh image && rm /tmp/deps.sh \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin \
       booking \
    && mkdir -p /app/cert && chown booking /app
COPY --from=build /src/build/booking /usr/local/bin/booking
COPY migrations /app/migrations

WORKDIR /app
ENV BIND_ADDRESS=0.0.0.0 \
    PORT=8443 \
    MIGRATIONS_DIR=/app/migrations \
    TLS_CERT=/app/cert/server.pem \
    TLS_KEY=/app/cert/key.pem
USER booking
EXPOSE 8443
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsk "https://127.0.0.1:${PORT}/api/health" >/dev/null || exit 1
ENTRYPOINT ["/usr/local/bin/booking", "-f", "-n", "-r"]
