#!/usr/bin/env bash
# install-deps.sh installs what a fresh Debian machine lacks to build and test
# Temblor: clang/llvm and bpftool for the BPF programs, iproute2, iptables,
# iperf3 and strace for the privileged tests and benchmarks. Idempotent.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have clang || need+=(clang)
have llvm-strip || need+=(llvm)
have bpftool || need+=(bpftool)
have ip || need+=(iproute2)
have iptables || need+=(iptables)
have iperf3 || need+=(iperf3)
have strace || need+=(strace)
have cpio || need+=(cpio)
have make || need+=(make)
have git || need+=(git)

if [ ${#need[@]} -gt 0 ]; then
	echo ">> installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The BPF tests list and pin nothing, but an operator's bpffs is expected.
if ! grep -q ' /sys/fs/bpf bpf ' /proc/mounts 2>/dev/null; then
	mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
fi
