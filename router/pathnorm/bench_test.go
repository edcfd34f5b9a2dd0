package pathnorm

import "testing"

func BenchmarkNormalize(b *testing.B) {
	for _, bm := range []struct{ name, path string }{
		{"normal", "/wsapi/session_context"},
		{"dirty", "/./wsapi//%73ession_context/../x%2fy%c3%a9"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := Normalize(bm.path, merged); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
