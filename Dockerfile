# Multi-stage build of the oddsfeed binary; the final image runs as a
# non-root user with only the binary and CA certificates.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/oddsfeed ./cmd/oddsfeed

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/oddsfeed /usr/local/bin/oddsfeed
USER nonroot:nonroot
EXPOSE 8080
ENV ODDSFEED_ADDR=0.0.0.0:8080 ODDSFEED_DATA_DIR=/data
ENTRYPOINT ["/usr/local/bin/oddsfeed"]
CMD ["serve"]
