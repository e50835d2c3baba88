package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
)

// ShutdownGrace bounds how long a stopping process lets HTTP requests in
// flight finish, and, separately, its worker's activities in flight. The
// container's stop grace period must exceed twice this (docker-compose.yml,
// deploy/k8s): after it the process is killed and Temporal retries what an
// activity left unfinished.
const ShutdownGrace = 10 * time.Second

// MarkReady says that the process's own start-up is done: /readyz may answer
// 200 once its dependencies answer too. Start calls it unless Parts.HoldReady.
func (s *System) MarkReady() { s.started.Store(true) }

// Readiness checks everything the process needs to serve: its start-up is
// done (`nrm dev`: migrations and demo users), PostgreSQL and Temporal
// answer, and its worker (if it runs one) has not failed and has been seen
// polling its task queue by Temporal. checks names each check with "ok" or
// what is wrong; ok is false when any failed.
func (s *System) Readiness(ctx context.Context) (checks map[string]string, ok bool) {
	checks = map[string]string{}
	ok = true
	set := func(name, problem string) {
		if problem == "" {
			checks[name] = "ok"
			return
		}
		checks[name] = problem
		ok = false
	}
	switch {
	case s.stopping.Load():
		set("process", "stopping")
	case !s.started.Load():
		set("process", "starting")
	default:
		set("process", "")
	}
	if err := s.Store.Ping(ctx); err != nil {
		set("postgres", "unreachable")
	} else {
		set("postgres", "")
	}
	if _, err := s.Temporal.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		set("temporal", "unreachable")
		if s.Worker != nil {
			set("worker", "waiting for temporal")
		}
		return checks, ok
	}
	set("temporal", "")
	if s.Worker != nil {
		set("worker", s.workerProblem(ctx))
	}
	return checks, ok
}

// workerProblem is "" once Temporal has seen this process's worker poll its
// task queue for workflow tasks (asked until it has: a poller that started
// keeps polling, and a Temporal outage shows in the temporal check).
func (s *System) workerProblem(ctx context.Context) string {
	if err := s.workerFailed.Load(); err != nil {
		return "failed"
	}
	if s.polling.Load() {
		return ""
	}
	resp, err := s.Temporal.DescribeTaskQueue(ctx, s.Config.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return "unknown"
	}
	for _, p := range resp.GetPollers() {
		if p.GetIdentity() == s.identity {
			s.polling.Store(true)
			return ""
		}
	}
	return "not polling yet"
}

// workerOptions: activities in flight at shutdown get ShutdownGrace to
// finish (their results are then recorded, not retried); a fatal worker
// error makes the process unready and is logged.
func (s *System) workerOptions() worker.Options {
	return worker.Options{
		WorkerStopTimeout: ShutdownGrace,
		OnFatalError: func(err error) {
			s.workerFailed.Store(&err)
			s.Log.Error("Temporal worker stopped", "error", err.Error())
		},
	}
}

// processIdentity names this process to Temporal as the SDK's default does
// (pid@host), so that readiness can find its own pollers.
func processIdentity() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return fmt.Sprintf("%d@%s@nrm", os.Getpid(), host)
}

// errNotReady is what WaitReady answers when ctx ends first.
var errNotReady = errors.New("not ready")

// WaitReady polls Readiness until it holds or ctx ends.
func (s *System) WaitReady(ctx context.Context) error {
	for {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		checks, ok := s.Readiness(cctx)
		cancel()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", errNotReady, checks)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
