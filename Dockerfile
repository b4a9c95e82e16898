# Build: docker build -t cueprint .
# Run:   docker run --rm -v "$PWD/data:/data" cueprint match --db /data/db /data/query.mp3
# Serve: docker run --rm -v "$PWD/data:/data" cueprint keys create --db /data/db --role admin --tenant ops
#        docker run -d -p 8080:8080 -v "$PWD/data:/data" cueprint serve --db /data/db --listen 0.0.0.0:8080
FROM golang:1.26-bookworm AS build
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      gcc libc6-dev pkg-config \
      libavcodec-dev libavformat-dev libavfilter-dev libavutil-dev libswresample-dev libswscale-dev libavdevice-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -o /out/cueprint ./cmd/cueprint

FROM debian:12-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libavcodec59 libavformat59 libavfilter8 libavutil57 libswresample4 libswscale6 libavdevice59 \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /data cueprint
COPY --from=build /out/cueprint /usr/local/bin/cueprint
USER cueprint
WORKDIR /data
EXPOSE 8080
ENTRYPOINT ["cueprint"]
CMD ["serve", "--db", "/data/db", "--listen", "0.0.0.0:8080"]
