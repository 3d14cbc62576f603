#!/usr/bin/env bash
# Build (once per machine) the kernel-matrix "custom" kernel: Debian's
# linux-source-6.12 + tinyconfig + kvm_guest.config + hack/kernels/custom.config.
#
# Output: $CACHE/custom-<srcver>-<fraghash>/{vmlinuz,config,build.log,VERSION}
# and the directory name on stdout (last line). A cache hit prints it at once.
#
# Env: TEMBLOR_KERNEL_CACHE (default $HOME/.cache/temblor/kernels),
#      JOBS (default nproc), KEEP_BUILD_TREE=0 to delete the object tree
#      (about 1 GB) after a build; kept by default so that a fragment change
#      rebuilds incrementally.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${TEMBLOR_KERNEL_CACHE:-$HOME/.cache/temblor/kernels}"
frag="$here/custom.config"
jobs="${JOBS:-$(nproc)}"
pkg=linux-source-6.12
log() { echo "build-custom: $*" >&2; }

need_pkgs=(build-essential bc bison flex libelf-dev libssl-dev dwarves python3 xz-utils "$pkg")
missing=()
for p in "${need_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then log "not root: install them yourself"; exit 1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

srcver="$(dpkg-query -W -f='${Version}' "$pkg")"       # e.g. 6.12.57-1~deb12u1
tarball="$(dpkg -L "$pkg" | grep -E '/linux-source-.*\.tar\.xz$' | head -1)"
# The key covers the source, the fragment and this script (a recipe change rebuilds).
hash="$(cat "$frag" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-12)"
name="custom-${srcver//[^A-Za-z0-9.]/_}-$hash"
out="$cache/$name"

if [[ -s "$out/vmlinuz" && -s "$out/config" ]]; then
  log "cached: $out"
  echo "$name"
  exit 0
fi

# The object tree is keyed by source version only: after a fragment change,
# or an interrupted build, kbuild rebuilds only what the change touches.
work="$cache/.build-custom-${srcver//[^A-Za-z0-9.]/_}"
src="$work/src"
if [[ ! -f $src/Makefile || ! -f $work/.unpacked ]]; then
  rm -rf "$work"
  mkdir -p "$src"
  log "unpacking $tarball"
  tar -C "$src" --strip-components=1 -xf "$tarball"
  touch "$work/.unpacked"
else
  log "reusing object tree $work"
fi

start=$SECONDS
mk() { make -C "$src" ARCH=x86_64 "$@"; }
{
  mk tinyconfig
  (cd "$src" && ./scripts/kconfig/merge_config.sh -m .config kernel/configs/kvm_guest.config "$frag")
  mk olddefconfig
} >"$work/config.log" 2>&1 || { tail -50 "$work/config.log" >&2; exit 1; }

# Every option of the fragment must have survived olddefconfig (a dependency
# that is not met silently drops an option; that is how a kernel ends up
# without, say, BPF_KPROBE_OVERRIDE).
bad=0
while IFS= read -r line; do
  if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
    grep -qxF "$line" "$src/.config" || { log "dropped: $line (got: $(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" "$src/.config" || echo absent))"; bad=1; }
  elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
    ! grep -qE "^${BASH_REMATCH[1]}=" "$src/.config" || { log "should be unset: ${BASH_REMATCH[1]}"; bad=1; }
  fi
done <"$frag"
((bad == 0)) || { log "config fragment not honoured; see $src/.config"; exit 1; }
log "config ok ($(grep -c '^CONFIG_' "$src/.config") options); building bzImage with -j$jobs"

if ! mk -j"$jobs" bzImage >"$work/build.log" 2>&1; then
  grep -E 'error|Error' "$work/build.log" | head -30 >&2 || true
  tail -30 "$work/build.log" >&2
  exit 1
fi
secs=$((SECONDS - start))

tmp="$out.tmp"
rm -rf "$tmp"
mkdir -p "$tmp"
cp "$src/arch/x86/boot/bzImage" "$tmp/vmlinuz"
cp "$src/.config" "$tmp/config"
cp "$work/build.log" "$tmp/build.log"
make -s -C "$src" ARCH=x86_64 kernelrelease >"$tmp/VERSION"
echo "$secs" >"$tmp/build-seconds"
rm -rf "$out"
mv "$tmp" "$out"
[[ ${KEEP_BUILD_TREE:-1} == 1 ]] || rm -rf "$work"
log "built $name in ${secs}s ($(du -h "$out/vmlinuz" | cut -f1))"
echo "$name"
