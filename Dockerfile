# Multi-stage build: the dashboard's front end (npm + esbuild), the Go
# binary (static), and a small runtime image running as a non-root user.
# No API key is ever built into the image (docker-compose.yml's keygen
# service generates them into a volume).
FROM node:20.18-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /src/web/dist ./web/dist
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/oddsfeed ./cmd/oddsfeed
# The data directory (embedded store, generated dev keys): distroless has no
# shell to make it, so it is made here and copied owned by nonroot (65532).
# A named volume mounted there starts with this owner, so it is writable.
RUN mkdir -m 0700 /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/oddsfeed /usr/local/bin/oddsfeed
COPY --from=build --chown=65532:65532 /out/data /data
USER nonroot:nonroot
EXPOSE 8080
ENV ODDSFEED_ADDR=0.0.0.0:8080 ODDSFEED_DATA_DIR=/data
ENTRYPOINT ["/usr/local/bin/oddsfeed"]
CMD ["serve"]
