# syntax=docker/dockerfile:1

# Images of aiconsent (the default target) and of the Example App for
# docker-compose.yml. The binaries are static (CGO_ENABLED=0), which works
# because the SQLite driver, modernc.org/sqlite, is pure Go.

FROM golang:1.26 AS build
WORKDIR /src

COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download

COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -o /out/ ./cmd/aiconsent ./cmd/demoapp ./cmd/demo

# An empty directory to copy with the nonroot owner: a named volume mounted
# on /data takes its owner from the image, so aiconsent can write there.
RUN mkdir -p /out/data

# The Example App, plus `demo register-client`, which creates its OAuth2
# client in Hydra.
FROM gcr.io/distroless/static-debian12:nonroot AS demoapp
COPY --from=build /out/demoapp /out/demo /usr/local/bin/
USER nonroot:nonroot
EXPOSE 5555
ENTRYPOINT ["/usr/local/bin/demoapp"]

FROM gcr.io/distroless/static-debian12:nonroot AS aiconsent
COPY --from=build /out/aiconsent /usr/local/bin/aiconsent
COPY --from=build --chown=65532:65532 /out/data /data
USER nonroot:nonroot
ENV AICONSENT_ADDR=0.0.0.0:3000 \
    AICONSENT_DATABASE=/data/aiconsent.db
EXPOSE 3000
ENTRYPOINT ["/usr/local/bin/aiconsent"]
CMD ["serve"]
