#!/usr/bin/env bash
# Builds the Ollama server from the Go module proxy so tests can run a real
# Ollama offline (see app/llm/ollamatest). Idempotent: a second run with the
# binary already in place returns in about a second.
#
#   scripts/build-ollama.sh            # build (or reuse) and print the binary path
#
# Environment:
#   QUIRE_OLLAMA_DIR   cache folder (default: $HOME/.cache/quire/ollama)
#   OLLAMA_VERSION     module version (default: 0.17.4; keep in sync with go.mod)
#
# Needs: go, a C/C++ toolchain (gcc, g++), and the Debian packages
# nlohmann-json3-dev and libstb-dev, because the module zip drops llama.cpp's
# vendor/ headers. They are installed with apt-get when missing.
set -euo pipefail

OLLAMA_VERSION="${OLLAMA_VERSION:-0.17.4}"
CACHE_DIR="${QUIRE_OLLAMA_DIR:-$HOME/.cache/quire/ollama}"
BIN_DIR="$CACHE_DIR/bin"
INCLUDE_DIR="$CACHE_DIR/include"
BIN="$BIN_DIR/ollama"

log() { printf '[build-ollama] %s\n' "$*" >&2; }

# has_version checks the binary's own (client) version. OLLAMA_HOST points at a
# closed port so a running server of another version cannot answer instead.
has_version() {
	[[ -x "$BIN" ]] && OLLAMA_HOST=127.0.0.1:9 "$BIN" --version 2>&1 | grep -q "client version is $OLLAMA_VERSION\$"
}

# Fast path: the right version is already built.
if has_version; then
	log "ollama $OLLAMA_VERSION already built"
	echo "$BIN"
	exit 0
fi

# --- system headers --------------------------------------------------------
need_pkgs=()
if command -v dpkg-query >/dev/null; then
	for pkg in nlohmann-json3-dev libstb-dev; do
		if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
			need_pkgs+=("$pkg")
		fi
	done
	if ! command -v g++ >/dev/null; then
		need_pkgs+=(g++)
	fi
else
	log "not Debian-based: make sure nlohmann/json.hpp and stb/stb_image.h are on the include path (CGO_CPPFLAGS)"
