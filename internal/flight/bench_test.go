package flight

import (
	"context"
	"io"
	"sync"
	"testing"
)

// benchEvents is a short streamed answer: 20 chunks of a typical size.
var benchEvents = func() [][]byte {
	out := make([][]byte, 20)
	for i := range out {
		out[i] = []byte(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"word "}}]}` + "\n\n")
	}
	return out
}()

func produce(events [][]byte) func(context.Context, *Flight) {
	return func(ctx context.Context, f *Flight) {
		f.Header(200)
		for _, ev := range events {
			f.Append(ev)
		}
		f.Finish(nil)
	}
}

func drain(b *testing.B, sub *Subscriber) {
	ctx := context.Background()
	if _, err := sub.Meta(ctx); err != nil {
		b.Error(err)
	}
	for {
		if _, err := sub.Next(ctx); err != nil {
			if err != io.EOF {
				b.Error(err)
			}
			break
		}
	}
	sub.Leave()
}

// BenchmarkJoinOneSubscriber is what a request pays for going through a Group when
// nothing coalesces: Join, the producer goroutine, reading every event, Leave.
func BenchmarkJoinOneSubscriber(b *testing.B) {
	for _, bc := range []struct {
		name   string
		events [][]byte
	}{
		{"non-streamed", benchEvents[:1]},
		{"streamed-20-events", benchEvents},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g := newGroup(b, Config{})
			start := produce(bc.events)
			b.ReportAllocs()
			for b.Loop() {
				sub, _ := g.Join("chat:key", start)
				drain(b, sub)
			}
		})
	}
}

// BenchmarkJoinHundredSubscribers is one flight read by 100 subscribers, each in its own
// goroutine as the server's connection goroutines would be. One op is the whole flight.
func BenchmarkJoinHundredSubscribers(b *testing.B) {
	const subs = 100
	for _, bc := range []struct {
		name   string
		events [][]byte
	}{
		{"non-streamed", benchEvents[:1]},
		{"streamed-20-events", benchEvents},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g := newGroup(b, Config{})
			b.ReportAllocs()
			for b.Loop() {
				release := make(chan struct{})
				start := func(ctx context.Context, f *Flight) {
					<-release
					produce(bc.events)(ctx, f)
				}
				var wg sync.WaitGroup
				for range subs {
					sub, _ := g.Join("chat:key", start)
					wg.Go(func() { drain(b, sub) })
				}
				close(release)
				wg.Wait()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs), "ns/subscriber")
		})
	}
}
