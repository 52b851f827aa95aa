package api

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the Prometheus collectors of the gateway. The methods are safe on a nil
// *Metrics (they do nothing), so the ledger client may run without them.
type Metrics struct {
	Requests  *prometheus.CounterVec   // gateway_http_requests_total{method,route,status}
	Latency   *prometheus.HistogramVec // gateway_http_request_duration_seconds{method,route}
	Submits   *prometheus.CounterVec   // gateway_submits_total{function,outcome}
	Commits   *prometheus.CounterVec   // gateway_commits_total{code}
	Retries   *prometheus.CounterVec   // gateway_retries_total{reason}
	CommitLat prometheus.Histogram     // gateway_commit_duration_seconds
	Streams   prometheus.Gauge         // gateway_stream_clients
}

// NewMetrics creates the collectors and registers them (plus the Go and process collectors)
// with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gateway_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route"}),
		Submits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_submits_total", Help: "Transactions submitted by chaincode function and outcome (committed, invalid, rejected, unavailable, pending).",
		}, []string{"function", "outcome"}),
		Commits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_commits_total", Help: "Commit statuses received, by validation code.",
		}, []string{"code"}),
		Retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_retries_total", Help: "Retries by reason: mvcc (re-endorsed after a read conflict), resubmit (same signed transaction sent again).",
		}, []string{"reason"}),
		CommitLat: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "gateway_commit_duration_seconds", Help: "From endorsement to commit status of submitted transactions.",
			Buckets: []float64{.1, .25, .5, .75, 1, 1.5, 2, 3, 5, 10, 30},
		}),
		Streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gateway_stream_clients", Help: "Connected WebSocket and SSE clients.",
		}),
	}
	for _, c := range []prometheus.Collector{m.Requests, m.Latency, m.Submits, m.Commits, m.Retries, m.CommitLat, m.Streams,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("api: register metrics: %w", err)
		}
	}
	return m, nil
}

// Submit counts one submitted transaction of function fn with its outcome.
func (m *Metrics) Submit(fn, outcome string) {
	if m != nil {
		m.Submits.WithLabelValues(fn, outcome).Inc()
	}
}

// Commit counts one commit status with its validation code and the time since endorsement.
func (m *Metrics) Commit(code string, seconds float64) {
	if m != nil {
		m.Commits.WithLabelValues(code).Inc()
		m.CommitLat.Observe(seconds)
	}
}

// Retry counts one retry for reason ("mvcc" or "resubmit").
func (m *Metrics) Retry(reason string, n int) {
	if m != nil && n > 0 {
		m.Retries.WithLabelValues(reason).Add(float64(n))
	}
}

// StreamClients adds delta to the connected stream clients.
func (m *Metrics) StreamClients(delta float64) {
	if m != nil {
		m.Streams.Add(delta)
	}
}
