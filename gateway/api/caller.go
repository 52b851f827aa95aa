package api

import "context"

type callerKey struct{}

// WithCaller returns ctx carrying org, the org of the authenticated caller ("org1", ...,
// "regulator"). The router sets it for handlers that live outside Gin, such as the stream,
// which must filter what it sends by the caller's org.
func WithCaller(ctx context.Context, org string) context.Context {
	return context.WithValue(ctx, callerKey{}, org)
}

// Caller returns the org stored by WithCaller; false when there is none (an unauthenticated
// request: such a caller may only see public data).
func Caller(ctx context.Context) (string, bool) {
	org, ok := ctx.Value(callerKey{}).(string)
	return org, ok && org != ""
}
