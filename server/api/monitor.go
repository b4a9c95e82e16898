package api

import (
	"encoding/json"
	"time"
)

// MonitorRequest asks the daemon to watch a stream (POST /v1/monitors).
type MonitorRequest struct {
	// URL is what the daemon listens to: an http(s) stream (Icecast,
	// SHOUTcast, any endless body FFmpeg reads), an HLS playlist, or a
	// file under the daemon's media root, followed as it grows.
	URL string `json:"url"`
	// Name names the station or channel in plays and reports.
	Name      string `json:"name"`
	Territory string `json:"territory,omitempty"`
	ChannelID string `json:"channel_id,omitempty"`
}

// Monitor is a watched stream.
type Monitor struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	Territory string    `json:"territory,omitempty"`
	ChannelID string    `json:"channel_id,omitempty"`
	Tenant    string    `json:"tenant,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// Status is the stream's state now.
	Status MonitorStatus `json:"status"`
}

// Monitor states.
const (
	MonitorConnecting   = "connecting"
	MonitorPlaying      = "playing"
	MonitorSilent       = "silent"
	MonitorStalled      = "stalled"
	MonitorReconnecting = "reconnecting"
	MonitorFailed       = "failed"
)

// MonitorStatus is a monitor's stream as the daemon hears it.
type MonitorStatus struct {
	// State is connecting, playing (sound coming), silent (a stream of
	// silence), stalled (no data for a while), reconnecting (the stream
	// was lost; the next attempt is due) or failed (the stream cannot be
	// opened or read; attempts go on, further apart).
	State string    `json:"state"`
	Since time.Time `json:"since"`
	// Error says why the stream was last lost or refused.
	Error string `json:"error,omitempty"`
	// Reconnects counts the streams lost since the daemon started.
	Reconnects int `json:"reconnects"`
	// HeardS is the sound heard since the daemon started, seconds.
	HeardS float64 `json:"heard_s"`
	// Plays counts the plays started since the daemon started.
	Plays int `json:"plays"`
	// Playing lists the plays under way.
	Playing []Play `json:"playing"`
}

// Play is one contiguous use of a registered work on a monitored
// stream, from its start to its end: what play.started (without its
// end) and play.ended carry.
type Play struct {
	ID        string `json:"id"`
	Monitor   string `json:"monitor"`
	Station   string `json:"station"`
	Territory string `json:"territory,omitempty"`
	ChannelID string `json:"channel_id,omitempty"`
	// StartedAt and EndedAt are when the work started and ended in the
	// stream, UTC; EndedAt is set once the play is over.
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	// PlayedS is how long the work played, seconds.
	PlayedS float64 `json:"played_s"`
	// Work is the work and how it was heard: its reference times,
	// confidence, speed, pitch and modality (query times are seconds of
	// the stream since its connection).
	Work Segment `json:"work"`
	// EndReason says why the play ended: "ended" (the work stopped),
	// "stream_lost" (the stream did not come back in time),
	// "monitor_removed", or "restarted" (the daemon stopped during it).
	EndReason string `json:"end_reason,omitempty"`
}

// MonitorList is GET /v1/monitors.
type MonitorList struct {
	Monitors []Monitor `json:"monitors"`
	// CorePerMonitor is the share of a CPU core one monitor takes, as
	// measured over the last minute of this daemon (every monitor's
	// share of the whole process), or the benchmark's figure until
	// monitors have run that long; Capacity is how many monitors the
	// daemon's cores hold at that rate, leaving a fifth for the rest.
	CorePerMonitor float64 `json:"core_per_monitor"`
	Capacity       int     `json:"capacity"`
}

// Event is one of the daemon's events: a line of GET /v1/events and the
// body of a webhook delivery.
type Event struct {
	// ID numbers the event, from 1; a reader resumes after the last it
	// saw (Last-Event-ID), a webhook receiver drops a repeat by it
	// (Idempotency-Key: evt-<id>).
	ID   uint64    `json:"id"`
	Type string    `json:"type"`
	Time time.Time `json:"time"`
	// Monitor is the monitor the event is about, Tenant its tenant.
	Monitor string `json:"monitor,omitempty"`
	Tenant  string `json:"tenant,omitempty"`
	// Data is a Play (play.started, play.ended) or a MonitorStatus's
	// state, since and error (monitor.state).
	Data json.RawMessage `json:"data"`
}

// WebhookRequest asks for events to be sent to a URL (POST
// /v1/webhooks).
type WebhookRequest struct {
	URL string `json:"url"`
	// Types and Monitors select the events sent (all when empty).
	Types    []string `json:"types,omitempty"`
	Monitors []string `json:"monitors,omitempty"`
	// Secret signs the deliveries; the daemon makes one when empty.
	Secret string `json:"secret,omitempty"`
}

// Webhook is a webhook and how its deliveries stand.
type Webhook struct {
	ID       string   `json:"id"`
	URL      string   `json:"url"`
	Types    []string `json:"types,omitempty"`
	Monitors []string `json:"monitors,omitempty"`
	Tenant   string   `json:"tenant,omitempty"`
	// Secret is shown once, in the answer that creates the webhook.
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// DeliveredThrough is the id of the last event the receiver took (or
	// that was not for it); Behind counts the events after it.
	DeliveredThrough uint64 `json:"delivered_through"`
	Behind           uint64 `json:"behind"`
	// Delivered counts the events delivered since the daemon started.
	Delivered int64 `json:"delivered"`
	// Failures counts the failed attempts at the event being delivered,
	// LastError says why the last failed, NextAttempt when it is tried
	// again.
	Failures    int        `json:"failures"`
	LastError   string     `json:"last_error,omitempty"`
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
}

// WebhookList is GET /v1/webhooks.
type WebhookList struct {
	Webhooks []Webhook `json:"webhooks"`
}
