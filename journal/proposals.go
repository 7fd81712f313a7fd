package journal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"integration-dr/drerr"
)

// DefaultProposalTTL is how long a proposal waits for an operator's confirm when no
// other time is configured: an alert from an hour ago is no reason to act.
const DefaultProposalTTL = time.Hour

// ProposalExpired reports whether op is a proposal older than ttl at now
// (DefaultProposalTTL when ttl <= 0). A confirm checks it before it runs a proposal,
// so that its age, not whether the timer came by, decides.
func ProposalExpired(op Operation, ttl time.Duration, now time.Time) bool {
	return op.Status == Proposed && !now.Before(op.Created.Add(proposalTTL(ttl)))
}

// Expire ends op, a proposal nobody confirmed within ttl (DefaultProposalTTL when
// ttl <= 0), as rejected, saying so. The caller stores it with Update.
func (op *Operation) Expire(ttl time.Duration, now time.Time) error {
	if op.Status != Proposed {
		return invalid(op.ID, "only a proposal expires; this operation is %s", op.Status)
	}
	return op.Reject(fmt.Sprintf("proposal expired: not confirmed within %s", proposalTTL(ttl)), now)
}

// ExpireProposals rejects every proposal of a pair owns accepts that is older than ttl
// (DefaultProposalTTL when ttl <= 0), across pairs, whatever else the pairs have
// journaled since: what the operations timer does. It returns the expired proposals
// as stored. A proposal confirmed meanwhile (its Update conflicts) is left to the
// confirm; every other error is kept, naming its operation, and the rest go on.
func ExpireProposals(ctx context.Context, s Store, owns func(pair string) bool, ttl time.Duration, now time.Time) ([]Operation, error) {
	proposed, err := s.ListProposed(ctx)
	if err != nil {
		return nil, err
	}
	var out []Operation
	var errs []error
	for _, op := range proposed {
		if !owns(op.Pair) || !ProposalExpired(op, ttl, now) {
			continue
		}
		if err := op.Expire(ttl, now); err != nil {
			errs = append(errs, err)
			continue
		}
		saved, err := s.Update(ctx, op)
		switch {
		case drerr.Is(err, drerr.Conflict):
			continue // confirmed (or expired) by someone else since it was listed
		case err != nil:
			errs = append(errs, fmt.Errorf("expire proposal %s of %s: %w", op.ID, op.Pair, err))
			continue
		}
		out = append(out, saved)
	}
	return out, errors.Join(errs...)
}

func proposalTTL(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return DefaultProposalTTL
	}
	return ttl
}
