// Command skipaudit reads `go test -v` output and fails when a test skipped
// for a reason that the project does not declare. In CI (CI=true) every
// privileged test must run; the only skips allowed are the ones the kernel
// tables declare: a syscall backend this kernel is not required to serve
// (TEMBLOR_REQUIRE_BACKENDS), a kernel feature declared absent
// (TEMBLOR_ABSENT_FEATURES), and a scenario the backend's planner refuses
// for this syscall on this kernel.
//
//	go run ./hack/skipaudit < test.log
//
// Exit status: 0 when every skip is declared, 1 otherwise (each undeclared
// skip is printed with its reason), 2 on a read error.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// declared are the reasons a skip may give in CI.
var declared = []string{
	"not required on this kernel (TEMBLOR_REQUIRE_BACKENDS=",
	"is declared absent on this kernel (TEMBLOR_ABSENT_FEATURES=",
	"backend cannot serve this syscall on this kernel: ",
}

var (
	header = regexp.MustCompile(`^=== (RUN|CONT|NAME|PAUSE)\s+(\S+)`)
	skip   = regexp.MustCompile(`^\s*--- SKIP: (\S+)`)
)

// skipped is one skip and the output its test printed.
type skipped struct {
	Test   string
	Reason []string
}

// audit returns the skips whose output names no declared reason, and how
// many skips it saw.
func audit(r io.Reader) (bad []skipped, total int, err error) {
	output := map[string][]string{}
	current := ""
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		line := sc.Text()
		if m := header.FindStringSubmatch(line); m != nil {
			current = m[2]
			continue
		}
		if m := skip.FindStringSubmatch(line); m != nil {
			total++
			s := skipped{Test: m[1], Reason: output[m[1]]}
			if !isDeclared(s.Reason) {
				bad = append(bad, s)
			}
			continue
		}
		if current != "" && strings.TrimSpace(line) != "" {
			output[current] = append(output[current], strings.TrimSpace(line))
		}
	}
	return bad, total, sc.Err()
}

func isDeclared(lines []string) bool {
	for _, l := range lines {
		for _, d := range declared {
			if strings.Contains(l, d) {
				return true
			}
		}
	}
	return false
}

func main() {
	bad, total, err := audit(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "skipaudit:", err)
		os.Exit(2)
	}
	fmt.Printf("skipaudit: %d skips, %d undeclared\n", total, len(bad))
	for _, s := range bad {
		reason := "(no output)"
		if len(s.Reason) > 0 {
			reason = s.Reason[len(s.Reason)-1]
		}
		fmt.Printf("  UNDECLARED SKIP %s: %s\n", s.Test, reason)
	}
	if len(bad) > 0 {
		os.Exit(1)
	}
}
