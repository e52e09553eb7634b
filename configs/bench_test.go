package configs

import "testing"

// Benchmarks (run explicitly): go test -run X -bench . ./configs/

func BenchmarkLoadShipped(b *testing.B) {
	for b.Loop() {
		if _, err := Load("."); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResolveNumber(b *testing.B) {
	bu := loadShipped(b)
	for b.Loop() {
		if _, ok := bu.ResolveNumber("070-7947-8111"); !ok { // an alias near the end: worst case
			b.Fatal("not found")
		}
	}
}

func BenchmarkRouterConfig(b *testing.B) {
	bu := loadShipped(b)
	for b.Loop() {
		if _, err := bu.RouterConfig(); err != nil {
			b.Fatal(err)
		}
	}
}
