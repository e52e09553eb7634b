package console

import (
	"context"
	"time"

	"onecall/store"
)

// UserStore is the part of *store.Store the user CLI and seeding need.
type UserStore interface {
	UserByName(ctx context.Context, name string) (store.User, error)
	UpsertUser(ctx context.Context, u store.User) error
	UpsertUsers(ctx context.Context, users []store.User) error
	ListUsers(ctx context.Context) ([]store.User, error)
}

// Store is the part of *store.Store the console needs.
type Store interface {
	UserStore
	RecordLoginFailure(ctx context.Context, name string, now time.Time, lockAfter int, lockFor time.Duration) (bool, error)
	ResetLoginFailures(ctx context.Context, name string) error
	Enqueue(rec store.Record) error
	// Durable returns once rec is committed (confirmed writes: wrap-up).
	Durable(ctx context.Context, rec store.Record) error
	Contact(ctx context.Context, id uint64) (store.Contact, error)
	ContactsByCitizen(ctx context.Context, citizen string, limit int) ([]store.Contact, error)
	ContactEvents(ctx context.Context, id uint64) ([]store.ContactEvent, error)
	CallRecords(ctx context.Context, limit int) ([]store.CallRecord, error)
	Health() store.Health
}
