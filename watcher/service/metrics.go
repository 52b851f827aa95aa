package service

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the service's Prometheus collectors, registered on their own registry.
type Metrics struct {
	Registry      *prometheus.Registry
	Ticks         *prometheus.CounterVec   // by source and outcome
	Alerts        *prometheus.CounterVec   // rule events by window
	Notifications *prometheus.CounterVec   // by event type and state at creation
	Deliveries    *prometheus.CounterVec   // attempts by channel and resulting state
	Latency       *prometheus.HistogramVec // tick (or event) to delivery, by channel
	FanoutMsgs    prometheus.Counter       // queue messages published
}

// NewMetrics creates and registers the collectors, with Go and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Ticks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "watcher_ticks_total",
			Help: "Ticks received, by source (rest, nats, ledger) and outcome (accepted, held, dropped, rejected)."}, []string{"source", "outcome"}),
		Alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "watcher_alerts_total",
			Help: "Threshold crossings fired by the rules, by window and direction."}, []string{"window", "direction"}),
		Notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "watcher_notifications_total",
			Help: "Notifications recorded, by event type and initial state (pending, throttled)."}, []string{"type", "state"}),
		Deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "watcher_delivery_attempts_total",
			Help: "Delivery attempts, by channel and resulting state (delivered, pending, dead)."}, []string{"channel", "state"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "watcher_delivery_latency_seconds",
			Help:    "Time from the tick or event being accepted to its delivery, by channel.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}}, []string{"channel"}),
		FanoutMsgs: prometheus.NewCounter(prometheus.CounterOpts{Name: "watcher_fanout_messages_total",
			Help: "Fan-out batches published to the queue."}),
	}
	m.Registry.MustRegister(m.Ticks, m.Alerts, m.Notifications, m.Deliveries, m.Latency, m.FanoutMsgs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
