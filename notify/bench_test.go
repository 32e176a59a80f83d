package notify

import (
	"context"
	"testing"
	"time"
)

func BenchmarkDispatch1000(b *testing.B) {
	for range b.N {
		f := newOutboxFixture(b, nil, "wechat")
		msgs := make([]Message, 1000)
		for i := range msgs {
			msgs[i] = msgFor(i)
		}
		start := time.Now()
		if err := f.box.Publish(f.ctx, msgs); err != nil {
			b.Fatal(err)
		}
		pub := time.Since(start)
		ch := newFake("wechat")
		d := NewDispatcher(f.box, []Channel{ch}, DispatcherConfig{})
		ctx, cancel := context.WithCancel(f.ctx)
		go d.Run(ctx)
		start = time.Now()
		for ch.total() < 1000 {
			time.Sleep(5 * time.Millisecond)
		}
		b.Logf("publish %v, dispatch %v", pub, time.Since(start))
		cancel()
	}
}
