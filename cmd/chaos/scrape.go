package main

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// scraper follows the gateways' commit counters; a restarted gateway starts from zero, so each
// gateway's counts are summed over its lives.
type scraper struct {
	r    *run
	mu   sync.Mutex
	last map[string]map[string]float64 // gateway -> series -> last value
	acc  map[string]map[string]float64 // gateway -> series -> accumulated over earlier lives
	base map[string]float64            // series -> total at the start
}

func newScraper(r *run) *scraper {
	return &scraper{r: r, last: map[string]map[string]float64{}, acc: map[string]map[string]float64{}}
}

func (s *scraper) loop(ctx context.Context, stop chan struct{}) {
	t := time.NewTicker(3 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.scrape(ctx)
		}
	}
}

func (s *scraper) scrape(ctx context.Context) {
	for _, org := range append(orgs[:3:3], "regulator") {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		req, _ := http.NewRequestWithContext(cctx, "GET", s.r.gw.Base(org)+"/metrics", nil)
		resp, err := s.r.http.Do(req)
		if err != nil {
			cancel()
			continue
		}
		cur := map[string]float64{}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			name, val, ok := strings.Cut(sc.Text(), " ")
			if !ok || !(strings.HasPrefix(name, "gateway_commits_total{") || strings.HasPrefix(name, "gateway_retries_total{")) {
				continue
			}
			if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
				cur[name] = v
			}
		}
		resp.Body.Close()
		cancel()
		s.mu.Lock()
		prev := s.last[org]
		if s.acc[org] == nil {
			s.acc[org] = map[string]float64{}
		}
		for k, v := range prev {
			if cur[k] < v { // restarted: keep what the earlier life counted
				s.acc[org][k] += v
			}
		}
		s.last[org] = cur
		if s.base == nil {
			s.base = map[string]float64{}
		}
		if _, done := s.base["#"+org]; !done {
			for k, v := range cur {
				s.base[k] += v
			}
			s.base["#"+org] = 1
		}
		s.mu.Unlock()
	}
}

// delta returns the commit statuses by code, MVCC retries and resubmissions since the start.
func (s *scraper) delta() (map[string]float64, float64, float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tot := map[string]float64{}
	for org, cur := range s.last {
		for k, v := range cur {
			tot[k] += v
		}
		for k, v := range s.acc[org] {
			tot[k] += v
		}
	}
	commits := map[string]float64{}
	var mvcc, resub float64
	for k, v := range tot {
		d := v - s.base[k]
		switch {
		case strings.HasPrefix(k, `gateway_commits_total{code="`):
			code := strings.TrimSuffix(strings.TrimPrefix(k, `gateway_commits_total{code="`), `"}`)
			if d != 0 {
				commits[code] += d
			}
		case k == `gateway_retries_total{reason="mvcc"}`:
			mvcc += d
		case k == `gateway_retries_total{reason="resubmit"}`:
			resub += d
		}
	}
	return commits, mvcc, resub
}

// ---- the Regulator's ledger audit
