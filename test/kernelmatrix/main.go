// Command kernelmatrix runs Temblor's privileged test packages inside small
// qemu VMs, one per kernel × package, the way cilium/ebpf's vimto does: the
// kernel boots a tiny initramfs whose static init (./cmd/init) runs a
// `go test -c` binary and reboots, and the exit status comes back as a marker
// on the serial console.
//
//	go run ./test/kernelmatrix -kernel debian-6.1=DIR -kernel custom=DIR [flags]
//
// DIR holds vmlinuz and optionally modules/ + modules.load (see
// hack/kernels/). The must-support table of syscall backends per kernel is in
// requirements.go. Exits 1 when any run fails, a test fails, or a required
// backend does not pass. hack/test-kernels.sh is the one-command wrapper.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"
)

type kernelFlag []kernel

type kernel struct{ Name, Dir string }

func (k *kernelFlag) String() string { return fmt.Sprint(*k) }
func (k *kernelFlag) Set(v string) error {
	name, dir, ok := strings.Cut(v, "=")
	if !ok || name == "" || dir == "" {
		return errors.New("want NAME=DIR")
	}
	*k = append(*k, kernel{name, dir})
	return nil
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, strings.Split(v, ",")...); return nil }

var (
	kernels     kernelFlag
	pkgs        listFlag
	guestTools  listFlag
	requireOver listFlag
	wantKernels listFlag
	flagRun     = flag.String("run", "", "passed to the test binaries as -test.run")
	flagBench   = flag.String("bench", "", "passed to the test binaries as -test.bench (with -run '^$' to run benchmarks only)")
	flagBenchT  = flag.String("benchtime", "", "passed to the test binaries as -test.benchtime")
	flagTimeout = flag.Duration("timeout", 10*time.Minute, "per VM; a hung guest is killed")
	flagJobs    = flag.Int("j", runtime.NumCPU(), "VMs run at once (each uses one host CPU under TCG)")
	flagAccel   = flag.String("accel", "auto", "tcg, kvm, or auto (kvm only if a probe boot succeeds)")
	flagQEMU    = flag.String("qemu", "qemu-system-x86_64", "qemu binary")
	flagWork    = flag.String("workdir", filepath.Join(os.TempDir(), "temblor-kernelmatrix"), "binaries, initramfs and logs")
	flagVerbose = flag.Bool("v", false, "stream every guest console")
	flagGzip    = flag.Bool("gzip", true, "gzip the initramfs")
	flagHost    = flag.Bool("host", false, "also run the packages directly on this host as kernel \"host\" (as root; the BPF leak checks see other users' programs)")
)

func init() {
	flag.Var(&kernels, "kernel", "NAME=DIR of a kernel to boot (repeatable)")
	flag.Var(&pkgs, "pkg", "package to test (repeatable, comma-separated); default ./injector/syscall,./bpf,./injector/network,./experiments/live")
	flag.Var(&requireOver, "require", "NAME=backend+backend overrides the must-support table for kernel NAME (repeatable; NAME= requires none)")
	flag.Var(&wantKernels, "want", "kernels that must all boot and run every package (comma-separated); the run fails if any is missing. Default: every -kernel given")
	flag.Var(&guestTools, "guest-tool", "host program copied into the guest with its shared libraries, for tests that exec it (default ip,tc)")
}

