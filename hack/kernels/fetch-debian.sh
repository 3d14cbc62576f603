#!/usr/bin/env bash
# Fetch (once per machine) Debian cloud kernels for the kernel matrix, trimmed
# to what a test VM needs: vmlinuz, config, and the few modules the network
# tests use (with their dependencies), decompressed, plus modules.load (the
# order in which the guest init loads them).
#
# Usage: fetch-debian.sh [SERIES...]    SERIES: 6.1, 6.12 (default: both)
# Prints one line per kernel: "debian-<series> <cache dir>".
# Env: TEMBLOR_KERNEL_CACHE (default $HOME/.cache/temblor/kernels),
#      TEMBLOR_KERNEL_OFFLINE=1 to use whatever is cached without asking apt.
set -euo pipefail

cache="${TEMBLOR_KERNEL_CACHE:-$HOME/.cache/temblor/kernels}"
# veth..cls_u32: the network fault tests (cls_u32 for a foreign tc filter). xfrm_user, nfnetlink: netlink
# families that vishvananda/netlink's NewHandle() opens by default (every
# Kubernetes node has them loaded).
modules=(veth sch_ingress cls_bpf sch_fq sch_netem cls_u32 xfrm_user nfnetlink)
log() { echo "fetch-debian: $*" >&2; }
mkdir -p "$cache"

# Tools this script calls that a fresh Debian machine may lack: depmod (kmod)
# writes the modules.dep the package does not ship; xz/zstd unpack modules.
missing=()
command -v depmod >/dev/null || missing+=(kmod)
command -v xz >/dev/null || missing+=(xz-utils)
command -v zstd >/dev/null || missing+=(zstd)
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || { log "needs apt-get and dpkg-deb (Debian)"; exit 1; }
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || { log "install ${missing[*]} first"; exit 1; }
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; }
fi
tmps=()
trap 'rm -rf "${tmps[@]}"' EXIT

# newest "linux-image-<series>...-cloud-amd64-unsigned" apt offers
latest_pkg() {
  local series=$1
  apt-cache search --names-only "^linux-image-${series//./\\.}[.-].*-cloud-amd64-unsigned\$" |
    awk '{print $1}' | sort -V | tail -1
}

fetch() {
  local series=$1 pkg out tmp kver
  if [[ ${TEMBLOR_KERNEL_OFFLINE:-0} == 1 ]]; then
    out="$(find "$cache" -maxdepth 1 -name "debian-$series[.-]*" -type d | sort -V | tail -1)"
    [[ -n $out ]] || { log "offline and nothing cached for $series"; return 1; }
    echo "debian-$series ${out%/}"
    return
  fi
  pkg="$(latest_pkg "$series")"
  if [[ -z $pkg ]]; then
    log "apt offers no cloud kernel for $series; running apt-get update"
    apt-get update -qq >&2 || true
    pkg="$(latest_pkg "$series")"
    [[ -n $pkg ]] || { log "no linux-image-$series*-cloud-amd64-unsigned in apt"; return 1; }
  fi
  kver="${pkg#linux-image-}"; kver="${kver%-unsigned}"     # 6.1.0-56-cloud-amd64
  out="$cache/debian-$kver"
  if [[ -s $out/vmlinuz && -f $out/modules.load && "$(cat "$out/MODULES" 2>/dev/null)" == "${modules[*]}" ]]; then
    log "cached: $out"
    echo "debian-$series $out"
    return
  fi
  tmp="$(mktemp -d "$cache/.fetch-XXXXXX")"
  tmps+=("$tmp")
  log "downloading $pkg"
  (cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2)
  dpkg-deb -x "$tmp"/*.deb "$tmp/root"
  local root=$tmp/root stage=$tmp/out moddir
  for moddir in "$root"/lib/modules/* "$root"/usr/lib/modules/*; do [[ -d $moddir ]] && break; done
  mkdir -p "$stage/modules"
  # The package ships no modules.dep (the postinst's depmod writes it).
  if [[ ! -s $moddir/modules.dep ]]; then
    depmod -b "$root" "$(basename "$moddir")" || { log "$kver: depmod failed"; return 1; }
    [[ -s $moddir/modules.dep ]] || { log "$kver: depmod wrote no modules.dep"; return 1; }
  fi
  cp "$root"/boot/vmlinuz-* "$stage/vmlinuz"
  cp "$root"/boot/config-* "$stage/config"
  echo "$kver" >"$stage/VERSION"
  echo "$pkg" >"$stage/PACKAGE"
  echo "${modules[*]}" >"$stage/MODULES"

  # Resolve dependencies from modules.dep, deepest first, each once.
  : >"$stage/modules.load"
  declare -A seen=()
  add() {
    local name=$1 line path dep
    [[ -n ${seen[$name]:-} ]] && return
    seen[$name]=1
    line="$(grep -E "(^|/)${name}\.ko(\.xz|\.zst|\.gz)?:" "$moddir/modules.dep" || true)"
    if [[ -z $line ]]; then
      if grep -qE "(^|/)${name}\.ko$" "$moddir/modules.builtin" 2>/dev/null; then
        log "$kver: $name is built in"
      else
        log "$kver: module $name not found"; return 1
      fi
      return
    fi
    path="${line%%:*}"
    for dep in ${line#*:}; do
      dep="$(basename "$dep")"; add "${dep%%.ko*}"
    done
    case "$path" in
      *.ko.xz) xz -dc "$moddir/$path" >"$stage/modules/$name.ko" ;;
      *.ko.zst) zstd -qdc "$moddir/$path" >"$stage/modules/$name.ko" ;;
      *.ko.gz) gzip -dc "$moddir/$path" >"$stage/modules/$name.ko" ;;
      *) cp "$moddir/$path" "$stage/modules/$name.ko" ;;
    esac
    echo "$name.ko" >>"$stage/modules.load"
  }
  for m in "${modules[@]}"; do add "$m"; done
  rm -rf "$out"
  mv "$stage" "$out"
  rm -rf "$tmp"
  log "cached $out: $(tr '\n' ' ' <"$out/modules.load")"
  echo "debian-$series $out"
}

series=("$@")
((${#series[@]})) || series=(6.1 6.12)
# Every series asked for must be fetched: a kernel that drops out here would
# silently shrink the matrix.
for s in "${series[@]}"; do fetch "$s" || { log "kernel $s could not be prepared"; exit 1; }; done
