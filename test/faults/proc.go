package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is one process of the topology, started again after a kill with the
// same command, environment and ports.
type Proc struct {
	Name string
	Bin  string
	Args []string
	Env  []string
	// Ready is the URL that answers 200 once the process is ready (empty:
	// none).
	Ready string
	// Log is the file that collects the process's output, over restarts.
	Log string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	starts int
	// lastExit is the exit code of the last run that ended (-1: killed
	// by a signal).
	lastExit int
}

// Start runs the process; its output is appended to Log.
func (p *Proc) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s is running", p.Name)
	}
	f, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "\n===== %s start %d at %s\n", p.Name, p.starts+1, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.Bin, p.Args...)
	cmd.Env = p.Env
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group: a Ctrl-C of the harness does not reach it
	// first, and the harness ends exactly the processes it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	p.starts++
	p.cmd = cmd
	exited := make(chan struct{})
	p.exited = exited
	go func() {
		cmd.Wait()
		f.Close()
		close(exited)
	}()
	return nil
}

// Running says whether the process was started and has not exited.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL (kill -9) and waits until the process is gone.
func (p *Proc) Kill() { p.signal(syscall.SIGKILL, 0) }

// Stop sends SIGTERM and waits up to grace for the process to end, then
// kills it; it answers whether the process ended by itself.
func (p *Proc) Stop(grace time.Duration) bool { return p.signal(syscall.SIGTERM, grace) }

func (p *Proc) signal(sig syscall.Signal, grace time.Duration) bool {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return true
	}
	cmd.Process.Signal(sig)
	byItself := false
	if sig == syscall.SIGKILL {
		<-exited
	} else {
		select {
		case <-exited:
			byItself = true
		case <-time.After(grace):
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
		}
	}
	p.mu.Lock()
	p.lastExit = cmd.ProcessState.ExitCode()
	p.mu.Unlock()
	return byItself
}

// LastExit is the exit code of the process's last run that ended (-1:
// ended by a signal).
func (p *Proc) LastExit() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastExit
}

// WaitReady polls the Ready URL until it answers 200, the process exits or
// ctx ends.
func (p *Proc) WaitReady(ctx context.Context) error {
	if p.Ready == "" {
		return nil
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		p.mu.Lock()
		exited := p.exited
		p.mu.Unlock()
		select {
		case <-exited:
			return fmt.Errorf("%s exited before it was ready (see %s)", p.Name, p.Log)
		default:
		}
		if resp, err := client.Get(p.Ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (see %s)", p.Name, ctx.Err(), p.Log)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// RunOnce runs a one-shot command (migrations, the schema tool, the first
// administrator) to its end, its output appended to log; stdin may be nil.
func RunOnce(ctx context.Context, log, stdin string, env []string, bin string, args ...string) error {
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "\n===== %s %v\n", filepath.Base(bin), args)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %v: %w (see %s)", filepath.Base(bin), args, err, log)
	}
	return nil
}

// freePort picks a free loopback port below the kernel's ephemeral range
// (Linux: 32768 and up), as internal/devtemporal does: a port of that range
// could meanwhile become the local end of an outgoing connection.
func freePort() (int, error) {
	for range 100 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, errors.New("no free port in 20000-32000")
}

// freePorts picks n distinct free ports.
func freePorts(n int) ([]int, error) {
	seen := map[int]bool{}
	var out []int
	for len(out) < n {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// RSS is the process's resident memory now, from /proc (0 when it is not
// running or the kernel does not say).
func (p *Proc) RSS() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// clockTicks is the kernel's USER_HZ, the unit of /proc's CPU times: 100 on
// every Linux architecture Go builds for that reports it to user space.
const clockTicks = 100

// CPU is the processor time (user and system) the process has used, from
// /proc (0 when it is not running).
func (p *Proc) CPU() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return pidCPU(strconv.Itoa(p.cmd.Process.Pid))
}

// pidCPU reads utime + stime of /proc/<pid>/stat (0 when it cannot).
func pidCPU(pid string) time.Duration { return statCPU(pid, false) }

// statCPU reads utime + stime, and with children cutime + cstime: the time
// of the children the process has waited for, which is how PostgreSQL's
// backends that ended count (their postmaster waits for them).
func statCPU(pid string, children bool) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// The command name, field 2, is in parentheses and may hold spaces.
	_, rest, ok := strings.Cut(string(b), ") ")
	if !ok {
		return 0
	}
	f := strings.Fields(rest) // f[0] is field 3, so utime (14) is f[11]
	if len(f) < 15 {
		return 0
	}
	fields := f[11:13]
	if children {
		fields = f[11:15]
	}
	var ticks int64
	for _, v := range fields {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// commandCPU is the processor time of every running process whose command
// is name, with the children each has waited for (PostgreSQL's postmaster
// and backends: "postgres"; the backends of closed connections count
// through the postmaster).
func commandCPU(name string) time.Duration {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, e := range entries {
		pid := e.Name()
		if _, err := strconv.Atoi(pid); err != nil {
			continue
		}
		if comm, err := os.ReadFile("/proc/" + pid + "/comm"); err == nil && strings.TrimSpace(string(comm)) == name {
			total += statCPU(pid, true)
		}
	}
	return total
}
