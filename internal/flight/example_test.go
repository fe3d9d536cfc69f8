package flight_test

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/switchyard/switchyard/internal/flight"
)

// A streamed chat request: the leader's start function calls the upstream and writes its
// events into the flight; every subscriber, leader or follower, relays what it reads.
func Example() {
	g, err := flight.New(flight.Config{})
	if err != nil {
		panic(err)
	}
	defer g.Close()

	start := func(ctx context.Context, f *flight.Flight) {
		// Open the upstream stream with ctx (cancelled once every client has gone),
		// retrying or falling back before the first event as usual.
		f.Header(200) // status and headers are decided: clients may send theirs
		for _, ev := range []string{`{"delta":"Hel"}`, `{"delta":"lo"}`, `[DONE]`} {
			f.Append([]byte("data: " + ev + "\n\n"))
		}
		f.Finish(nil) // or the mid-stream error every client must see
	}

	ctx := context.Background()
	sub, leader := g.Join("scope|canonical-key", start)
	defer sub.Leave() // always: a client going away is a Leave
	status, _ := sub.Meta(ctx)
	fmt.Println("leader:", leader, "status:", status)
	for {
		ev, err := sub.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println("stream failed:", err)
			break
		}
		fmt.Print(string(ev))
	}
	// Output:
	// leader: true status: 200
	// data: {"delta":"Hel"}
	//
	// data: {"delta":"lo"}
	//
	// data: [DONE]
}