func main() {
	flag.Parse()
	if len(pkgs) == 0 {
		pkgs = listFlag{"./injector/syscall", "./bpf", "./injector/network", "./experiments/live"}
	}
	if len(guestTools) == 0 {
		guestTools = listFlag{"ip", "tc"}
	}
	for _, o := range requireOver {
		name, list, ok := strings.Cut(o, "=")
		if !ok {
			fmt.Fprintln(os.Stderr, "kernelmatrix: -require wants NAME=backend+backend")
			os.Exit(2)
		}
		mustSupport[name] = strings.FieldsFunc(list, func(r rune) bool { return r == '+' })
	}
	if len(kernels) == 0 && !*flagHost {
		fmt.Fprintln(os.Stderr, "kernelmatrix: no -kernel given")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kernelmatrix:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// testPkg is one compiled test package.
type testPkg struct {
	Path  string // ./injector/syscall
	Short string // injector/syscall
	Bin   string // host path of the test binary
	Arch  string // initramfs part holding it
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func run(ctx context.Context) (bool, error) {
	total := time.Now()
	goBin, err := exec.LookPath("go")
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(*flagWork, 0o755); err != nil {
		return false, err
	}
	work, err := os.MkdirTemp(*flagWork, time.Now().Format("20060102-150405-"))
	if err != nil {
		return false, err
	}
	logf("work dir %s", work)

	// 1. Packages.
	all := append([]string(nil), pkgs...)

	// 2. Static binaries: init and one test binary per package.
	binDir := filepath.Join(work, "bin")
	t0 := time.Now()
	initBin := filepath.Join(binDir, "init")
	build := func(args ...string) error {
		cmd := exec.CommandContext(ctx, goBin, args...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		return cmd.Run()
	}
	if err := build("build", "-o", initBin, "./test/kernelmatrix/cmd/init"); err != nil {
		return false, fmt.Errorf("build init: %w", err)
	}
	var tps []*testPkg
	for _, p := range all {
		short := strings.TrimPrefix(filepath.Clean(p), "./")
		tp := &testPkg{Path: p, Short: short, Bin: filepath.Join(binDir, strings.ReplaceAll(short, "/", "_")+".test")}
		if err := build("test", "-c", "-o", tp.Bin, p); err != nil {
			return false, fmt.Errorf("compile tests of %s: %w", p, err)
		}
		if _, err := os.Stat(tp.Bin); err != nil {
			logf("%s has no tests; skipped", p)
			continue
		}
		tps = append(tps, tp)
	}
	logf("compiled init and %d test binaries in %v", len(tps), time.Since(t0).Round(100*time.Millisecond))

	// 3. Initramfs parts: one per package (init + binary + testdata), one per
	// kernel (modules); a run boots their concatenation.
	t0 = time.Now()
	imgDir := filepath.Join(work, "initramfs")
	os.MkdirAll(imgDir, 0o755)
	ext := ".cpio"
	if *flagGzip {
		ext += ".gz"
	}
	tools := map[string]string{}
	for _, t := range guestTools {
		if err := addHostProgram(tools, t); err != nil {
			logf("guest tool %s left out: %v", t, err)
		}
	}
	for _, tp := range tps {
		files := map[string]string{"init": initBin, guestBin(tp): tp.Bin}
		maps.Copy(files, tools)
		addTestdata(files, tp)
		tp.Arch = filepath.Join(imgDir, strings.ReplaceAll(tp.Short, "/", "_")+ext)
		if err := writeInitramfs(tp.Arch, files, *flagGzip); err != nil {
			return false, err
		}
	}
	modArch := map[string]string{}
	for _, k := range kernels {
		if _, err := os.Stat(filepath.Join(k.Dir, "vmlinuz")); err != nil {
			return false, fmt.Errorf("kernel %s: %w", k.Name, err)
		}
		files := map[string]string{}
		if list, err := os.ReadFile(filepath.Join(k.Dir, "modules.load")); err == nil {
			files["modules/modules.load"] = filepath.Join(k.Dir, "modules.load")
			for _, m := range strings.Fields(string(list)) {
				files["modules/"+m] = filepath.Join(k.Dir, "modules", m)
			}
		}
		modArch[k.Name] = filepath.Join(imgDir, "modules-"+k.Name+ext)
		if err := writeInitramfs(modArch[k.Name], files, *flagGzip); err != nil {
			return false, err
		}
	}
	logf("wrote initramfs parts in %v", time.Since(t0).Round(100*time.Millisecond))

	// 4. Accelerator.
	accel := *flagAccel
	if accel == "auto" {
		accel = "tcg"
		if len(kernels) > 0 && kvmUsable(ctx, kernels[0], initBin, imgDir, modArch[kernels[0].Name]) {
			accel = "kvm"
		}
	}
	logf("accelerator: %s", accel)

	// 5. Runs: kernel × package, -j at a time, the slow packages first so that
	// few CPUs stay busy until the end.
	sort.SliceStable(tps, func(i, j int) bool { return pkgWeight[tps[i].Short] > pkgWeight[tps[j].Short] })
	var runs []*pkgRun
	var jobs []func()
	var mu sync.Mutex
	for _, k := range kernels {
		for _, tp := range tps {
			r := &pkgRun{Kernel: k.Name, Pkg: tp.Short, ExitStatus: -1}
			r.LogDir = filepath.Join(work, "logs", k.Name, strings.ReplaceAll(tp.Short, "/", "_"))
			runs = append(runs, r)
			jobs = append(jobs, func() {
				runOne(ctx, r, k, tp, goBin, accel, modArch[k.Name])
				mu.Lock()
				defer mu.Unlock()
				printRunLine(r)
			})
		}
	}
	if *flagHost {
		for _, tp := range tps {
			r := &pkgRun{Kernel: "host", Pkg: tp.Short, ExitStatus: -1}
			r.LogDir = filepath.Join(work, "logs", "host", strings.ReplaceAll(tp.Short, "/", "_"))
			runs = append(runs, r)
			jobs = append(jobs, func() {
				runOnHost(ctx, r, tp, goBin)
				mu.Lock()
				defer mu.Unlock()
				printRunLine(r)
			})
		}
	}
	sem := make(chan struct{}, max(1, *flagJobs))
	var wg sync.WaitGroup
	for _, job := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			job()
		}()
	}
	wg.Wait()

	want := wantKernels
	if len(want) == 0 {
		for _, k := range kernels {
			want = append(want, k.Name)
		}
	}
	shipped, err := shippedExperiments()
	if err != nil {
		return false, fmt.Errorf("list experiments: %w", err)
	}
	problems := append(coverageProblems(runs, want, shortPkgs(pkgs)), experimentProblems(runs, shipped)...)
	ok := report(os.Stdout, runs, time.Since(total), problems)
	fmt.Printf("logs: %s\n", filepath.Join(work, "logs"))
	return ok, ctx.Err()
}

// pkgWeight orders runs: roughly the minutes a package takes under TCG.
var pkgWeight = map[string]int{"injector/network": 3, "experiments/live": 2, "injector/syscall": 1, "bpf": 1}

func guestDir(tp *testPkg) string { return "/src/" + tp.Short }
func guestBin(tp *testPkg) string { return guestDir(tp) + "/" + filepath.Base(tp.Bin) }

// addTestdata ships the package's testdata/ (go test runs in the package
// directory, so tests find it relative to the working directory).
func addTestdata(files map[string]string, tp *testPkg) {
	root := filepath.Join(tp.Path, "testdata")
	_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			rel, _ := filepath.Rel(tp.Path, p)
			files[guestDir(tp)+"/"+filepath.ToSlash(rel)] = p
		}
		return nil
	})
}

