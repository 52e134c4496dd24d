# Shared settings of the project's scripts (sourced, not run).
PHIDESK_ROOT=${PHIDESK_ROOT:-/var/cache/phidesk/trixie-root}

# Everything the full build needs (in the trixie root, or natively on a new enough distribution).
PHIDESK_PACKAGES=(g++ cmake ninja-build pkgconf ccache
    libzstd-dev nlohmann-json3-dev libpcre2-dev
    libcurl4-openssl-dev qt6-base-dev libqt6sql6-sqlite libkf6syntaxhighlighting-dev
    qt6-tools-dev qt6-l10n-tools                               # Qt Linguist: the zh_CN translation
    dpkg-dev file librsvg2-bin appstream desktop-file-utils)   # the .deb: shlibdeps, PNG icons, validators
# The Qt-free build (engine, kernels, phidesk-cli) on the Debian 12 host.
PHIDESK_HOST_PACKAGES=(g++ cmake ninja-build pkgconf libzstd-dev nlohmann-json3-dev libpcre2-dev libcurl4-openssl-dev
    clang-14 libclang-rt-14-dev    # clang: the libFuzzer targets
    libopenblas-pthread-dev)       # benchmarks/bench-gemm: our prefill kernel against OpenBLAS

is_debian12() { grep -q '^12' /etc/debian_version 2>/dev/null; }

# True when builds run natively (no trixie root).
use_native() {
    [ "${PHIDESK_NATIVE:-}" = 1 ] && return 0
    [ "${PHIDESK_NATIVE:-}" = 0 ] && return 1
    ! is_debian12
}

# Runs a command where the full (Qt) build lives: the trixie root, or natively.
in_build_env() {
    if use_native; then "$@"; else "$(dirname "${BASH_SOURCE[0]}")/in-root.sh" "$@"; fi
}
