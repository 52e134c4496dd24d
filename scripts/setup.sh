#!/usr/bin/env bash
# Makes the build environment on a fresh machine; safe to run again (reuses what exists).
#
# PhiDesk needs Qt >= 6.5 and KF6 SyntaxHighlighting. Debian 12 has neither, so there we build
# inside a Debian 13 (trixie) root kept OUTSIDE the clone (CI clones afresh, the root stays):
# see shared/NOTES-build.md. A distribution that already ships them builds natively.
# The Qt-free part (engine, kernels, phidesk-cli) also builds on the Debian 12 host itself,
# so the host gets those few packages too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/env.sh"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Installs the named Debian packages that are missing, with `runner` in front of apt (for the root).
apt_ensure() {
    local runner=$1; shift
    local missing=()
    for p in "$@"; do
        $runner dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "setup: installing ${missing[*]}"
    $runner env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $runner env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

host_native() {
    # Qt >= 6.5 and KF6 available from the distribution's own archive?
    command -v apt-cache >/dev/null || return 1
    apt-cache policy libkf6syntaxhighlighting-dev 2>/dev/null | grep -q 'Candidate: [0-9]'
}

make_root() {
    if [ -x "$PHIDESK_ROOT/usr/bin/apt-get" ] && [ -f "$PHIDESK_ROOT/.phidesk-root-ok" ]; then
        return 0
    fi
    apt_ensure as_root debootstrap
    echo "setup: creating Debian 13 build root at $PHIDESK_ROOT (once; about 2 minutes)"
    as_root rm -rf "$PHIDESK_ROOT"
    as_root mkdir -p "$PHIDESK_ROOT"
    as_root debootstrap --variant=minbase trixie "$PHIDESK_ROOT" http://deb.debian.org/debian >/dev/null
    as_root touch "$PHIDESK_ROOT/.phidesk-root-ok"
}

as_root true
if ! command -v apt-get >/dev/null; then
    echo "setup: this script installs with apt (Debian, Ubuntu). Elsewhere install the equivalents of:" >&2
    echo "  ${PHIDESK_PACKAGES[*]}" >&2
    echo "and run the build with PHIDESK_NATIVE=1." >&2
    exit 1
fi
if [ "${PHIDESK_NATIVE:-}" = 1 ] || { [ -z "${PHIDESK_NATIVE:-}" ] && ! is_debian12 && host_native; }; then
    apt_ensure as_root "${PHIDESK_PACKAGES[@]}"
    echo "setup: native build environment ready"
    exit 0
fi

# Debian 12 host: the Qt-free build natively, everything else in the trixie root.
apt_ensure as_root "${PHIDESK_HOST_PACKAGES[@]}"
make_root
apt_ensure "$here/in-root.sh" "${PHIDESK_PACKAGES[@]}"
echo "setup: build root $PHIDESK_ROOT ready"
