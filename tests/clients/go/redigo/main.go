// redigo against the server under test, written the way redigo users write it:
// redis.Dial + redis.PubSubConn, a type switch over Receive(), PING through the
// PubSubConn, and the redial-and-resubscribe loop users write themselves (redigo has
// no automatic reconnect). Shard pub/sub has no helper in redigo 1.9, so it is sent raw.
//
// Prints `redigo: N passed, M failed` last; exits 1 on any failure.
// Environment (set by ../../run.sh): CLIENTS_HOST, CLIENTS_PORT, CLIENTS_CTL.
package main

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gomodule/redigo/redis"

	h "respub/tests/clients/go/internal/harness"
)

const wait = h.Wait

var (
	host  = h.Host
	port  = h.Port
	failf = h.Failf
	eq    = h.Eq
	must  = h.Must
	ctl   = h.Ctl
	add   = h.Add
)

type T = h.T

func dial(t *T, p string, opts ...redis.DialOption) redis.Conn {
	opts = append([]redis.DialOption{
		redis.DialConnectTimeout(wait), redis.DialReadTimeout(10 * time.Second), redis.DialWriteTimeout(10 * time.Second),
	}, opts...)
	c, err := redis.Dial("tcp", host+":"+p, opts...)
	must(err, "dial")
	t.Defer(func() { c.Close() })
	return c
}

// recv is PubSubConn.ReceiveWithTimeout that fails the test on error or timeout.
func recv(psc redis.PubSubConn) interface{} {
	v := psc.ReceiveWithTimeout(wait)
	if err, ok := v.(error); ok {
		failf("receive: %v", err)
	}
	return v
}

func publish(c redis.Conn, ch string, msg interface{}) int {
	n, err := redis.Int(c.Do("PUBLISH", ch, msg))
	must(err, "PUBLISH "+ch)
	return n
}

