package api

import (
	"encoding/json"
	"fmt"

	"github.com/gin-gonic/gin"

	"github.com/fabmarket/fabmarket/watcher/notify"
	"github.com/fabmarket/fabmarket/watcher/service"
	"github.com/fabmarket/fabmarket/watcher/store"
	"github.com/fabmarket/fabmarket/watcher/users"
)

// Object-level authorization. Every user belongs to the org whose key names it: the handlers
// scope the user ids they are given by the caller's org ("u1" of org1 is "org1/u1" to the
// service, users.Scoped), so the same id given with two orgs' keys names two users, and they
// strip the scope from every user id they answer. Objects reached by id (a subscription, a
// notification) are answered only when their user is in the caller's org; another org's
// object gets the same 404 as one that does not exist. Objects stored without a scope (from
// before scoping) belong to no org and are reached by no key.

// orgOf returns the caller's org, set by authenticate.
func orgOf(c *gin.Context) string { return c.GetString("org") }

// scoped returns the service's id of the caller's user id.
func scoped(c *gin.Context, user string) string { return users.Scoped(orgOf(c), user) }

// owns reports whether user (a service id) belongs to the caller's org.
func owns(c *gin.Context, user string) bool {
	org, _, ok := users.Unscoped(user)
	return ok && org == orgOf(c)
}

// notFound is the service's answer for an object that does not exist.
func notFound(what, id string) error {
	return &service.Error{Code: service.CodeNotFound, Message: fmt.Sprintf("%s %q not found", what, id)}
}

// subscriptionOf returns the caller's subscription id; NOT_FOUND when it does not exist or
// belongs to another org.
func (s *Server) subscriptionOf(c *gin.Context, id string) (store.Subscription, error) {
	sub, err := s.cfg.Watcher.GetSubscription(c.Request.Context(), id)
	if err == nil && !owns(c, sub.User) {
		return store.Subscription{}, notFound("subscription", id)
	}
	return sub, err
}

// viewOf renders a subscription with the user id as the caller knows it.
func viewOf(sub store.Subscription) service.SubscriptionView {
	v := service.View(sub)
	v.User = users.Local(v.User)
	return v
}

// alertFilter selects the notifications of the caller's user, or of all its org's users
// when user is "".
func alertFilter(c *gin.Context, user, symbol string) store.Filter {
	f := store.Filter{UserPrefix: users.Scoped(orgOf(c), ""), Symbol: symbol}
	if user != "" {
		f.User = scoped(c, user)
	}
	return f
}

// localEvent returns e with the user of its JSON body as the caller knows it.
func localEvent(e notify.StreamEvent) notify.StreamEvent {
	var v service.AlertView
	if err := json.Unmarshal(e.Data, &v); err != nil {
		return e
	}
	v.User = users.Local(v.User)
	e.Data, _ = json.Marshal(v)
	return e
}
