#!/usr/bin/env bash
# Runs a command inside the Debian 13 build root, with the folder that holds this clone (and
# ../shared beside it) and the host's CUDA toolkit mounted at their own paths, so every path
# means the same inside and out. Mounts are removed on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/env.sh"
[ "$(id -u)" = 0 ] || exec sudo -E "$0" "$@"
[ -x "$PHIDESK_ROOT/usr/bin/apt-get" ] || { echo "in-root: no build root at $PHIDESK_ROOT (run scripts/setup.sh)" >&2; exit 2; }

workdir=$(pwd)
share=$(cd "$here/../.." && pwd)   # the clone's parent: the clone and ../shared
mounts=()
bind() {  # bind SRC [ro]
    local dst="$PHIDESK_ROOT$1"
    mkdir -p "$dst"
    mount --bind "$1" "$dst"
    [ "${2:-}" = ro ] && mount -o remount,bind,ro "$dst"
    mounts=("$dst" "${mounts[@]}")
}
cleanup() { for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done; }
trap cleanup EXIT

mkdir -p "$PHIDESK_ROOT/proc"
mount -t proc proc "$PHIDESK_ROOT/proc"; mounts=("$PHIDESK_ROOT/proc")
bind /dev; bind /dev/pts; bind /sys
bind "$share"
[ -d /usr/local/cuda ] && bind "$(readlink -f /usr/local/cuda)" ro && \
    ln -sfn "$(readlink -f /usr/local/cuda)" "$PHIDESK_ROOT/usr/local/cuda"
[ -d /tmp/.X11-unix ] && bind /tmp/.X11-unix
cp -f /etc/resolv.conf "$PHIDESK_ROOT/etc/resolv.conf" 2>/dev/null || true
xauth=
if [ -n "${XAUTHORITY:-}" ] && [ -f "$XAUTHORITY" ]; then   # so a window can open on the host's display
    cp -f "$XAUTHORITY" "$PHIDESK_ROOT/root/.Xauthority" && xauth=/root/.Xauthority
fi

chroot "$PHIDESK_ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    TERM="${TERM:-dumb}" LANG=C.UTF-8 DISPLAY="${DISPLAY:-}" XAUTHORITY="$xauth" CI="${CI:-}" QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-}" \
    CCACHE_DIR=/var/cache/ccache \
    bash -c 'cd "$1" && shift && exec "$@"' _ "$workdir" "$@"
