package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"time"

	"integration-dr/drerr"
)

// Mode is how a region answers the app's calls.
type Mode int

// The modes a region moves between.
const (
	Answering   Mode = iota // answers (with the world's small share of 5xx)
	Slow                    // answers late: a call with a deadline shorter than its latency is cut short
	Refusing                // 4xx: drerr.Invalid
	Throttled               // 429 after the SDK's retries: drerr.Throttled, most calls
	Erroring                // 5xx: drerr.Unavailable, most calls
	Unreachable             // no connection at all: drerr.Unreachable
	numModes
)

var modeNames = [...]string{"answering", "slow", "refusing", "throttled", "erroring", "unreachable"}

func (m Mode) String() string {
	if m < 0 || m >= numModes {
		return fmt.Sprintf("mode(%d)", int(m))
	}
	return modeNames[m]
}

// errKilled is what every call of an attempt returns once its process has died.
var errKilled = errors.New("the process running this attempt is gone")

// hash64 mixes the seed and the parts of a call's key into one number. It is the only
// randomness calls see: a call's fault depends on what it is, never on the order in
// which concurrent calls happen to run.
func hash64(seed int64, parts ...any) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	_, _ = h.Write(b[:])
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			_, _ = h.Write([]byte(v))
		case int:
			binary.LittleEndian.PutUint64(b[:], uint64(v))
			_, _ = h.Write(b[:])
		case int64:
			binary.LittleEndian.PutUint64(b[:], uint64(v))
			_, _ = h.Write(b[:])
		default:
			_, _ = fmt.Fprint(h, v)
		}
		_, _ = h.Write([]byte{0})
	}
	x := h.Sum64()
	// fnv's low bits are weak: finish with a splitmix step.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// latencies a slow side draws from.
var latencies = [...]time.Duration{300 * time.Millisecond, 2 * time.Second, 6 * time.Second, 45 * time.Second, 4 * time.Minute}

// callFault decides one call to a region: nil to answer, else the error it answers
// with. key names the call (operation and object); n counts calls of that key.
func (w *World) callFault(ctx context.Context, region string, mode Mode, key string, n int) error {
	h := hash64(w.seed, region, key, n, w.step)
	pct := h % 100
	switch mode {
	case Answering:
		if int(pct) < w.flaky {
			return drerr.Errorf(drerr.Unavailable, key, "500 from the %s side", region)
		}
	case Slow:
		lat := latencies[(h>>8)%uint64(len(latencies))]
		if dl, ok := ctx.Deadline(); ok {
			// What is left of the deadline, in whole seconds: calls answer at once in
			// real time, so this is the budget the caller set.
			left := time.Duration(math.Ceil(time.Until(dl).Seconds())) * time.Second
			if lat > left {
				return drerr.E(drerr.Interrupted, key, context.DeadlineExceeded)
			}
		}
	case Refusing:
		return drerr.Errorf(drerr.Invalid, key, "403 from the %s side", region)
	case Throttled:
		if pct < 70 {
			return drerr.Errorf(drerr.Throttled, key, "429 from the %s side", region)
		}
	case Erroring:
		if pct < 80 {
			return drerr.Errorf(drerr.Unavailable, key, "503 from the %s side", region)
		}
	case Unreachable:
		return drerr.Errorf(drerr.Unreachable, key, "no connection to the %s side", region)
	}
	return nil
}

// crashes says whether a write call kills the attempt's process (armed crash only),
// and whether the write lands first.
func (w *World) crashes(key string, n int) (crash, after bool) {
	if w.crash == nil {
		return false, false
	}
	h := hash64(w.seed, "crash", w.crash.salt, key, n, w.step)
	return h%uint64(w.crash.odds) == 0, (h>>16)%2 == 0
}
