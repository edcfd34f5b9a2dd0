package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// subscribe runs onSub after each (re)subscription to channel and onMsg for
// each message, on one goroutine the store owns, until Close.
func (s *Store) subscribe(channel string, onSub func(), onMsg func(string)) {
	ps := s.rdb.Subscribe(context.Background(), channel)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ch := ps.ChannelWithSubscriptions(redis.WithChannelSize(1024))
		for {
			select {
			case <-s.stop:
				ps.Close()
				return
			case m, ok := <-ch:
				if !ok {
					return
				}
				switch m := m.(type) {
				case *redis.Subscription:
					if m.Kind == "subscribe" {
						onSub()
					}
				case *redis.Message:
					onMsg(m.Payload)
				}
			}
		}
	}()
}