func init() {
	add("connect and PING", func(t *T) {
		c := dial(t, port)
		s, err := redis.String(c.Do("PING"))
		must(err, "PING")
		eq(s, "PONG", "PING")
		eq(publish(c, "go.nobody", "m"), 0, "PUBLISH without subscribers")
	})

	add("SUBSCRIBE several channels, delivery in order", func(t *T) {
		c := dial(t, port)
		psc := redis.PubSubConn{Conn: dial(t, port)}
		must(psc.Subscribe("go.s.a", "go.s.b", "go.s.c"), "subscribe")
		for i, ch := range []string{"go.s.a", "go.s.b", "go.s.c"} {
			eq(recv(psc), redis.Subscription{Kind: "subscribe", Channel: ch, Count: i + 1}, "confirmation")
		}
		order := []string{"go.s.c", "go.s.a", "go.s.b", "go.s.a"}
		for _, ch := range order {
			eq(publish(c, ch, "to "+ch), 1, "PUBLISH "+ch)
		}
		for _, ch := range order {
			eq(recv(psc), redis.Message{Channel: ch, Data: []byte("to " + ch)}, "message")
		}
	})

	add("PSUBSCRIBE * ? [a-z] patterns", func(t *T) {
		c := dial(t, port)
		psc := redis.PubSubConn{Conn: dial(t, port)}
		must(psc.PSubscribe("go.g.*", "go.g.?", "go.g.[a-c]x"), "psubscribe")
		for i, p := range []string{"go.g.*", "go.g.?", "go.g.[a-c]x"} {
			eq(recv(psc), redis.Subscription{Kind: "psubscribe", Channel: p, Count: i + 1}, "confirmation")
		}
		cases := []struct {
			ch   string
			pats []string
		}{
			{"go.g.b", []string{"go.g.*", "go.g.?"}},
			{"go.g.bx", []string{"go.g.*", "go.g.[a-c]x"}},
			{"go.g.dx", []string{"go.g.*"}},
			{"go.g.a:b.c", []string{"go.g.*"}},
			{"go.h.b", nil},
		}
		for _, tc := range cases {
			eq(publish(c, tc.ch, tc.ch), len(tc.pats), "PUBLISH "+tc.ch)
			var got []string
			for range tc.pats {
				m, ok := recv(psc).(redis.Message)
				if !ok || m.Channel != tc.ch || string(m.Data) != tc.ch {
					failf("pmessage for %s: got %#v", tc.ch, m)
				}
				got = append(got, m.Pattern)
			}
			sort.Strings(got)
			want := append([]string(nil), tc.pats...)
			sort.Strings(want)
			if len(want) > 0 {
				eq(got, want, "patterns matching "+tc.ch)
			}
		}
	})

	add("binary, empty and 1 MiB payloads", func(t *T) {
		c := dial(t, port)
		psc := redis.PubSubConn{Conn: dial(t, port)}
		ch := "go.bin\x00\r\nch"
		must(psc.Subscribe(ch), "subscribe")
		eq(recv(psc), redis.Subscription{Kind: "subscribe", Channel: ch, Count: 1}, "confirmation")
		big := make([]byte, 1<<20)
		for i := range big {
			big[i] = byte(i * 31)
		}
		payloads := [][]byte{[]byte("a\x00b\r\nc\r\n"), {}, []byte("*3\r\n$7\r\nmessage\r\n"), big, {0xff, 0}}
		for _, p := range payloads {
			eq(publish(c, ch, p), 1, "PUBLISH binary")
		}
		for _, p := range payloads {
			m, ok := recv(psc).(redis.Message)
			if !ok || m.Channel != ch || !bytes.Equal(m.Data, p) {
				failf("payload of %d bytes came back as %d bytes (ok=%v), not equal", len(p), len(m.Data), ok)
			}
		}
	})

	add("partial and full UNSUBSCRIBE / PUNSUBSCRIBE", func(t *T) {
		c := dial(t, port)
		psc := redis.PubSubConn{Conn: dial(t, port)}
		must(psc.Subscribe("go.u.a", "go.u.b", "go.u.c"), "subscribe")
		must(psc.PSubscribe("go.u.p1.*", "go.u.p2.*"), "psubscribe")
		for i := 0; i < 5; i++ {
			recv(psc)
		}
		must(psc.Unsubscribe("go.u.b"), "unsubscribe")
		eq(recv(psc), redis.Subscription{Kind: "unsubscribe", Channel: "go.u.b", Count: 4}, "partial UNSUBSCRIBE")
		must(psc.PUnsubscribe("go.u.p1.*"), "punsubscribe")
		eq(recv(psc), redis.Subscription{Kind: "punsubscribe", Channel: "go.u.p1.*", Count: 3}, "partial PUNSUBSCRIBE")
		eq(publish(c, "go.u.b", "x"), 0, "dropped channel")
		eq(publish(c, "go.u.p1.x", "x"), 0, "dropped pattern")
		eq(publish(c, "go.u.p2.x", "y"), 1, "kept pattern")
		eq(recv(psc), redis.Message{Pattern: "go.u.p2.*", Channel: "go.u.p2.x", Data: []byte("y")}, "pmessage")
		must(psc.Unsubscribe(), "unsubscribe all")
		var chans []string
		var counts []int
		for i := 0; i < 2; i++ {
			s := recv(psc).(redis.Subscription)
			chans, counts = append(chans, s.Channel), append(counts, s.Count)
		}
		sort.Strings(chans)
		sort.Ints(counts)
		eq(chans, []string{"go.u.a", "go.u.c"}, "full UNSUBSCRIBE channels")
		eq(counts, []int{1, 2}, "full UNSUBSCRIBE counts")
		must(psc.PUnsubscribe(), "punsubscribe all")
		eq(recv(psc), redis.Subscription{Kind: "punsubscribe", Channel: "go.u.p2.*", Count: 0}, "full PUNSUBSCRIBE")
		// With nothing left, an UNSUBSCRIBE still answers once, with a nil channel.
		must(psc.Unsubscribe(), "unsubscribe with nothing subscribed")
		eq(recv(psc), redis.Subscription{Kind: "unsubscribe", Channel: "", Count: 0}, "empty UNSUBSCRIBE")
		// Out of subscribe mode the connection takes ordinary commands again.
		s, err := redis.String(psc.Conn.Do("PING"))
		must(err, "PING after unsubscribing")
		eq(s, "PONG", "PING after unsubscribing")
	})

	add("PING while subscribed", func(t *T) {
		c := dial(t, port)
		psc := redis.PubSubConn{Conn: dial(t, port)}
		must(psc.Subscribe("go.ping"), "subscribe")
		recv(psc)
		must(psc.Ping(""), "ping")
		eq(recv(psc), redis.Pong{Data: ""}, "PING \"\"")
		must(psc.Ping("hello"), "ping")
		eq(recv(psc), redis.Pong{Data: "hello"}, "PING hello")
		eq(publish(c, "go.ping", "after"), 1, "PUBLISH")
		eq(recv(psc), redis.Message{Channel: "go.ping", Data: []byte("after")}, "message after PING")
	})

	add("SSUBSCRIBE / SPUBLISH / SUNSUBSCRIBE (raw commands)", func(t *T) {
		c := dial(t, port)
		sc := dial(t, port)
		must(sc.Send("SSUBSCRIBE", "go.sh.a", "go.sh.b"), "send")
		must(sc.Flush(), "flush")
		next := func() []interface{} {
			v, err := redis.Values(redis.ReceiveWithTimeout(sc, wait))
			must(err, "receive")
			return v
		}
		eq(next(), []interface{}{[]byte("ssubscribe"), []byte("go.sh.a"), int64(1)}, "ssubscribe a")
		eq(next(), []interface{}{[]byte("ssubscribe"), []byte("go.sh.b"), int64(2)}, "ssubscribe b")
		n, err := redis.Int(c.Do("SPUBLISH", "go.sh.b", "shard\x00"))
		must(err, "SPUBLISH")
		eq(n, 1, "SPUBLISH receivers")
		eq(publish(c, "go.sh.b", "not shard"), 0, "PUBLISH to a shard channel name")
		eq(next(), []interface{}{[]byte("smessage"), []byte("go.sh.b"), []byte("shard\x00")}, "smessage")
		must(sc.Send("SUNSUBSCRIBE"), "send")
		must(sc.Flush(), "flush")
		got := map[string]int64{}
		for i := 0; i < 2; i++ {
			v := next()
			eq(string(v[0].([]byte)), "sunsubscribe", "kind")
			got[string(v[1].([]byte))] = v[2].(int64)
		}
		if len(got) != 2 || (got["go.sh.a"]+got["go.sh.b"]) != 1 {
			failf("SUNSUBSCRIBE replies: %v", got)
		}
	})

	add("PUBSUB CHANNELS/NUMSUB/NUMPAT/SHARDCHANNELS/SHARDNUMSUB", func(t *T) {
		c := dial(t, port)
		base, err := redis.Int(c.Do("PUBSUB", "NUMPAT"))
		must(err, "NUMPAT")
		s1 := redis.PubSubConn{Conn: dial(t, port)}
		s2 := redis.PubSubConn{Conn: dial(t, port)}
		must(s1.Subscribe("go.i.one", "go.i.two"), "sub")
		recv(s1)
		recv(s1)
		must(s2.Subscribe("go.i.two"), "sub")
		recv(s2)
		must(s2.PSubscribe("go.i.pat.*", "go.i.pat.?"), "psub")
		recv(s2)
		recv(s2)
		must(s2.Conn.Send("SSUBSCRIBE", "go.i.shard1"), "ssub")
		must(s2.Conn.Flush(), "flush")
		_, err = redis.ReceiveWithTimeout(s2.Conn, wait)
		must(err, "ssubscribe reply")
		chans, err := redis.Strings(c.Do("PUBSUB", "CHANNELS", "go.i.*"))
		must(err, "CHANNELS")
		sort.Strings(chans)
		eq(chans, []string{"go.i.one", "go.i.two"}, "PUBSUB CHANNELS")
		numsub, err := redis.Values(c.Do("PUBSUB", "NUMSUB", "go.i.one", "go.i.two", "go.i.none", "go.i.shard1"))
		must(err, "NUMSUB")
		eq(numsub, []interface{}{[]byte("go.i.one"), int64(1), []byte("go.i.two"), int64(2), []byte("go.i.none"), int64(0), []byte("go.i.shard1"), int64(0)}, "PUBSUB NUMSUB")
		np, err := redis.Int(c.Do("PUBSUB", "NUMPAT"))
		must(err, "NUMPAT")
		eq(np, base+2, "PUBSUB NUMPAT")
		sch, err := redis.Strings(c.Do("PUBSUB", "SHARDCHANNELS", "go.i.*"))
		must(err, "SHARDCHANNELS")
		eq(sch, []string{"go.i.shard1"}, "PUBSUB SHARDCHANNELS")
		snum, err := redis.Values(c.Do("PUBSUB", "SHARDNUMSUB", "go.i.shard1", "go.i.one"))
		must(err, "SHARDNUMSUB")
		eq(snum, []interface{}{[]byte("go.i.shard1"), int64(1), []byte("go.i.one"), int64(0)}, "PUBSUB SHARDNUMSUB")
	})

	add("password auth: AUTH, wrong password, NOAUTH", func(t *T) {
		p := ctl("start", "go-auth", "auto", "pw 3")
		t.Defer(func() { ctl("stop", "go-auth") })
		c := dial(t, p, redis.DialPassword("pw 3"))
		psc := redis.PubSubConn{Conn: dial(t, p, redis.DialPassword("pw 3"))}
		must(psc.Subscribe("go.auth"), "subscribe")
		eq(recv(psc), redis.Subscription{Kind: "subscribe", Channel: "go.auth", Count: 1}, "confirmation")
		eq(publish(c, "go.auth", "m"), 1, "PUBLISH")
		eq(recv(psc), redis.Message{Channel: "go.auth", Data: []byte("m")}, "message")
		_, err := redis.Dial("tcp", host+":"+p, redis.DialPassword("wrong"), redis.DialConnectTimeout(wait), redis.DialReadTimeout(wait))
		if err == nil || !strings.HasPrefix(err.Error(), "WRONGPASS") {
			failf("dial with wrong password: expected WRONGPASS, got %v", err)
		}
		anon := dial(t, p)
		_, err = anon.Do("PUBLISH", "go.auth", "x")
		if err == nil || err.Error() != "NOAUTH Authentication required." {
			failf("unauthenticated PUBLISH: expected NOAUTH, got %v", err)
		}
	})

	add("user redial loop resubscribes after the server restarts on the same port", func(t *T) {
		p := ctl("start", "go-restart")
		t.Defer(func() { ctl("stop", "go-restart") })
		msgs := make(chan redis.Message, 16)
		subscribed := make(chan struct{}, 16)
		done := make(chan struct{})
		var mu sync.Mutex
		var cur redis.Conn
		stopped := false
		t.Defer(func() {
			mu.Lock()
			stopped = true
			if cur != nil {
				cur.Close() // unblocks Receive
			}
			mu.Unlock()
			<-done
		})
		// The loop redigo users write: dial, subscribe, Receive until an error, redial.
		go func() {
			defer close(done)
			for attempt := 0; attempt < 400; attempt++ {
				c, err := redis.Dial("tcp", host+":"+p, redis.DialConnectTimeout(time.Second))
				mu.Lock()
				if stopped {
					mu.Unlock()
					if err == nil {
						c.Close()
					}
					return
				}
				if err != nil {
					mu.Unlock()
					time.Sleep(50 * time.Millisecond)
					continue
				}
				cur = c
				mu.Unlock()
				psc := redis.PubSubConn{Conn: c}
				psc.Subscribe("go.rs.a", "go.rs.b")
				psc.PSubscribe("go.rs.p.*")
			receive:
				for {
					switch v := psc.Receive().(type) {
					case redis.Message:
						msgs <- v
					case redis.Subscription:
						if v.Count == 3 {
							subscribed <- struct{}{}
						}
					case error:
						break receive
					}
				}
				c.Close()
			}
		}()
		waitFor := func(what string) {
			select {
			case <-subscribed:
			case <-time.After(20 * time.Second):
				failf("timed out waiting for %s", what)
			}
		}
		waitFor("first subscription")
		ctl("restart", "go-restart")
		waitFor("resubscription after restart")
		c := dial(t, p)
		eq(publish(c, "go.rs.b", "back"), 1, "PUBLISH after restart")
		eq(publish(c, "go.rs.p.x", "pback"), 1, "PUBLISH pattern after restart")
		for _, want := range []redis.Message{{Channel: "go.rs.b", Data: []byte("back")}, {Pattern: "go.rs.p.*", Channel: "go.rs.p.x", Data: []byte("pback")}} {
			select {
			case m := <-msgs:
				eq(m, want, "message after restart")
			case <-time.After(wait):
				failf("timed out waiting for %v", want)
			}
		}
	})

	add("10 subscribers x 500 messages from 5 publishers", func(t *T) {
		const nSub, nPub, perPub = 10, 5, 100
		var wg sync.WaitGroup
		errs := make(chan string, nSub+nPub)
		for i := 0; i < nSub; i++ {
			psc := redis.PubSubConn{Conn: dial(t, port)}
			must(psc.Subscribe("go.fan"), "subscribe")
			eq(recv(psc), redis.Subscription{Kind: "subscribe", Channel: "go.fan", Count: 1}, "confirmation")
			wg.Add(1)
			go func(i int, psc redis.PubSubConn) {
				defer wg.Done()
				last := make([]int, nPub)
				for k := range last {
					last[k] = -1
				}
				for n := 0; n < nPub*perPub; n++ {
					m, ok := psc.ReceiveWithTimeout(20 * time.Second).(redis.Message)
					if !ok {
						errs <- fmt.Sprintf("sub %d: receive failed after %d messages", i, n)
						return
					}
					var k, seq int
					fmt.Sscanf(string(m.Data), "%d:%d", &k, &seq)
					if seq != last[k]+1 {
						errs <- fmt.Sprintf("sub %d: publisher %d seq %d after %d", i, k, seq, last[k])
						return
					}
					last[k] = seq
				}
			}(i, psc)
		}
		for k := 0; k < nPub; k++ {
			c := dial(t, port)
			wg.Add(1)
			go func(k int, c redis.Conn) {
				defer wg.Done()
				for seq := 0; seq < perPub; seq++ {
					n, err := redis.Int(c.Do("PUBLISH", "go.fan", fmt.Sprintf("%d:%d", k, seq)))
					if err != nil || n != nSub {
						errs <- fmt.Sprintf("publisher %d: PUBLISH -> %d, %v", k, n, err)
						return
					}
				}
			}(k, c)
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			failf("%s", e)
		}
	})
}

func main() {
	h.Main("redigo", "redigo (github.com/gomodule/redigo, see go.mod)")
}
