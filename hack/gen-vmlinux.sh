#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Regenerates bpf/include/vmlinux.h, the kernel type definitions the BPF C
# sources use for CO-RE, from the BTF of the running kernel. CO-RE relocations
# make the resulting objects portable to other kernels, so the file only needs
# regenerating when a program starts using a type or field it lacks.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
btf="${1:-/sys/kernel/btf/vmlinux}"
out="${root}/bpf/include/vmlinux.h"

tmp="$(mktemp)"
trap 'rm -f "${tmp}"' EXIT
bpftool btf dump file "${btf}" format c >"${tmp}"
chmod 0644 "${tmp}"
mv "${tmp}" "${out}"
trap - EXIT
echo "wrote ${out} from ${btf}"
