#!/usr/bin/env bash
#
# Build devicegate and run every test: the Swift unit tests, then the
# integration tests in Tests/Integration (Python, pytest), which start their
# own nginx and devicegate workers, then libFuzzer over the hostile-input
# properties (deploy/fuzz.sh, $DEVICEGATE_FUZZ_SECONDS per target, default 12).
#
# The integration tests run twice: on one host with the state directory (as a
# single-host install runs), then on two hosts sharing one PostgreSQL schema
# behind a round-robin nginx (DEVICEGATE_TEST_TOPOLOGY=two-hosts). A throwaway
# PostgreSQL cluster (deploy/postgres-test-cluster.sh) serves `swift test` and
# the two-host run; it is stopped and removed when this script exits, however
# it exits.
#
#     deploy/test.sh
#
# Installs the Debian packages that are missing (needs root then). Exits
# non-zero if the build or any test suite fails; all suites run even if an
# earlier one failed, so one run shows every failure.
set -euo pipefail

# shellcheck source=deploy/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$DG_ROOT"

# libcrypt-dev: libxcrypt for the users file (bcrypt/yescrypt). chromium and
# chromium-driver: the verification page's end-to-end test in a real browser.
# strace: the durability-order test watches a worker's syscalls. e2fsprogs: the
# inode-exhaustion test loop-mounts a small ext4 image. libpq-dev: the
# PostgreSQL client library the build links. postgresql: the throwaway cluster
# of the tests (initdb, pg_ctl, psql). openssl: the test CA and server
# certificate of the https stack (harness.py TestCA). oidc-agent-cli: the
# oidc-agent client test (oidc-agent, oidc-gen, oidc-token). libqrencode-dev
# and libcurl4-openssl-dev: devicegate-login's QR code and HTTP; librsvg2-bin and
# zbar-tools: its test renders the QR SVG and reads it back.
ensure_packages libfcgi-dev libcrypt-dev libpq-dev postgresql pkg-config=pkg-config nginx-light=nginx curl=curl \
    python3=python3 chromium chromium-driver strace=strace e2fsprogs=mkfs.ext4 openssl=openssl \
    oidc-agent-cli=oidc-gen libqrencode-dev libcurl4-openssl-dev librsvg2-bin=rsvg-convert zbar-tools=zbarimg
require_swift

# A python3 with what the integration tests import: pytest, requests, selenium
# (the browser test), joserfc (an independent JOSE implementation that
# verifies our tokens), and the OAuth client libraries the interop tests drive
# (msal, authlib, oauthlib: test_clients_*.py), and axe-selenium-python
# (axe-core for test_accessibility.py, bundled: no network). The python3 on PATH, with
# anything missing added from PyPI; failing that, Debian's python3 with
# Debian's packages and pip (axe-selenium-python from PyPI, Debian has none; msal from PyPI: Debian's is older than
# oidc_authority, which the test needs).
modules='import pytest, requests, selenium, joserfc, msal, authlib, oauthlib, axe_selenium_python'
python=
for candidate in python3 /usr/bin/python3; do
    if "$candidate" -c "$modules" >/dev/null 2>&1; then
        python=$candidate
        break
    fi
done
if [[ -z $python ]] && command -v python3 >/dev/null &&
    python3 -m pip install -q pytest requests selenium joserfc msal authlib oauthlib axe-selenium-python >/dev/null 2>&1 &&
    python3 -c "$modules" >/dev/null 2>&1; then
    python=python3
fi
if [[ -z $python ]]; then
    ensure_packages python3 python3-pytest python3-requests python3-selenium python3-pip \
        python3-authlib python3-oauthlib
    /usr/bin/python3 -m pip install -q --break-system-packages joserfc msal axe-selenium-python >/dev/null 2>&1 || true
    /usr/bin/python3 -c "$modules" >/dev/null 2>&1 ||
        die "cannot provide pytest, requests, selenium, joserfc, msal, authlib, oauthlib and axe-selenium-python for python3"
    python=/usr/bin/python3
fi

failed=()

# The throwaway PostgreSQL cluster, removed on exit whatever happened. Tests
# find it through DEVICEGATE_TEST_POSTGRES_URL (a libpq URI) and
# DEVICEGATE_TEST_POSTGRES_DIR (for deploy/postgres-test-cluster.sh restart).
postgres_dir=$(mktemp -d /tmp/devicegate-pg.XXXXXX)
stop_postgres() {
    bash "$DG_ROOT/deploy/postgres-test-cluster.sh" stop "$postgres_dir" || warn "could not stop the PostgreSQL cluster in $postgres_dir"
}
trap stop_postgres EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
log "PostgreSQL test cluster (deploy/postgres-test-cluster.sh start $postgres_dir)"
DEVICEGATE_TEST_POSTGRES_URL=$(bash deploy/postgres-test-cluster.sh start "$postgres_dir") ||
    die "cannot start a PostgreSQL test cluster in $postgres_dir: $(tail -5 "$postgres_dir/log" 2>/dev/null)"
DEVICEGATE_TEST_POSTGRES_DIR=$postgres_dir
export DEVICEGATE_TEST_POSTGRES_URL DEVICEGATE_TEST_POSTGRES_DIR

log "layers (deploy/check-layers.sh)"
bash deploy/check-layers.sh || failed+=("layers")

log "swift build"
swift build || die "swift build failed"

# `swift test` runs XCTest, then Swift Testing; only its exit status tells
# whether both passed.
log "swift test"
swift test || failed+=("swift test")

# The integration tests run the debug binary just built.
DEVICEGATE_BIN=$(swift build --show-bin-path)/devicegate
export DEVICEGATE_BIN
if compgen -G "Tests/Integration/test_*.py" >/dev/null; then
    log "integration tests, one host ($python -m pytest, DEVICEGATE_BIN=$DEVICEGATE_BIN)"
    DEVICEGATE_TEST_TOPOLOGY=one-host "$python" -m pytest -q -p no:cacheprovider -rs Tests/Integration ||
        failed+=("integration tests (one host)")
    log "integration tests, two hosts on PostgreSQL (DEVICEGATE_TEST_TOPOLOGY=two-hosts)"
    DEVICEGATE_TEST_TOPOLOGY=two-hosts "$python" -m pytest -q -p no:cacheprovider -rs Tests/Integration ||
        failed+=("integration tests (two hosts)")
else
    warn "no Tests/Integration/test_*.py yet: integration tests skipped"
fi

# Last: it recompiles devicegate's own modules with coverage instrumentation.
# Nine targets at 12 s: about 2 minutes, plus up to a minute of building.
fuzz_seconds=${DEVICEGATE_FUZZ_SECONDS:-12}
log "fuzzing (deploy/fuzz.sh --seconds $fuzz_seconds)"
bash deploy/fuzz.sh --seconds "$fuzz_seconds" || failed+=("fuzzing")

if ((${#failed[@]})); then
    die "failed: ${failed[*]}"
fi
log "all tests passed"
