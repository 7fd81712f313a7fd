package main

import (
	"context"
	"time"

	"integration-dr/replication"
)

// baseline is a MODEL OF THE DOCUMENTED APPROACH, kept beside the benchmark for
// comparison and never part of the product: the replication logic app that
// Microsoft's disaster-recovery guide for integration accounts has people build. Each
// poll it copies every record the trigger lists, one by one, with no read of the
// standby and no coalescing, and a second query replays changes that are `replay` old
// or more (the guide's five minutes), for clock skew.
type baseline struct {
	src    replication.Source
	dst    replication.Sink
	replay time.Duration
	since  time.Time // trigger state: the last poll's start
	writes int
	lists  int
}

// poll runs one trigger poll at now.
func (b *baseline) poll(ctx context.Context, now time.Time) error {
	windows := [][2]time.Time{{b.since, now}}
	if !b.since.IsZero() {
		windows = append(windows, [2]time.Time{b.since.Add(-b.replay), now.Add(-b.replay)})
	}
	for _, w := range windows {
		from, to := w[0], w[1]
		b.lists++
		err := b.src.List(ctx, from, "", func(page replication.Page) error {
			for _, s := range page.Sessions {
				if s.ChangedTime.Before(from) || !s.ChangedTime.Before(to) {
					continue
				}
				if err := b.dst.Put(ctx, s); err != nil {
					return err
				}
				b.writes++
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	b.since = now
	return nil
}
