package drill

import (
	"testing"
	"time"
)

// BenchmarkGeneratorMinute measures writing one minute of the
// accidental-dos attack (about 11,000 events, 180 a second of them the
// flood): how high --speed can go before the generator, not the pipeline,
// is the limit.
func BenchmarkGeneratorMinute(b *testing.B) {
	s, _ := Find("accidental-dos")
	dir := b.TempDir()
	g := NewGenerator(s, dir, 1, 1)
	if err := g.Prepare(time.Now()); err != nil {
		b.Fatal(err)
	}
	files, closeAll, err := g.openLogs()
	if err != nil {
		b.Fatal(err)
	}
	defer closeAll()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for sim := s.AttackStart; sim < s.AttackStart+time.Minute; sim += time.Second {
			g.tick(files, sim, time.Second)
		}
	}
	b.ReportMetric(float64(b.N)*60/b.Elapsed().Seconds(), "scenario-s/s")
}
