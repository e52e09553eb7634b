package sip

import (
	"context"
	"errors"

	"onecall/store"
)

// RegistrarBackend is the part of *store.Store the registrar adapter uses.
type RegistrarBackend interface {
	UserByName(ctx context.Context, name string) (store.User, error)
	Enqueue(rec store.Record) error
	Registrations(ctx context.Context) ([]store.Registration, error)
}

// StoreAdapter serves the registrar's Credentials and BindingStore from
// onecall/store: users.sip_ha1_* and the registrations table. Binding
// writes are queued (Enqueue, never blocking a REGISTER): a binding lost in a
// crash only means the phone registers again.
type StoreAdapter struct{ s RegistrarBackend }

// NewStoreAdapter wraps a *store.Store.
func NewStoreAdapter(s RegistrarBackend) *StoreAdapter { return &StoreAdapter{s: s} }

// SIPCredentials implements Credentials; disabled users are unknown.
func (a *StoreAdapter) SIPCredentials(ctx context.Context, user string) (string, string, bool, error) {
	u, err := a.s.UserByName(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	if u.Disabled {
		return "", "", false, nil
	}
	return u.SIPHA1MD5, u.SIPHA1SHA256, true, nil
}

// SaveBinding implements BindingStore.
func (a *StoreAdapter) SaveBinding(_ context.Context, b Binding) error {
	return a.s.Enqueue(store.Registration{User: b.User, ContactURI: b.Contact, SourceAddr: b.Source,
		UserAgent: b.UserAgent, Expires: b.Expires})
}

// DeleteBinding implements BindingStore.
func (a *StoreAdapter) DeleteBinding(_ context.Context, user, contact string) error {
	return a.s.Enqueue(store.RegistrationDelete{User: user, ContactURI: contact})
}

// LoadBindings implements BindingStore. The store keeps no refresh time, so
// Registered is left zero (Lookup then prefers the latest expiry order).
func (a *StoreAdapter) LoadBindings(ctx context.Context) ([]Binding, error) {
	rs, err := a.s.Registrations(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Binding, 0, len(rs))
	for _, r := range rs {
		out = append(out, Binding{User: r.User, Contact: r.ContactURI, Source: r.SourceAddr,
			UserAgent: r.UserAgent, Expires: r.Expires})
	}
	return out, nil
}
