package localstack

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"integration-dr/dev/armstandin"
	"integration-dr/session"
)

// Sender imitates the B2B connectors of whichever side is active: each generated
// number it sends is the side's current number plus one, read from that side, as the
// connector does; it also records received numbers. A Ledger of every number each side
// sent tells whether a partner ever got one twice.
type Sender struct {
	mu     sync.Mutex
	arm    *armstandin.Server
	agr    []Agreement
	rng    *rand.Rand
	seq    int64
	Ledger *Ledger
}

// Ledger records the generated numbers each side sent, per session.
type Ledger struct {
	mu   sync.Mutex
	sent map[string]map[string]map[int64]bool // side → session → numbers
	// Received lists every received-number session made, on either side.
	Received []string
}

// NewSender sends over the agreements' generated numbers.
func NewSender(arm *armstandin.Server, agr []Agreement, seed uint64) *Sender {
	return &Sender{arm: arm, agr: agr, rng: rand.New(rand.NewPCG(seed, 9)), Ledger: &Ledger{sent: map[string]map[string]map[int64]bool{}}}
}

// Step sends one message from the side (group, account): mostly a generated number,
// sometimes a received one. It fails, changing nothing, if the side does not answer.
func (s *Sender) Step(group, acct string, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.agr[s.rng.IntN(len(s.agr))]
	for a.Protocol == "AS2" {
		a = s.agr[s.rng.IntN(len(s.agr))]
	}
	s.seq++
	if s.rng.IntN(10) >= 7 {
		prefix := map[string]string{"X12": "X12-ICN-", "EDIFACT": "Edifact-ICN-"}[a.Protocol]
		name := fmt.Sprintf("%s%s-%s-%06d", prefix, a.Name, acct, s.seq)
		s.arm.PutSession(group, acct, name, ControlNumber(a.Protocol, s.seq, now))
		s.Ledger.mu.Lock()
		s.Ledger.Received = append(s.Ledger.Received, name)
		s.Ledger.mu.Unlock()
		return nil
	}
	gen := a.Generated()
	name := gen[s.rng.IntN(len(gen))]
	cur, ok := s.arm.SessionsWithTimes(group, acct)[name]
	if !ok {
		return fmt.Errorf("%s has no session %s", acct, name)
	}
	n, err := strconv.ParseInt(session.ParseContent(cur.Content).ControlNumber, 10, 64)
	if err != nil {
		return err
	}
	next := n + 1
	s.arm.PutSession(group, acct, name, ControlNumber(a.Protocol, next, now))
	s.Ledger.record(acct, name, next)
	return nil
}

func (l *Ledger) record(side, name string, n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent[side] == nil {
		l.sent[side] = map[string]map[int64]bool{}
	}
	if l.sent[side][name] == nil {
		l.sent[side][name] = map[int64]bool{}
	}
	l.sent[side][name][n] = true
}

// Duplicates counts numbers sent by both sides for one session, and by one side
// twice cannot happen by construction.
func (l *Ledger) Duplicates(a, b string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for name, nums := range l.sent[a] {
		for num := range nums {
			if l.sent[b][name][num] {
				n++
			}
		}
	}
	return n
}

// Sent counts the numbers a side sent.
func (l *Ledger) Sent(side string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, nums := range l.sent[side] {
		n += len(nums)
	}
	return n
}
