# Release image: build with the bundled SQLite/libpq/OpenSSL, run on a slim Debian.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY migrations ./migrations
RUN cargo build --release --locked --bin roadshow

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /data roadshow && mkdir -p /data && chown roadshow /data
COPY --from=build /src/target/release/roadshow /usr/local/bin/roadshow
USER roadshow
WORKDIR /data
ENV ROADSHOW_BIND=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///data/roadshow.db \
    ROADSHOW_MAIL_DIR=/data/mail
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD ["/bin/sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080"]
ENTRYPOINT ["roadshow"]
CMD ["serve"]
