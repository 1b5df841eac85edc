#!/usr/bin/env bash
# Installs Versity Gateway (an S3 server, a Go module) for the S3 replica
# test, from the Go module proxy into ~/.cache/quire/versitygw/bin once. The
# test starts it itself on loopback with its posix backend; it skips without
# it, except under CI=true. A cold build takes several minutes.
set -euo pipefail
version="v1.8.0"
dir="$HOME/.cache/quire/versitygw"
stamp="$dir/bin/.versitygw-$version"
if [ -x "$dir/bin/versitygw" ] && [ -e "$stamp" ]; then
  echo "versitygw $version already installed at $dir/bin/versitygw"
  exit 0
fi
# Outside any module, so the project's go.mod is neither read nor touched.
(cd "$(mktemp -d)" && GOFLAGS= GOBIN="$dir/bin" go install "github.com/versity/versitygw/cmd/versitygw@$version")
touch "$stamp"
echo "installed versitygw $version at $dir/bin/versitygw"
