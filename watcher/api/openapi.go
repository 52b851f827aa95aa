package api

import (
	"encoding/json"
	"sync"
)

func jsonOf(v any) ([]byte, error) { return json.Marshal(v) }

var (
	specOnce sync.Once
	specJSON []byte
)

// OpenAPI returns the OpenAPI 3.0 document of the API (served on /openapi.json).
func OpenAPI() []byte {
	specOnce.Do(func() {
		var v any
		if err := json.Unmarshal([]byte(openapiSpec), &v); err != nil {
			panic("api: openapi spec is not JSON: " + err.Error()) // caught by the tests
		}
		specJSON, _ = json.MarshalIndent(v, "", "  ")
	})
	return specJSON
}

const openapiSpec = `{
 "openapi": "3.0.3",
 "info": {"title": "fabmarket price watcher", "version": "1.0.0",
  "description": "Alerts on 5%/10% price moves over 1 day and 1 week, and EARNINGS_CALL / BREAKING_NEWS events, delivered by webhook (HMAC-SHA256 in X-Watcher-Signature and X-Hub-Signature-256: sha256=hex over the raw body), e-mail, APNs/FCM push and a live stream."},
 "servers": [{"url": "http://127.0.0.1:8090"}],
 "security": [{"bearer": []}],
 "paths": {
  "/healthz": {"get": {"summary": "Liveness", "security": [], "responses": {"200": {"description": "ok"}, "503": {"description": "stopping"}}}},
  "/metrics": {"get": {"summary": "Prometheus metrics", "security": [], "responses": {"200": {"description": "text exposition format"}}}},
  "/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3 JSON"}}}},
  "/v1/subscriptions": {
   "post": {"summary": "Subscribe a user to a symbol's moves", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SubscriptionRequest"}}}},
    "responses": {"201": {"description": "created", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Subscription"}}}},
     "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}}},
   "get": {"summary": "List a user's subscriptions", "parameters": [{"name": "user", "in": "query", "required": true, "schema": {"type": "string"}}],
    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "properties": {"subscriptions": {"type": "array", "items": {"$ref": "#/components/schemas/Subscription"}}}}}}},
     "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}}}},
  "/v1/subscriptions/{id}": {
   "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
   "get": {"summary": "One subscription", "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Subscription"}}}}, "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}},
   "delete": {"summary": "Unsubscribe", "responses": {"204": {"description": "deleted"}, "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
  "/v1/users/{id}/settings": {
   "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
   "put": {"summary": "Replace a user's delivery settings", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Settings"}}}},
    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Settings"}}}}, "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"}}},
   "get": {"summary": "A user's delivery settings", "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Settings"}}}}, "401": {"$ref": "#/components/responses/Error"}}}},
  "/v1/prices": {
   "post": {"summary": "Ingest a batch of prices (at most 1000, all or nothing)", "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {"$ref": "#/components/schemas/Price"}}}}},
    "responses": {"202": {"description": "applied; alerts queued", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestResult"}}}},
     "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "409": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}}}},
  "/v1/events": {
   "post": {"summary": "Queue an EARNINGS_CALL or BREAKING_NEWS event for a symbol's subscribers", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventRequest"}}}},
    "responses": {"202": {"description": "queued", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EventResult"}}}},
     "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"}, "422": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}}}},
  "/v1/alerts": {
   "get": {"summary": "Notifications, oldest first", "parameters": [{"name": "user", "in": "query", "schema": {"type": "string"}}, {"name": "symbol", "in": "query", "schema": {"type": "string"}},
     {"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0}}, {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}],
    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "properties": {"alerts": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}}}}}}},
     "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}}}},
  "/v1/alerts/stream": {
   "get": {"summary": "Live notifications: Server-Sent Events (event: notification, id: seq) or a WebSocket of JSON text messages. Last-Event-ID or after= replays first; access_token= may replace the header.",
    "parameters": [{"name": "user", "in": "query", "schema": {"type": "string"}}, {"name": "symbol", "in": "query", "schema": {"type": "string"}}, {"name": "after", "in": "query", "schema": {"type": "integer"}}, {"name": "access_token", "in": "query", "schema": {"type": "string"}}],
    "responses": {"200": {"description": "text/event-stream of Alert", "content": {"text/event-stream": {"schema": {"type": "string"}}}}, "101": {"description": "WebSocket"}, "401": {"$ref": "#/components/responses/Error"}}}},
  "/v1/notifications/{id}": {
   "get": {"summary": "One notification with its delivery states", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Alert"}}}}, "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}}
 },
 "components": {
  "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "any org key of network/run/apikeys.json. User ids belong to the key's org: the same id with another org's key is another user, and another org's subscriptions and notifications answer 404"}},
  "responses": {"Error": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
  "schemas": {
   "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
   "Channel": {"type": "object", "required": ["type"], "properties": {"type": {"type": "string", "enum": ["webhook", "email", "apns", "fcm", "stream"]},
     "url": {"type": "string", "description": "webhook URL"}, "secret": {"type": "string", "writeOnly": true, "description": "webhook signing secret (default: the service's)"},
     "to": {"type": "string", "description": "e-mail address"}, "token": {"type": "string", "description": "device token"}}},
   "SubscriptionRequest": {"type": "object", "required": ["user", "symbol"], "properties": {"user": {"type": "string"}, "symbol": {"type": "string"},
     "thresholds": {"type": "array", "items": {"type": "string"}, "default": ["5", "10"], "description": "percentages"},
     "windows": {"type": "array", "items": {"type": "string", "enum": ["1d", "1w"]}, "default": ["1d", "1w"]},
     "directions": {"type": "array", "items": {"type": "string", "enum": ["up", "down"]}, "default": ["up", "down"]},
     "channels": {"type": "array", "items": {"$ref": "#/components/schemas/Channel"}}}},
   "Subscription": {"allOf": [{"$ref": "#/components/schemas/SubscriptionRequest"}, {"type": "object", "properties": {"id": {"type": "string"}, "createdAt": {"type": "string", "format": "date-time"}}}]},
   "Settings": {"type": "object", "properties": {"user": {"type": "string", "readOnly": true}, "channels": {"type": "array", "items": {"$ref": "#/components/schemas/Channel"}},
     "quietHours": {"type": "object", "properties": {"start": {"type": "string", "example": "22:00"}, "end": {"type": "string", "example": "07:00"}, "timeZone": {"type": "string", "example": "Europe/Paris"}}},
     "maxPerHour": {"type": "integer", "minimum": 0, "maximum": 10000, "description": "0 means the default, 20"}}},
   "Price": {"type": "object", "required": ["symbol", "price"], "properties": {"symbol": {"type": "string"}, "price": {"type": "string", "example": "20.30", "description": "positive decimal (a JSON number is accepted too)"},
     "time": {"type": "string", "format": "date-time", "description": "default: time of receipt"}}},
   "IngestResult": {"type": "object", "properties": {"accepted": {"type": "integer"}, "held": {"type": "integer"}, "dropped": {"type": "integer"}, "alerts": {"type": "integer"}, "messages": {"type": "integer"}}},
   "EventRequest": {"type": "object", "required": ["type", "symbol"], "properties": {"id": {"type": "string", "description": "idempotency id"}, "type": {"type": "string", "enum": ["EARNINGS_CALL", "BREAKING_NEWS"]},
     "symbol": {"type": "string"}, "title": {"type": "string"}, "message": {"type": "string"}, "time": {"type": "string", "format": "date-time"}}},
   "EventResult": {"type": "object", "properties": {"id": {"type": "string"}, "type": {"type": "string"}, "symbol": {"type": "string"}, "recipients": {"type": "integer"}, "messages": {"type": "integer"}}},
   "Alert": {"type": "object", "properties": {"id": {"type": "string"}, "type": {"type": "string", "enum": ["PRICE_CHANGE", "EARNINGS_CALL", "BREAKING_NEWS"]}, "symbol": {"type": "string"},
     "window": {"type": "string"}, "threshold": {"type": "string"}, "changePercent": {"type": "string"}, "price": {"type": "string"}, "referencePrice": {"type": "string"},
     "time": {"type": "string", "format": "date-time"}, "title": {"type": "string"}, "message": {"type": "string"}, "user": {"type": "string"}, "seq": {"type": "integer"},
     "createdAt": {"type": "string", "format": "date-time"}, "state": {"type": "string", "enum": ["pending", "delivered", "dead", "throttled"]},
     "deliveries": {"type": "array", "items": {"type": "object", "properties": {"channel": {"type": "string"}, "target": {"type": "string"}, "state": {"type": "string"}, "attempts": {"type": "integer"},
       "nextAttemptAt": {"type": "string", "format": "date-time"}, "lastError": {"type": "string"}, "updatedAt": {"type": "string", "format": "date-time"}}}}}}
  }
 }
}`
