package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// marker must match test/kernelmatrix/cmd/init.
const marker = "TEMBLOR-KERNELMATRIX-EXIT: "

// guestSpec must match the init's spec type.
type guestSpec struct {
	Bin  string   `json:"bin"`
	Dir  string   `json:"dir"`
	Args []string `json:"args"`
	Env  []string `json:"env"`
}

// lsmCmdline puts bpf on the LSM list whatever the kernel's CONFIG_LSM says
// (unknown names are ignored by the kernel).
const lsmCmdline = "lsm=lockdown,capability,landlock,yama,apparmor,bpf"

type bootOpts struct {
	qemu    string
	accel   string // tcg or kvm
	kernel  string // bzImage
	initrd  string
	spec    guestSpec
	timeout time.Duration
	logDir  string    // console.log and test.out go here
	stream  io.Writer // console lines, prefixed, or nil
	prefix  string
}

type bootResult struct {
	status  int // exit marker; -1 when absent
	wall    time.Duration
	testOut []byte
}

func boot(ctx context.Context, o bootOpts) (bootResult, error) {
	res := bootResult{status: -1}
	raw, err := json.Marshal(o.spec)
	if err != nil {
		return res, err
	}
	cmdline := strings.Join([]string{
		"console=ttyS0", "loglevel=4", "panic=-1", "oops=panic", "mitigations=off",
		"8250.nr_uarts=2", lsmCmdline,
		"temblor.run=" + base64.RawStdEncoding.EncodeToString(raw),
	}, " ")
	if len(cmdline) > 2000 {
		return res, fmt.Errorf("kernel command line too long (%d bytes)", len(cmdline))
	}
	testOut := filepath.Join(o.logDir, "test.out")
	_ = os.Remove(testOut)
	args := []string{
		"-nographic", "-no-reboot", "-nodefaults", "-nic", "none",
		"-m", "1G", "-smp", "1",
		"-kernel", o.kernel, "-initrd", o.initrd, "-append", cmdline,
		"-chardev", "stdio,id=con,signal=off", "-serial", "chardev:con",
		"-serial", "file:" + testOut,
	}
	if o.accel == "kvm" {
		args = append(args, "-accel", "kvm", "-cpu", "host")
	} else {
		args = append(args, "-accel", "tcg", "-cpu", "max")
	}

	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.qemu, args...)
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return res, err
	}
	cmd.Stderr = cmd.Stdout
	consoleLog, err := os.Create(filepath.Join(o.logDir, "console.log"))
	if err != nil {
		return res, err
	}
	defer consoleLog.Close()
	fmt.Fprintf(consoleLog, "# %s %s\n", o.qemu, strings.Join(args, " "))

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			fmt.Fprintln(consoleLog, line)
			if o.stream != nil {
				fmt.Fprintf(o.stream, "%s%s\n", o.prefix, line)
			}
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), marker); ok {
				if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
					res.status = n
				}
			}
		}
	}()
	wg.Wait()
	waitErr := cmd.Wait()
	res.wall = time.Since(start)
	res.testOut, _ = os.ReadFile(testOut)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return res, fmt.Errorf("guest timed out after %v (killed)", o.timeout)
	case waitErr != nil:
		return res, fmt.Errorf("qemu: %w (see %s)", waitErr, consoleLog.Name())
	case res.status < 0:
		return res, fmt.Errorf("guest stopped without an exit marker: kernel panic or init failure (see %s)", consoleLog.Name())
	}
	return res, nil
}
