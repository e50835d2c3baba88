package faults

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Users of the load: one per role the procedure needs, created by the first
// administrator through the API (Directory).
type Users struct {
	Officer, Supervisor, Decider, Reviewer, Lawyer string // session tokens
}

// Path is what the load does with a case.
type Path string

const (
	// PathOpen: opened only; the preliminary decision's deadline passes
	// (breached), the case stays in identification.
	PathOpen Path = "open"
	// PathNegative: a negative preliminary decision confirmed on review
	// closes the case.
	PathNegative Path = "negative"
	// PathFull: positive decision, a referral to legal aid accepted and
	// completed by the provider (or withdrawn when the provider could not
	// answer in time), closure requested, approved and followed up.
	PathFull Path = "full"
)

// Case is what the load did to one case and what it saw.
type Case struct {
	N    int
	Path Path
	ID   string
	// Done lists the commands that answered 2xx, in order.
	Done []string
	// Refused lists the commands the procedure refused (409 sop-rule),
	// with their rule.
	Refused []string
	// Failed is the request that never got a final 2xx or 4xx answer
	// within the client's patience, if any.
	Failed string
	// Referral is the ID of the case's referral, once sent.
	Referral string
}

// did says whether the command answered 2xx.
func (c *Case) did(cmd string) bool {
	for _, d := range c.Done {
		if d == cmd {
			return true
		}
	}
	return false
}

// Load drives cases through the API processes.
type Load struct {
	Client *Client
	Users  Users
	// Opened counts cases whose opening answered (for the fault schedule).
	Opened atomic.Int64

	mu    sync.Mutex
	Cases []*Case
}

func pathOf(n int) Path {
	switch n % 5 {
	case 0:
		return PathOpen
	case 1:
		return PathNegative
	}
	return PathFull
}

// Run opens n cases, concurrency at a time, and takes each along its path.
func (l *Load) Run(ctx context.Context, n, concurrency int) {
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for i := range n {
		c := &Case{N: i, Path: pathOf(i)}
		l.mu.Lock()
		l.Cases = append(l.Cases, c)
		l.mu.Unlock()
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			l.drive(ctx, c)
		}()
	}
	wg.Wait()
}

// step sends one command; it answers the result when it was 2xx, and
// records a refusal or failure otherwise.
func (l *Load) step(ctx context.Context, c *Case, name, token, method, path string, body any) (Result, bool) {
	res := l.Client.Do(ctx, token, method, path, name, body)
	switch {
	case res.OK():
		c.Done = append(c.Done, name)
		return res, true
	case res.Status == http.StatusConflict && res.Problem == "urn:nrm:problem:sop-rule":
		var p struct {
			Rule string `json:"rule"`
		}
		res.Decode(&p)
		c.Refused = append(c.Refused, name+": "+p.Rule)
	default:
		c.Failed = name + ": " + res.String()
	}
	return res, false
}

