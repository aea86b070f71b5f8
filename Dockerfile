# Multi-stage build: the dashboard's front end (npm + esbuild), the Go
# binary (static), and a small runtime image running as a non-root user.
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

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/oddsfeed /usr/local/bin/oddsfeed
USER nonroot:nonroot
EXPOSE 8080
ENV ODDSFEED_ADDR=0.0.0.0:8080 ODDSFEED_DATA_DIR=/data
ENTRYPOINT ["/usr/local/bin/oddsfeed"]
CMD ["serve"]