// addHostProgram adds the host program name (looked up in PATH) and the
// shared libraries ldd lists for it, each at its host path, so that a test
// that execs it (the network tests run `ip netns`) finds it in the guest.
func addHostProgram(files map[string]string, name string) error {
	bin, err := exec.LookPath(name)
	if err != nil {
		return err
	}
	bin, _ = filepath.Abs(bin)
	files[bin] = bin
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		return nil // static, or ldd missing: the binary alone
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		var lib string
		switch {
		case len(f) >= 3 && f[1] == "=>" && strings.HasPrefix(f[2], "/"):
			lib = f[2]
		case len(f) >= 1 && strings.HasPrefix(f[0], "/"):
			lib = f[0] // the dynamic loader
		}
		if lib != "" {
			files[lib] = lib // copied as a regular file, symlinks resolved
		}
	}
	return nil
}

// guestEnv is the environment of the test binary in a guest: CI=true (a
// skip fails), the backends this kernel must support and the features it
// is known to lack.
func guestEnv(kernelName string) []string {
	env := []string{"CI=true"}
	if req, ok := requiredBackends(kernelName); ok {
		env = append(env, "TEMBLOR_REQUIRE_BACKENDS="+strings.Join(req, ","))
	}
	if absent := absentFeaturesOf(kernelName); len(absent) > 0 {
		env = append(env, "TEMBLOR_ABSENT_FEATURES="+strings.Join(absent, ","))
	}
	return env
}

func testArgs(timeout time.Duration) []string {
	// The test binary's own timeout fires first (with a goroutine dump),
	// the VM's kill is the backstop for a hung guest.
	args := []string{"-test.v=test2json", "-test.count=1", "-test.timeout=" + (timeout - min(30*time.Second, timeout/4)).String()}
	if *flagRun != "" {
		args = append(args, "-test.run="+*flagRun)
	}
	if *flagBench != "" {
		args = append(args, "-test.bench="+*flagBench)
	}
	if *flagBenchT != "" {
		args = append(args, "-test.benchtime="+*flagBenchT)
	}
	return args
}

