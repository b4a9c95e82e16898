# The cueprint daemon: the binary and FFmpeg's runtime libraries on Debian 12,
# run as an unprivileged user with its store in the /data volume.
#
#   docker build --build-arg VERSION="$(git describe --always --dirty)" -t cueprint .
#   docker volume create cueprint-data
#   docker run --rm -v cueprint-data:/data cueprint keys create --role admin --tenant ops
#   docker run -d --name cueprint -p 8080:8080 -v cueprint-data:/data cueprint
#
# Settings are flags after the image name or CUEPRINT_<FLAG> variables
# (docker run -e CUEPRINT_MAX_UPLOAD_BYTES=2G); see README.md, Configuration.
# A bind mount instead of a volume must be writable by uid 10001
# (or run with --user "$(id -u):$(id -g)").

FROM golang:1.26-bookworm AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc libc6-dev pkg-config \
      libavcodec-dev libavformat-dev libavfilter-dev libavutil-dev libswresample-dev libswscale-dev libavdevice-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# .git is not in the build context: the version is passed in.
ARG VERSION=""
RUN go build -trimpath -ldflags "-X main.buildVersion=${VERSION}" -o /out/cueprint ./cmd/cueprint

FROM debian:12-slim
# ca-certificates: https media URLs and scans.
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates \
      libavcodec59 libavformat59 libavfilter8 libavutil57 libswresample4 libswscale6 libavdevice59 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 cueprint \
    && useradd --system --uid 10001 --gid cueprint --home-dir /data --no-create-home cueprint \
    && mkdir -p /data && chown cueprint:cueprint /data && chmod 0700 /data
COPY --from=build /out/cueprint /usr/local/bin/cueprint
# A new named volume takes /data's owner and mode from the image, so the
# unprivileged user can write its store there.
VOLUME /data
WORKDIR /data
USER cueprint:cueprint
ENV CUEPRINT_DB=/data/db \
    CUEPRINT_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["cueprint", "health"]
ENTRYPOINT ["cueprint"]
CMD ["serve"]
