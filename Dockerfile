# syntax=docker/dockerfile:1
#
# Switchyard container image: a static binary on Alpine, run as a non-root user.
#
#   make docker                                   # or:
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t switchyard .
#   docker run --rm -p 8080:8080 switchyard       # embedded default: mock provider, no keys
#
# Alpine rather than distroless or scratch: the HEALTHCHECK needs an HTTP client (busybox
# wget), and the binary has no health-check subcommand of its own.

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
EXPOSE 8080
# /healthz answers 200 while the process serves HTTP. The port must match --listen below.
HEALTHCHECK --interval=15s --timeout=3s --start-period=5s --retries=3 \
	CMD wget -q -O /dev/null http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/switchyard"]
# A configuration file can be mounted and named with SWITCHYARD_CONFIG (e.g.
# -v ./config.yaml:/etc/switchyard/config.yaml:ro -e SWITCHYARD_CONFIG=/etc/switchyard/config.yaml).
CMD ["serve", "--listen", "0.0.0.0:8080"]