func (l *Load) drive(ctx context.Context, c *Case) {
	res, ok := l.step(ctx, c, "open", l.Users.Officer, http.MethodPost, "/api/v1/cases", screening(c.N))
	l.Opened.Add(1)
	if !ok {
		return
	}
	var opened struct {
		ID string `json:"id"`
	}
	if err := res.Decode(&opened); err != nil || opened.ID == "" {
		c.Failed = fmt.Sprintf("open: answer without a case ID: %s", res.Body)
		return
	}
	c.ID = opened.ID
	base := "/api/v1/cases/" + c.ID
	switch c.Path {
	case PathOpen:
		return
	case PathNegative:
		res, ok := l.step(ctx, c, "preliminary_negative", l.Users.Decider, http.MethodPost, base+"/decisions",
			map[string]string{"kind": "preliminary", "outcome": "negative", "reason": "harness: indicators not confirmed"})
		if !ok {
			return
		}
		var d struct {
			ID string `json:"id"`
		}
		res.Decode(&d)
		l.step(ctx, c, "negative_review_confirmed", l.Users.Reviewer, http.MethodPost, base+"/decisions/"+d.ID+"/review",
			map[string]any{"confirm": true, "reason": "harness: second review agrees"})
		return
	}
	if _, ok := l.step(ctx, c, "preliminary_positive", l.Users.Decider, http.MethodPost, base+"/decisions",
		map[string]string{"kind": "preliminary", "outcome": "positive", "reason": "harness: strong indicators"}); !ok {
		return
	}
	res, ok = l.step(ctx, c, "referral_sent", l.Users.Officer, http.MethodPost, base+"/referrals", map[string]string{"service": "legal_aid"})
	if !ok {
		return
	}
	var ref struct {
		ID string `json:"id"`
	}
	res.Decode(&ref)
	c.Referral = ref.ID
	if !l.answerReferral(ctx, c, ref.ID) {
		if c.Failed != "" {
			return
		}
		// The provider was too late (the procedure moved the referral
		// on): the officer withdraws it if it is still open.
		res := l.Client.Do(ctx, l.Users.Officer, http.MethodPost, base+"/referrals/"+ref.ID+"/withdraw", "referral_withdrawn", nil)
		switch {
		case res.OK():
			c.Done = append(c.Done, "referral_withdrawn")
		case res.Status == http.StatusConflict:
			c.Refused = append(c.Refused, "referral_withdrawn")
		default:
			c.Failed = "referral_withdrawn: " + res.String()
			return
		}
	}
	if _, ok := l.step(ctx, c, "closure_requested", l.Users.Officer, http.MethodPost, base+"/closure",
		map[string]string{"reason": "reintegrated"}); !ok {
		return
	}
	if _, ok := l.step(ctx, c, "closure_approved", l.Users.Supervisor, http.MethodPost, base+"/closure/approve", nil); !ok {
		return
	}
	l.step(ctx, c, "follow_up_done", l.Users.Officer, http.MethodPost, base+"/follow-up", nil)
}

// answerReferral: the provider accepts and completes the referral. The
// referral reaches the provider's inbox a moment after it is sent (the
// referral's workflow routes it and records it), so a 404 is asked again
// for a while.
func (l *Load) answerReferral(ctx context.Context, c *Case, id string) bool {
	path := "/api/v1/referrals/" + id
	// A worker killed while it recorded the referral leaves the activity to
	// another worker after its 30 s start-to-close timeout, and retries
	// back off while PostgreSQL is away: wait longer than both. Meanwhile
	// the answer deadline (seconds in the test SOP) may pass and the
	// procedure close the referral unanswered: the officer sees that on the
	// case, as the provider's inbox never showed it.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		res := l.Client.Do(ctx, l.Users.Lawyer, http.MethodPost, path+"/accept", "referral_accepted", nil)
		if res.Status == http.StatusNotFound && time.Now().Before(deadline) {
			if status := l.referralStatus(ctx, c, id); status != "" && status != "pending" && status != "accepted" {
				c.Refused = append(c.Refused, "referral_accepted: never in the provider's inbox, "+status)
				return false
			}
			time.Sleep(500 * time.Millisecond)
			continue
		}
		switch {
		case res.OK():
			c.Done = append(c.Done, "referral_accepted")
		case res.Status == http.StatusConflict && res.Problem == "urn:nrm:problem:sop-rule":
			var p struct {
				Rule string `json:"rule"`
			}
			res.Decode(&p)
			c.Refused = append(c.Refused, "referral_accepted: "+p.Rule)
			return false
		default:
			c.Failed = "referral_accepted: " + res.String()
			return false
		}
		break
	}
	_, ok := l.step(ctx, c, "referral_completed", l.Users.Lawyer, http.MethodPost, path+"/complete",
		map[string]string{"outcome": "service_provided"})
	return ok
}

