# syntax=docker/dockerfile:1
#
# Switchyard container image: a static binary on Alpine, run as a non-root user.
#
#   make docker                                   # or:
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t switchyard .
#   docker run --rm -p 8080:8080 switchyard       # embedded default: mock provider, no keys
#
# With a configuration file, mounted read-only; the ledger (sqlite:switchyard-ledger.db,
# relative to the working directory) lands in the writable /var/lib/switchyard volume:
#
#   docker run --rm -p 8080:8080 -v "$PWD/examples:/etc/switchyard:ro" \
#     -v switchyard-data:/var/lib/switchyard -e SWITCHYARD_CONFIG=/etc/switchyard/features.yaml \
#     -e SWITCHYARD_KEY_WEB=sy-web-dev -e SWITCHYARD_KEY_DEV=sy-dev-dev -e SWITCHYARD_ADMIN_KEY=sy-admin-dev switchyard
#
# The listen address is SWITCHYARD_LISTEN (default 0.0.0.0:8080 here). It wins over the
# configuration file's listen, and the HEALTHCHECK reads the same variable, so the two
# never disagree: -e SWITCHYARD_LISTEN=0.0.0.0:9090 -p 9090:9090 moves both.
#
# Alpine rather than distroless or scratch: the HEALTHCHECK needs an HTTP client (busybox
# wget) and a shell, and the binary has no health-check subcommand of its own.

ARG GO_VERSION=1.26
ARG ALPINE_VERSION=3.22

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Dependencies first, so editing the code does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
	-ldflags "-s -w -X github.com/switchyard/switchyard/gateway.Version=${VERSION}" \
	-o /out/switchyard ./cmd/switchyard

FROM alpine:${ALPINE_VERSION}
ARG VERSION=dev
LABEL org.opencontainers.image.title="switchyard" \
	org.opencontainers.image.description="OpenAI-compatible LLM inference gateway" \
	org.opencontainers.image.version="${VERSION}"
# The base image carries the CA bundle (ca-certificates-bundle) used for https:// providers.
# A fixed numeric uid/gid so volume permissions and runAsNonRoot policies are predictable;
# /var/lib/switchyard is its writable working directory.
RUN addgroup -S -g 10001 switchyard \
	&& adduser -S -D -H -u 10001 -G switchyard -h /var/lib/switchyard switchyard \
	&& mkdir -p /var/lib/switchyard /etc/switchyard \
	&& chown switchyard:switchyard /var/lib/switchyard
COPY --from=build /out/switchyard /usr/local/bin/switchyard
USER 10001:10001
WORKDIR /var/lib/switchyard
VOLUME /var/lib/switchyard
ENV SWITCHYARD_LISTEN=0.0.0.0:8080
EXPOSE 8080
# /healthz answers 200 while the process serves HTTP, on the port of SWITCHYARD_LISTEN.
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 \
	CMD wget -q -O /dev/null "http://127.0.0.1:${SWITCHYARD_LISTEN##*:}/healthz" || exit 1
ENTRYPOINT ["/usr/local/bin/switchyard"]
# A configuration file can be mounted and named with SWITCHYARD_CONFIG (see above).
CMD ["serve"]
