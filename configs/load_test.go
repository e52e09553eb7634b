package configs

import (
	"testing"
)

func TestLoadShipped(t *testing.T) {
	b, err := Load(".")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if _, err := b.RouterConfig(); err != nil {
		t.Fatal(err)
	}
}
