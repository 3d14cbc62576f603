// Package live runs every experiment of experiments/ for real: each Fault
// manifest is attached the way local mode attaches it (its selector
// translated to the test's own cgroup or network namespace), a real workload
// runs under it, and the test asserts the kernel-level effect the
// experiment's README promises. The kernel matrix runs it on every VM
// kernel and fails unless each experiment passed on at least one of them.
//
// The package has tests only.
package live