// referralStatus is the referral's status as the officer reads it on the
// case ("" when unknown).
func (l *Load) referralStatus(ctx context.Context, c *Case, id string) string {
	res := l.Client.Do(ctx, l.Users.Officer, http.MethodGet, "/api/v1/cases/"+c.ID+"/referrals", "GET /cases/{id}/referrals", nil)
	var out struct {
		Referrals []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"referrals"`
	}
	if !res.OK() || res.Decode(&out) != nil {
		return ""
	}
	for _, r := range out.Referrals {
		if r.ID == id {
			return r.Status
		}
	}
	return ""
}

// screening is a case-opening body that supports a presumed victim; each
// case's person differs.
func screening(n int) map[string]any {
	return map[string]any{
		"person": map[string]any{
			"given_name": fmt.Sprintf("Harness%d", n), "family_name": "Person", "birth_date": "1995-03-14",
			"sex": []string{"female", "male"}[n%2], "citizenship": "TM", "languages": []string{"tk"},
			"document_number": fmt.Sprintf("H-%07d", n),
		},
		"encounter": map[string]any{
			"occurred_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), "region": "lebap",
			"place": "harness", "context": "border_check",
		},
		"indicators": []string{"false_job_offer", "deceived_about_wages", "excessive_hours", "no_or_little_pay",
			"documents_withheld", "debt_bondage", "restricted_movement"},
		"exploitation": []string{"labour"},
		"urgent_needs": []string{},
		"consent":      map[string]bool{"referral": true, "data_sharing": true},
		"narrative":    "harness",
	}
}

// OfficerEmail is the frontline officer Directory creates: the one who
// opens the cases.
const OfficerEmail = "officer@harness.example"

// Directory creates the load's agencies and users as the administrator
// does after the first deployment, through the API, and signs them in.
func Directory(ctx context.Context, c *Client, adminToken, password string) (Users, error) {
	agencies := []map[string]any{
		{"name": "Harness police", "type": "law_enforcement", "region": "lebap"},
		{"name": "Harness authority", "type": "competent_authority", "region": "ashgabat", "national": true},
		{"name": "Harness legal aid", "type": "legal_service", "region": "ashgabat", "national": true,
			"regions": []string{"ashgabat", "ahal", "balkan", "dashoguz", "lebap", "mary"}, "services": []string{"legal_aid"}, "languages": []string{"tk", "ru"}},
	}
	ids := make([]string, len(agencies))
	for i, a := range agencies {
		res := c.Do(ctx, adminToken, http.MethodPost, "/api/v1/agencies", "POST /agencies", a)
		var out struct {
			ID string `json:"id"`
		}
		if !res.OK() || res.Decode(&out) != nil {
			return Users{}, fmt.Errorf("create agency %s: %s: %s", a["name"], res, res.Body)
		}
		ids[i] = out.ID
	}
	users := []struct{ email, role string }{
		{OfficerEmail, "frontline"}, {"supervisor@harness.example", "supervisor"},
		{"decider@harness.example", "competent_authority"}, {"reviewer@harness.example", "competent_authority"},
		{"lawyer@harness.example", "provider"},
	}
	agencyOf := map[string]string{"frontline": ids[0], "supervisor": ids[0], "competent_authority": ids[1], "provider": ids[2]}
	tokens := make([]string, len(users))
	for i, u := range users {
		res := c.Do(ctx, adminToken, http.MethodPost, "/api/v1/users", "POST /users", map[string]string{
			"email": u.email, "name": "Harness " + u.role, "role": u.role, "agency_id": agencyOf[u.role], "password": password})
		if !res.OK() {
			return Users{}, fmt.Errorf("create user %s: %s: %s", u.email, res, res.Body)
		}
		var err error
		if tokens[i], err = c.Login(ctx, u.email, password); err != nil {
			return Users{}, err
		}
	}
	return Users{Officer: tokens[0], Supervisor: tokens[1], Decider: tokens[2], Reviewer: tokens[3], Lawyer: tokens[4]}, nil
}
