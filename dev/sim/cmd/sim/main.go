// Command sim runs the deterministic simulation over many seeds, or replays one.
//
//	go run ./dev/sim/cmd/sim -seeds 1000        # seeds 1..1000
//	go run ./dev/sim/cmd/sim -seed 42 -v        # replay seed 42, every event
//
// Failing seeds print their traces; the last line on stdout is one JSON object:
// {"seeds":N,"events":E,"violations":V,"invariants":[{"name":…,"violations":…},…]},
// every invariant checked with the violations found of it. The exit status is 1 when
// any invariant was broken.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"

	"integration-dr/dev/sim"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type summary struct {
	Seeds      int         `json:"seeds"`
	Events     int         `json:"events"`
	Violations int         `json:"violations"`
	Invariants []invariant `json:"invariants"`
}

type invariant struct {
	Name       string `json:"name"`
	Violations int    `json:"violations"`
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	seeds := fs.Int("seeds", 100, "how many seeds to run (from -first)")
	first := fs.Int64("first", 1, "the first seed of the run")
	one := fs.Int64("seed", 0, "run only this seed (overrides -seeds)")
	verbose := fs.Bool("v", false, "print every event of each seed")
	steps := fs.Int("steps", 0, "events per seed before the quiet phase (default the package's)")
	workers := fs.Int("workers", min(2, runtime.NumCPU()), "seeds run at once; each seed runs on one goroutine")
	show := fs.Int("show", 5, "how many failing seeds to print in full")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	list := make([]int64, 0, *seeds)
	if *one != 0 {
		list = append(list, *one)
	} else {
		for i := range *seeds {
			list = append(list, *first+int64(i))
		}
	}
	opts := sim.Options{Steps: *steps}
	if *verbose && len(list) == 1 {
		opts.Verbose = stdout
	}
	start := time.Now()
	results := make([]sim.Result, len(list))
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range max(1, *workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(list) {
					return
				}
				results[i] = sim.Run(list[i], opts)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	sum := summary{Seeds: len(list)}
	broken, count := map[string][]int64{}, map[string]int{}
	shown := 0
	for _, r := range results {
		sum.Events += r.Events
		for _, v := range r.Violations {
			sum.Violations++
			count[v.Invariant]++
			broken[v.Invariant] = append(broken[v.Invariant], r.Seed)
			if shown < *show || len(list) == 1 {
				fmt.Fprintf(stdout, "seed %d: %s\n", r.Seed, v)
			}
		}
		if len(r.Violations) > 0 {
			shown++
		}
	}
	names := make([]string, 0, len(broken))
	for name := range broken {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		seeds := broken[name]
		fmt.Fprintf(stdout, "%s: broken in %d seeds: %v\n", name, len(seeds), seeds)
	}
	for _, name := range sim.Invariants {
		sum.Invariants = append(sum.Invariants, invariant{Name: name, Violations: count[name]})
	}
	fmt.Fprintf(stderr, "%d seeds, %d events in %s (%.0f seeds/s)\n", len(list), sum.Events, elapsed.Round(time.Millisecond), float64(len(list))/elapsed.Seconds())
	out, _ := json.Marshal(sum)
	fmt.Fprintln(stdout, string(out))
	if sum.Violations > 0 {
		return 1
	}
	return 0
}
