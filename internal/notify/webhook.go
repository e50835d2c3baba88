package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Webhook headers. A receiver verifies a delivery so:
//
//  1. read X-NRM-Timestamp (Unix seconds) and refuse it when it is more than
//     five minutes from its own clock (a replayed old delivery);
//  2. compute HMAC-SHA256 with the channel's secret — the 64-character hex
//     string shown once when the channel was created, used as is (its ASCII
//     bytes) as the key — over the timestamp, a full stop and the exact
//     bytes of the body: timestamp + "." + body;
//  3. compare "sha256=" + hex of that MAC with X-NRM-Signature in constant
//     time (VerifySignature does 2 and 3);
//  4. deduplicate on X-NRM-Delivery, the notification's ID: a delivery may be
//     repeated (a retry after a timeout, a dispatcher that died mid-way).
//
// Any 2xx answer is success; anything else, a redirect included, is a
// failure that is retried.
const (
	HeaderSignature = "X-NRM-Signature"
	HeaderTimestamp = "X-NRM-Timestamp"
	HeaderDelivery  = "X-NRM-Delivery"
)

// WebhookTimeout bounds one webhook delivery.
const WebhookTimeout = 10 * time.Second

// Payload is the JSON body of a webhook delivery: these fields and no other.
type Payload struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	CaseNumber string     `json:"case_number"`
	Obligation string     `json:"obligation"`
	DueAt      *time.Time `json:"due_at"`
	CreatedAt  time.Time  `json:"created_at"`
	Link       string     `json:"link"`
}

func payloadOf(m Message) Payload {
	p := Payload{ID: m.ID, Kind: m.Kind, CaseNumber: m.CaseNumber, Obligation: m.Obligation,
		CreatedAt: m.CreatedAt.UTC(), Link: m.Link}
	if m.DueAt != nil {
		d := m.DueAt.UTC()
		p.DueAt = &d
	}
	return p
}

// Sign returns the X-NRM-Signature value of a body sent at timestamp (Unix seconds).
func Sign(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature checks a delivery's signature and that its timestamp is
// within tolerance of now; receivers written in Go may use it.
func VerifySignature(secret, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) bool {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return false
	}
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature))
}

// postWebhook delivers m to a webhook once.
func postWebhook(ctx context.Context, client *http.Client, target, secret string, m Message, now time.Time) error {
	body, err := json.Marshal(payloadOf(m))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return errors.New("bad webhook URL")
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "nrm-notify/1")
	req.Header.Set(HeaderDelivery, m.ID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	resp, err := client.Do(req)
	if err != nil {
		return transportError(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("receiver answered %d", resp.StatusCode)
	}
	return nil
}

// transportError keeps the reason of a failed request without the URL,
// whose path or query may hold a receiver's token.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return errors.New("timed out")
		}
		return errors.New(strings.TrimSpace(ue.Err.Error()))
	}
	return err
}
