#!/usr/bin/env bash
# Installs stripe-mock (Stripe's official API mock, a Go module) for the billing
# tests, from the Go module proxy into $(go env GOPATH)/bin. The tests start it
# themselves on loopback ports; they skip without it, except under CI=true.
set -euo pipefail
version="v0.203.0" # keep in step with app/billing/stripemocktest.Version
bin="$(go env GOPATH)/bin/stripe-mock"
stamp="$(go env GOPATH)/bin/.stripe-mock-$version"
if [ -x "$bin" ] && [ -e "$stamp" ]; then
  echo "stripe-mock $version already installed at $bin"
  exit 0
fi
# Outside any module, so the project's go.mod is neither read nor touched.
(cd "$(mktemp -d)" && GOFLAGS= go install "github.com/stripe/stripe-mock@$version")
touch "$stamp"
echo "installed stripe-mock $version at $bin"
