// Package harness is the small test runner the Go client suites share: named checks,
// each run under a time limit with its cleanups, and the closing
// `NAME: N passed, M failed` line that tests/clients/run.sh reads.
//
// Environment (set by ../../run.sh): CLIENTS_HOST, CLIENTS_PORT, CLIENTS_CTL.
package harness

import (
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"time"
)

// Wait bounds every single receive or reply a check waits for.
const Wait = 5 * time.Second

// CheckLimit bounds one whole check.
const CheckLimit = 60 * time.Second

var (
	Host = envOr("CLIENTS_HOST", "127.0.0.1")
	Port = os.Getenv("CLIENTS_PORT")
	ctlP = os.Getenv("CLIENTS_CTL")
)

// Addr is host:port of the shared server, or of another instance when given its port.
func Addr(port ...string) string {
	if len(port) > 0 {
		return Host + ":" + port[0]
	}
	return Host + ":" + Port
}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

// failure aborts the current check; runOne recovers it and counts a failure.
type failure struct{ msg string }

func Failf(format string, args ...interface{}) { panic(failure{fmt.Sprintf(format, args...)}) }

func Eq(got, want interface{}, what string) {
	if !reflect.DeepEqual(got, want) {
		Failf("%s: expected %#v, got %#v", what, want, got)
	}
}

func Must(err error, what string) {
	if err != nil {
		Failf("%s: %v", what, err)
	}
}

// Ctl runs tests/clients/server.sh (start/stop/restart extra instances) and returns
// its output, e.g. the port of a started instance.
func Ctl(args ...string) string {
	out, err := exec.Command(ctlP, args...).Output()
	if err != nil {
		Failf("server.sh %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// T collects cleanups so every connection and server a check opened is closed.
type T struct{ cleanups []func() }

func (t *T) Defer(f func()) { t.cleanups = append(t.cleanups, f) }

type check struct {
	name string
	fn   func(t *T)
}

var checks []check

// Add registers a check; checks run in the order they were added.
func Add(name string, fn func(t *T)) { checks = append(checks, check{name, fn}) }

func runOne(c check) (err error) {
	t := &T{}
	defer func() {
		for i := len(t.cleanups) - 1; i >= 0; i-- {
			func() { defer func() { recover() }(); t.cleanups[i]() }()
		}
	}()
	done := make(chan struct{})
	var inner error
	go func() {
		defer close(done)
		defer func() {
			if r := recover(); r != nil {
				if f, ok := r.(failure); ok {
					inner = fmt.Errorf("%s", f.msg)
				} else {
					inner = fmt.Errorf("panic: %v", r)
				}
			}
		}()
		c.fn(t)
	}()
	select {
	case <-done:
		return inner
	case <-time.After(CheckLimit):
		return fmt.Errorf("check exceeded %v", CheckLimit)
	}
}

// Main runs the checks whose names contain one of the command-line arguments (all
// without arguments), prints `suite: N passed, M failed` last and exits 1 on a failure.
func Main(suite, banner string) {
	if Port == "" || ctlP == "" {
		fmt.Fprintln(os.Stderr, "CLIENTS_PORT and CLIENTS_CTL must be set (run through tests/clients/run.sh)")
		os.Exit(2)
	}
	only := os.Args[1:]
	passed, failed := 0, 0
	fmt.Printf("%s against %s\n", banner, Addr())
	for _, c := range checks {
		if len(only) > 0 {
			match := false
			for _, o := range only {
				match = match || strings.Contains(c.name, o)
			}
			if !match {
				continue
			}
		}
		start := time.Now()
		if err := runOne(c); err != nil {
			failed++
			fmt.Printf("FAIL %s: %v\n", c.name, err)
		} else {
			passed++
			fmt.Printf("ok   %s (%.2fs)\n", c.name, time.Since(start).Seconds())
		}
	}
	fmt.Printf("%s: %d passed, %d failed\n", suite, passed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
