# Quire: a static binary on a distroless base, running as a non-root user.
# docker build -t quire . && docker run -p 8080:8080 -v quire-data:/data quire
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X quire/app.Version=${VERSION}" -o /out/quire . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/quire /quire
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV QUIRE_LISTEN=0.0.0.0:8080 QUIRE_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s CMD ["/quire", "health"]
ENTRYPOINT ["/quire"]
CMD ["serve"]
