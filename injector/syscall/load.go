package syscall

import (
	"fmt"

	"github.com/cilium/ebpf"
)

// loadPrograms loads the named programs of spec, and only those, into a new
// collection whose maps are replaced by maps (nil: the collection creates
// its own, as probes do). tweak, if not nil, edits each program spec first.
func loadPrograms(spec *ebpf.CollectionSpec, names []string, maps map[string]*ebpf.Map, tweak func(*ebpf.ProgramSpec)) (*ebpf.Collection, error) {
	spec = spec.Copy()
	keep := make(map[string]bool, len(names))
	for _, n := range names {
		if _, ok := spec.Programs[n]; !ok {
			return nil, fmt.Errorf("program %s missing from object", n)
		}
		keep[n] = true
	}
	for n, ps := range spec.Programs {
		if !keep[n] {
			delete(spec.Programs, n)
			continue
		}
		if tweak != nil {
			tweak(ps)
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{MapReplacements: maps})
	if err != nil {
		// Callers log verifier errors with %+v for the full log.
		return nil, fmt.Errorf("load %v: %w", names, err)
	}
	return coll, nil
}

// collCloser adapts a Collection, whose Close returns nothing, to io.Closer.
type collCloser struct{ *ebpf.Collection }

func (c collCloser) Close() error {
	c.Collection.Close()
	return nil
}