func runOne(ctx context.Context, r *pkgRun, k kernel, tp *testPkg, goBin, accel, modArch string) {
	if err := os.MkdirAll(r.LogDir, 0o755); err != nil {
		r.Err = err
		return
	}
	initrd := filepath.Join(r.LogDir, "initramfs")
	if err := concatFiles(initrd, tp.Arch, modArch); err != nil {
		r.Err = err
		return
	}
	defer os.Remove(initrd)
	var stream io.Writer
	if *flagVerbose {
		stream = os.Stderr
	}
	res, err := boot(ctx, bootOpts{
		qemu: *flagQEMU, accel: accel, kernel: filepath.Join(k.Dir, "vmlinuz"), initrd: initrd,
		spec:    guestSpec{Bin: guestBin(tp), Dir: guestDir(tp), Args: testArgs(*flagTimeout), Env: guestEnv(k.Name)},
		timeout: *flagTimeout, logDir: r.LogDir, stream: stream, prefix: fmt.Sprintf("[%s %s] ", k.Name, tp.Short),
	})
	r.Wall, r.ExitStatus, r.Err = res.wall, res.status, err
	finish(ctx, r, goBin, res.testOut, k.Name, tp)
}

// runOnHost runs a test binary directly on this machine (kernel "host").
func runOnHost(ctx context.Context, r *pkgRun, tp *testPkg, goBin string) {
	if err := os.MkdirAll(r.LogDir, 0o755); err != nil {
		r.Err = err
		return
	}
	ctx, cancel := context.WithTimeout(ctx, *flagTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tp.Bin, testArgs(*flagTimeout)...)
	cmd.Dir = tp.Path
	cmd.Env = append(os.Environ(), guestEnv("host")...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	r.Wall = time.Since(start)
	_ = os.WriteFile(filepath.Join(r.LogDir, "test.out"), out, 0o644)
	var ee *exec.ExitError
	switch {
	case err == nil:
		r.ExitStatus = 0
	case errors.As(err, &ee):
		r.ExitStatus = ee.ExitCode()
	default:
		r.Err = err
	}
	finish(ctx, r, goBin, out, "host", tp)
}

func finish(ctx context.Context, r *pkgRun, goBin string, testOut []byte, kernelName string, tp *testPkg) {
	tests, order, perr := parseTestOutput(ctx, goBin, testOut)
	if perr != nil && r.Err == nil {
		r.Err = perr
	}
	r.Tests, r.Order = tests, order
	if r.Tests == nil {
		r.Tests = map[string]*testResult{}
	}
	req, _ := requiredBackends(kernelName)
	r.judge(req, tp.Short == "injector/syscall")
}

// kvmUsable boots the first kernel once under KVM with no test: the
// paravirtual KVM of some CI machines accepts -accel kvm but kills real
// guests with an emulation failure.
func kvmUsable(ctx context.Context, k kernel, initBin, imgDir, modArch string) bool {
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err != nil {
		return false
	} else {
		f.Close()
	}
	probeDir := filepath.Join(imgDir, "kvm-probe")
	os.MkdirAll(probeDir, 0o755)
	part := filepath.Join(probeDir, "init.cpio")
	initrd := filepath.Join(probeDir, "initramfs")
	if writeInitramfs(part, map[string]string{"init": initBin}, false) != nil || concatFiles(initrd, part, modArch) != nil {
		return false
	}
	res, err := boot(ctx, bootOpts{
		qemu: *flagQEMU, accel: "kvm", kernel: filepath.Join(k.Dir, "vmlinuz"), initrd: initrd,
		spec: guestSpec{}, timeout: 30 * time.Second, logDir: probeDir,
	})
	if err != nil || res.status != 0 {
		logf("KVM probe boot failed (%v): using TCG", err)
		return false
	}
	return true
}

func printRunLine(r *pkgRun) {
	p, s, f, _ := r.counts()
	verdict := "ok"
	if len(r.Problems) > 0 {
		verdict = "FAIL"
	}
	logf("%-4s %-28s %-18s %6.1fs  pass=%d skip=%d fail=%d", verdict, r.Kernel, r.Pkg, r.Wall.Seconds(), p, s, f)
	for _, pr := range groupProblems(r.Problems) {
		logf("       %s", truncate(pr, 300))
	}
}

// report prints the matrix and returns whether everything passed.
func report(w io.Writer, runs []*pkgRun, total time.Duration, coverage []string) bool {
	ok := len(coverage) == 0
	var kernelNames []string
	perKernel := map[string]time.Duration{}
	for _, r := range runs {
		if _, seen := perKernel[r.Kernel]; !seen {
			kernelNames = append(kernelNames, r.Kernel)
		}
		perKernel[r.Kernel] += r.Wall
	}

	fmt.Fprintln(w, "\n== kernel × package")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KERNEL\tPACKAGE\tRESULT\tPASS\tSKIP\tFAIL\tVM TIME")
	for _, r := range runs {
		p, s, f, u := r.counts()
		verdict := "ok"
		if len(r.Problems) > 0 {
			verdict = "FAIL"
			ok = false
		}
		if u > 0 {
			f += u // started, never finished: counted as failed
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%.1fs\n", r.Kernel, r.Pkg, verdict, p, s, f, r.Wall.Seconds())
	}
	tw.Flush()

	hasSyscall := false
	for _, r := range runs {
		hasSyscall = hasSyscall || r.Pkg == "injector/syscall"
	}
	if hasSyscall {
		reportBackends(w, runs)
	}
	reportExperiments(w, runs)

	fmt.Fprintln(w, "\n== time per kernel (sum of its VMs' wall time)")
	for _, k := range kernelNames {
		fmt.Fprintf(w, "  %-40s %6.1fs\n", k, perKernel[k].Seconds())
	}
	fmt.Fprintf(w, "  %-40s %6.1fs (wall, including compile and initramfs)\n", "total", total.Seconds())

	problems := append([]string(nil), coverage...)
	for _, r := range runs {
		for _, p := range groupProblems(r.Problems) {
			problems = append(problems, fmt.Sprintf("  %s %s: %s", r.Kernel, r.Pkg, p))
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		fmt.Fprintln(w, "\n== FAILED")
		for _, p := range problems {
			fmt.Fprintln(w, truncate(p, 400))
		}
	} else {
		fmt.Fprintln(w, "\n== PASSED")
	}
	return ok
}

// reportBackends prints, per kernel, what each syscall backend's
// TestBackends/<backend> subtest did and how many of its scenarios passed.
func reportBackends(w io.Writer, runs []*pkgRun) {
	fmt.Fprintln(w, "\n== syscall backends (injector/syscall TestBackends/<backend>; * = kernel must support it)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "KERNEL")
	for _, b := range backends {
		fmt.Fprint(tw, "\t"+b)
	}
	fmt.Fprintln(tw)
	var reasons []string
	for _, r := range runs {
		if r.Pkg != "injector/syscall" {
			continue
		}
		req, _ := requiredBackends(r.Kernel)
		cells := backendResults(r, req)
		fmt.Fprint(tw, r.Kernel)
		for _, b := range backends {
			c := cells[b]
			state := c.State
			if state == "" {
				state = "-"
			}
			if c.Scenarios[1] > 0 {
				state += fmt.Sprintf(" %d/%d", c.Scenarios[0], c.Scenarios[1])
			}
			if c.Required {
				state += "*"
				if c.State != "pass" {
					state = strings.ToUpper(state)
				}
			}
			fmt.Fprint(tw, "\t"+state)
			if c.State != "pass" && c.Reason != "" {
				reasons = append(reasons, fmt.Sprintf("  %s %s: %s", r.Kernel, b, truncate(c.Reason, 160)))
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	for _, s := range reasons {
		fmt.Fprintln(w, s)
	}

}

// failLine matches a judged test failure: "FAIL <test>: <file:line>: <reason>".
var failLine = regexp.MustCompile(`^FAIL (\S+): (?:\S+\.go:\d+: )?(.*)$`)

// groupProblems folds test failures with the same reason (one broken
// program fails every test that loads it) into one line naming the tests.
func groupProblems(problems []string) []string {
	var out []string
	byReason := map[string][]string{}
	var reasons []string
	for _, p := range problems {
		m := failLine.FindStringSubmatch(p)
		if m == nil {
			out = append(out, p)
			continue
		}
		if _, seen := byReason[m[2]]; !seen {
			reasons = append(reasons, m[2])
		}
		byReason[m[2]] = append(byReason[m[2]], m[1])
	}
	for _, reason := range reasons {
		tests := byReason[reason]
		if len(tests) == 1 {
			out = append(out, "FAIL "+tests[0]+": "+reason)
			continue
		}
		names := strings.Join(tests, ", ")
		out = append(out, fmt.Sprintf("FAIL %d tests (%s): %s", len(tests), truncate(names, 120), reason))
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
