#!/usr/bin/env bash
# Kernel matrix in one command: fetch the Debian kernels and build the custom
# kernel (both cached under $HOME/.cache/temblor/kernels), then boot each
# privileged test package on each kernel in qemu (test/kernelmatrix).
#
#   hack/test-kernels.sh [kernelmatrix flags...]     e.g. -run TestBackends -v
#
# Env: TEMBLOR_MATRIX_KERNELS  which kernels (default "debian-6.1 debian-6.12 custom")
#      TEMBLOR_KERNEL_CACHE    cache directory
# Cold: ~1 min downloads + ~10-20 min custom kernel build on 2 cores.
# Cached: compile + the VMs only. Exit status: 0 all passed, 1 a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cache="${TEMBLOR_KERNEL_CACHE:-$HOME/.cache/temblor/kernels}"
want="${TEMBLOR_MATRIX_KERNELS:-debian-6.1 debian-6.12 custom}"
log() { echo "test-kernels: $*" >&2; }

# Host tools: qemu to boot, iproute2 for the tests that exec ip/tc in the
# guest (copied in with their libraries).
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v tc >/dev/null || missing+=(iproute2)
if ((${#missing[@]})); then
  [[ $(id -u) -eq 0 ]] || { log "install ${missing[*]}"; exit 2; }
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
fi

start=$SECONDS
args=()
series=()
for k in $want; do
  case $k in
    debian-*) series+=("${k#debian-}") ;;
    custom) ;;
    *) log "unknown kernel $k"; exit 2 ;;
  esac
done
# Each step's output is captured in a variable (not a process substitution),
# so that set -e stops the run when a kernel cannot be prepared.
if ((${#series[@]})); then
  fetched="$(hack/kernels/fetch-debian.sh "${series[@]}")"
  while read -r name dir; do
    [[ -n $name ]] && args+=(-kernel "$name=$dir")
  done <<<"$fetched"
fi
if [[ " $want " == *" custom "* ]]; then
  built="$(hack/kernels/build-custom.sh)"
  name="$(tail -1 <<<"$built")"
  [[ -n $name ]] || { log "build-custom.sh printed no kernel"; exit 1; }
  args+=(-kernel "custom=$cache/$name")
fi
# The runner fails unless every kernel named here booted and ran every package.
args+=(-want "$(tr ' ' ',' <<<"$want")")
log "kernels ready in $((SECONDS - start))s"
exec go run ./test/kernelmatrix "${args[@]}" "$@"