fi
if ((${#need_pkgs[@]})); then
	log "installing ${need_pkgs[*]}"
	sudo_cmd=()
	if [[ "$(id -u)" != 0 ]]; then sudo_cmd=(sudo); fi
	"${sudo_cmd[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${need_pkgs[@]}"
fi

# --- miniaudio stub ----------------------------------------------------------
# llama.cpp's mtmd-helper.cpp includes miniaudio/miniaudio.h (not packaged in
# Debian bookworm) only to decode audio for multimodal models. The stub
# declares exactly what that file uses (ollama v0.17.4) and makes every
# decode fail, which is fine: Quire never sends audio.
mkdir -p "$INCLUDE_DIR/miniaudio" "$BIN_DIR"
cat >"$INCLUDE_DIR/miniaudio/miniaudio.h" <<'EOF'
/* Stub of miniaudio for building ollama without audio support.
 * Written by quire/scripts/build-ollama.sh: every decoder call fails. */
#ifndef QUIRE_MINIAUDIO_STUB_H
#define QUIRE_MINIAUDIO_STUB_H

#include <stddef.h>
#include <string.h>

#ifndef MA_API
#define MA_API
#endif

typedef unsigned long long ma_uint64;
typedef unsigned int ma_uint32;

typedef enum { MA_SUCCESS = 0, MA_ERROR = -1, MA_NOT_IMPLEMENTED = -29 } ma_result;
typedef enum { ma_format_unknown = 0, ma_format_u8, ma_format_s16, ma_format_s24, ma_format_s32, ma_format_f32 } ma_format;
typedef enum { ma_encoding_format_unknown = 0, ma_encoding_format_wav } ma_encoding_format;

typedef struct {
    ma_format format;
    ma_uint32 channels;
    ma_uint32 sampleRate;
} ma_decoder_config;

typedef struct {
    int unused;
} ma_decoder;

static inline ma_decoder_config ma_decoder_config_init(ma_format format, ma_uint32 channels, ma_uint32 sampleRate) {
    ma_decoder_config c;
    c.format = format;
    c.channels = channels;
    c.sampleRate = sampleRate;
    return c;
}

static inline ma_result ma_decoder_init_memory(const void *data, size_t size, const ma_decoder_config *config, ma_decoder *decoder) {
    (void)data; (void)size; (void)config;
    if (decoder) memset(decoder, 0, sizeof(*decoder));
    return MA_NOT_IMPLEMENTED;
}

static inline ma_result ma_decoder_get_length_in_pcm_frames(ma_decoder *decoder, ma_uint64 *length) {
    (void)decoder;
    if (length) *length = 0;
    return MA_NOT_IMPLEMENTED;
}

static inline ma_result ma_decoder_read_pcm_frames(ma_decoder *decoder, void *out, ma_uint64 frameCount, ma_uint64 *framesRead) {
    (void)decoder; (void)out; (void)frameCount;
    if (framesRead) *framesRead = 0;
    return MA_NOT_IMPLEMENTED;
}

static inline ma_result ma_decoder_uninit(ma_decoder *decoder) {
    (void)decoder;
    return MA_SUCCESS;
}

#ifndef MA_NO_ENCODING
/* Only used when llama.cpp is built with MTMD_AUDIO_DEBUG. */
typedef struct {
    ma_encoding_format encodingFormat;
    ma_format format;
    ma_uint32 channels;
    ma_uint32 sampleRate;
} ma_encoder_config;

typedef struct {
    int unused;
} ma_encoder;

static inline ma_encoder_config ma_encoder_config_init(ma_encoding_format encodingFormat, ma_format format, ma_uint32 channels, ma_uint32 sampleRate) {
    ma_encoder_config c;
    c.encodingFormat = encodingFormat;
    c.format = format;
    c.channels = channels;
    c.sampleRate = sampleRate;
    return c;
}

static inline ma_result ma_encoder_init_file(const char *path, const ma_encoder_config *config, ma_encoder *encoder) {
    (void)path; (void)config; (void)encoder;
    return MA_NOT_IMPLEMENTED;
}

static inline ma_result ma_encoder_write_pcm_frames(ma_encoder *encoder, const void *in, ma_uint64 frameCount, ma_uint64 *framesWritten) {
    (void)encoder; (void)in; (void)frameCount;
    if (framesWritten) *framesWritten = 0;
    return MA_NOT_IMPLEMENTED;
}

static inline void ma_encoder_uninit(ma_encoder *encoder) { (void)encoder; }
#endif /* MA_NO_ENCODING */

#endif /* QUIRE_MINIAUDIO_STUB_H */
EOF

# --- build -------------------------------------------------------------------
# `go install pkg@version` ignores the go.mod of the current directory, but run
# from a neutral folder anyway so a surrounding go.work cannot interfere.
log "building github.com/ollama/ollama@v$OLLAMA_VERSION (cold build takes ~5 min on 2 cores)"
start=$(date +%s)
(
	cd "$(mktemp -d)"
	export GOWORK=off
	export CGO_ENABLED=1
	export GOFLAGS="-mod=mod -buildvcs=false"
	export GOBIN="$BIN_DIR"
	export CGO_CPPFLAGS="-I$INCLUDE_DIR ${CGO_CPPFLAGS:-}"
	go install \
		-ldflags "-s -w -X github.com/ollama/ollama/version.Version=$OLLAMA_VERSION" \
		"github.com/ollama/ollama@v$OLLAMA_VERSION"
)
log "built in $(($(date +%s) - start))s"

if ! has_version; then
	log "built binary does not report version $OLLAMA_VERSION:"
	OLLAMA_HOST=127.0.0.1:9 "$BIN" --version >&2 || true
	exit 1
fi
echo "$BIN"
