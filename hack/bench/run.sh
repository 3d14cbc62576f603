#!/usr/bin/env bash
# make bench: every speed figure of Temblor beside its baseline, measured in
# the same run on this machine, printed and written to docs/benchmarks.md.
#
#   hack/bench/run.sh            # all benchmarks (needs root; ~3 minutes)
#   BENCH_OUT=/tmp/b.md hack/bench/run.sh
#
# Each benchmark prints its own table with the baseline beside each figure:
#   - netfault programs: ns/packet over an empty program of the same type,
#     same BPF_PROG_TEST_RUN, same frame;
#   - syscall faults: connect(2) cost for a process that is not a target (and
#     one that is, at 0 %), beside no program, and beside strace --inject;
#   - socket filters: connect(2) with a port / peer filter that does not match;
#   - TCP throughput with Temblor attached at 0 %, beside nothing and beside
#     an iptables -m statistic rule (iperf3 over a veth pair);
#   - the manager: create → all FaultInjections written for 5,000 targets.
# The tracing backends (kprobe, fmod_ret, LSM) cannot run on this host; their
# per-call costs come from the kernel matrix (docs/benchmarks.md says which).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
out="${BENCH_OUT:-docs/benchmarks.md}"
[[ $(id -u) -eq 0 ]] || { echo "bench: needs root (BPF programs, network namespaces)" >&2; exit 2; }
hack/install-deps.sh >&2
for tool in iperf3 strace iptables; do
  command -v "$tool" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$tool" >&2
done
export KUBEBUILDER_ASSETS="${KUBEBUILDER_ASSETS:-$(hack/build-k8s.sh kube-apiserver etcd kubectl)}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
runs=(
  "./bpf|Netfault|2000000x|netfault programs (ns/packet over an empty program)"
  "./injector/syscall|Connect\$|200000x|syscall faults: connect(2) per call, cgroup backend"
  "./injector/syscall|ConnectSockFilter|200000x|socket filters: connect(2) per call, cgroup backend"
  "./injector/network|Iperf3|3x|TCP throughput over veth (iperf3, medians of 3)"
  "./injector/attach|AttachTargets|1x|attach one fault to n targets (batch start → attached, CPU, kernel memory, RSS)"
  "./controllers|FaultScale|1x|manager: 10,000 pods, 100 nodes, Fault selecting 5,000"
)
{
  echo "# Benchmarks"
  echo
  echo "Latest \`make bench\` ($(date -u +%Y-%m-%dT%H:%MZ)) on $(uname -srm), $(nproc) CPUs,"
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(go version | cut -d' ' -f3)."
  echo "Every figure stands beside its baseline from the same run."
} >"$tmp/doc.md"
status=0
for r in "${runs[@]}"; do
  IFS='|' read -r pkg bench times title <<<"$r"
  echo "bench: $title" >&2
  log="$tmp/$(echo "$pkg$bench" | tr -c 'a-zA-Z0-9' _).log"
  if ! go test -count=1 -run '^$' -bench "$bench" -benchtime "$times" "$pkg" >"$log" 2>&1; then
    echo "bench: $pkg $bench FAILED:" >&2; tail -20 "$log" >&2; status=1
  fi
  {
    echo
    echo "## $title"
    echo
    echo '```'
    # The benchmark's own table (testutil.BenchTable markers; the last one
    # printed counts, b.N grows between runs); else the benchmark lines.
    if grep -q '^=== BENCH TABLE: ' "$log"; then
      awk '/^=== BENCH TABLE: /{buf=substr($0, 18) ":\n"; on=1; next}
           /^=== END BENCH TABLE/{last=buf; on=0; next}
           on{buf=buf $0 "\n"} END{printf "%s", last}' "$log"
    else
      grep '^Benchmark' "$log"
    fi
    echo '```'
  } >>"$tmp/doc.md"
done
cat "$tmp/doc.md"
mkdir -p "$(dirname "$out")"
cp "$tmp/doc.md" "$out"
echo "bench: wrote $out" >&2
exit $status
