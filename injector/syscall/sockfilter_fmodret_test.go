//go:build amd64 || arm64

package syscall

import (
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/temblor-dev/temblor/bpf"
	"github.com/temblor-dev/temblor/internal/testutil"
)

// TestFmodRetSockProgramsLoad loads and attaches the socket-filter variants
// of the fmod_ret program by name (AttachTo) on the probe's entry point,
// through cilium/ebpf's loader. Kernels whose BTF names connect, bind and
// sendmsg twice (pahole 1.24's COND_SYSCALL stubs) load them by BTF id
// instead (loadTracingByID), which the fmod_ret scenarios of TestBackends
// check there.
func TestFmodRetSockProgramsLoad(t *testing.T) {
	testutil.RequireRoot(t)
	requireBackend(t, FmodRet)
	testutil.LeakCheck(t)
	spec, err := bpf.LoadSysfaultFmodRet()
	if err != nil {
		t.Fatal(err)
	}
	shared, err := newSharedMaps()
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	cfgMap, err := newConfigMap(spec, &config{})
	if err != nil {
		t.Fatal(err)
	}
	defer cfgMap.Close()
	fn := syscallEntryPrefix() + probeSyscall
	for _, name := range []string{fmodRetPrograms.sa2, fmodRetPrograms.sa5, fmodRetPrograms.msg2} {
		coll, err := loadPrograms(spec, []string{name}, shared.replacements(cfgMap),
			func(ps *ebpf.ProgramSpec) { ps.AttachTo = fn })
		if err != nil {
			t.Fatalf("%s: %+v", name, err)
		}
		l, err := link.AttachTracing(link.TracingOptions{Program: coll.Programs[name], AttachType: ebpf.AttachModifyReturn})
		if err != nil {
			coll.Close()
			t.Fatalf("%s on %s: %v", name, fn, err)
		}
		l.Close()
		coll.Close()
		t.Logf("%s loaded and attached to %s", name, fn)
	}
}
