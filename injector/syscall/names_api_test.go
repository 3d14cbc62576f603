package syscall

import (
	"slices"
	"testing"

	chaosv1 "github.com/temblor-dev/temblor/api/v1alpha1"
)

// TestNamesMatchAPI keeps the CRD's closed lists (enums in api/v1alpha1) and
// the injector's tables equal: a name the API accepts must be one the agent
// can plan, and the reverse.
func TestNamesMatchAPI(t *testing.T) {
	var apiSyscalls, apiErrnos []string
	for _, s := range chaosv1.SyscallNames() {
		apiSyscalls = append(apiSyscalls, string(s))
	}
	for _, e := range chaosv1.ErrnoNames() {
		apiErrnos = append(apiErrnos, string(e))
	}
	if got := SyscallNames(); !slices.Equal(got, apiSyscalls) {
		t.Errorf("syscall names differ:\n injector %v\n api      %v", got, apiSyscalls)
	}
	if got := ErrnoNames(); !slices.Equal(got, apiErrnos) {
		t.Errorf("errno names differ:\n injector %v\n api      %v", got, apiErrnos)
	}
}
