# Dockerfile — the sluiced image used by docker-compose.yml: build with the project's Makefile
# on Debian 12 (the packages it installs are the ones `make deps` uses), run on a slim base.
FROM debian:bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential pkg-config \
      libpq-dev libmicrohttpd-dev libjansson-dev libssl-dev librdkafka-dev libcurl4-openssl-dev \
      libseccomp-dev libyaml-dev libpcre2-dev libnftables-dev libhiredis-dev libmosquitto-dev librabbitmq-dev liblua5.4-dev \
      check clang git ca-certificates nodejs npm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN make build/rel/sluiced build/rel/sluiced-worker build/web/index.html

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 libmicrohttpd12 \
      libjansson4 libssl3 librdkafka1 libcurl4 libseccomp2 libyaml-0-2 libpcre2-8-0 libnftables1 nftables ca-certificates \
      libhiredis0.14 libmosquitto1 librabbitmq4 liblua5.4-0 \
      && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/rel/sluiced /src/build/rel/sluiced-worker /usr/local/bin/
COPY --from=build /src/migrations /usr/local/share/sluice/migrations
COPY --from=build /src/build/web /usr/local/share/sluice/web
ENV SLUICE_MIGRATIONS_DIR=/usr/local/share/sluice/migrations SLUICE_WEB_DIR=/usr/local/share/sluice/web
WORKDIR /var/lib/sluice
ENTRYPOINT []
CMD ["sluiced", "--help"]
