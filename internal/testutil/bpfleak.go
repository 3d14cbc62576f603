package testutil

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// ObjectPrefix starts the name of every BPF program and map Temblor loads, so
// that tests and operators can tell Temblor's objects from everyone else's.
const ObjectPrefix = "tb_"

// BPFObject is one program or link the kernel holds.
type BPFObject struct {
	Kind string // "prog" or "link"
	ID   uint32
	Name string // program name, or the name of the link's program
	Type string
}

func (o BPFObject) String() string {
	return fmt.Sprintf("%s %d %s %s", o.Kind, o.ID, o.Type, o.Name)
}

// ListBPF lists every BPF program and link loaded in the kernel, through the
// bpf syscall (BPF_PROG_GET_NEXT_ID, BPF_LINK_GET_NEXT_ID).
func ListBPF() ([]BPFObject, error) {
	var objs []BPFObject
	progNames := map[ebpf.ProgramID]string{}
	var id ebpf.ProgramID
	for {
		next, err := ebpf.ProgramGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("next program id after %d: %w", id, err)
		}
		id = next
		prog, err := ebpf.NewProgramFromID(id)
		if errors.Is(err, os.ErrNotExist) {
			continue // unloaded meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("open program %d: %w", id, err)
		}
		info, err := prog.Info()
		prog.Close()
		if err != nil {
			return nil, fmt.Errorf("info of program %d: %w", id, err)
		}
		progNames[id] = info.Name
		objs = append(objs, BPFObject{Kind: "prog", ID: uint32(id), Name: info.Name, Type: info.Type.String()})
	}

	it := new(link.Iterator)
	defer it.Close()
	for it.Next() {
		l := it.Take()
		info, err := l.Info()
		l.Close()
		if err != nil {
			return nil, fmt.Errorf("link %d info: %w", it.ID, err)
		}
		objs = append(objs, BPFObject{Kind: "link", ID: uint32(info.ID), Name: progNames[info.Program], Type: fmt.Sprint(info.Type)})
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("iterate links: %w", err)
	}
	sort.Slice(objs, func(i, j int) bool {
		if objs[i].Kind != objs[j].Kind {
			return objs[i].Kind > objs[j].Kind
		}
		return objs[i].ID < objs[j].ID
	})
	return objs, nil
}

// TemblorBPF lists the programs and links whose program name carries
// ObjectPrefix.
func TemblorBPF() ([]BPFObject, error) {
	all, err := ListBPF()
	if err != nil {
		return nil, err
	}
	var ours []BPFObject
	for _, o := range all {
		if strings.HasPrefix(o.Name, ObjectPrefix) {
			ours = append(ours, o)
		}
	}
	return ours, nil
}

// CheckNoTemblorBPF fails the test if any Temblor program or link is still
// loaded, and logs the listing either way so the proof shows in -v output.
func CheckNoTemblorBPF(tb testing.TB) {
	tb.Helper()
	ours, err := TemblorBPF()
	if err != nil {
		tb.Fatalf("list BPF objects: %v", err)
	}
	if len(ours) > 0 {
		tb.Fatalf("Temblor BPF objects left loaded: %v", ours)
	}
	tb.Logf("no Temblor BPF program or link loaded")
}

// LeakCheck registers a cleanup that fails the test if Temblor programs or
// links are still loaded when the test ends. Call it first in a test, so the
// check runs after the test's own cleanups.
func LeakCheck(tb testing.TB) {
	tb.Helper()
	tb.Cleanup(func() { CheckNoTemblorBPF(tb) })
}
