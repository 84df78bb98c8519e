// go-redis v9 against the server under test, used the way its users use it:
// redis.NewClient, client.Subscribe/PSubscribe/SSubscribe returning a *redis.PubSub,
// read with Receive/ReceiveTimeout/ReceiveMessage or PubSub.Channel() (which pings on
// its own to check the connection), automatic reconnect and resubscribe, RESP2 and RESP3
// (Options.Protocol), passwords, and the handshake go-redis sends on every connection.
//
// Prints `go-redis: N passed, M failed` last; exits 1 on any failure.
// Environment (set by ../../run.sh): CLIENTS_HOST, CLIENTS_PORT, CLIENTS_CTL, and for
// TLS CLIENTS_TLS_PORT and CLIENTS_TLS_DIR (certificates made by ../../tls-certs.sh).
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	h "respub/tests/clients/go/internal/harness"
)

var (
	failf = h.Failf
	eq    = h.Eq
	must  = h.Must
)

// ctx bounds one call; every call also has the client's own socket timeouts.
func ctx() context.Context {
	c, cancel := context.WithTimeout(context.Background(), h.Wait)
	_ = cancel // released by the timer; a check never makes more than a few thousand
	return c
}

func client(t *h.T, addr string, proto int, opts ...func(*redis.Options)) *redis.Client {
	o := &redis.Options{
		Addr: addr, Protocol: proto,
		DialTimeout: h.Wait, ReadTimeout: h.Wait, WriteTimeout: h.Wait,
	}
	for _, f := range opts {
		f(o)
	}
	c := redis.NewClient(o)
	t.Defer(func() { c.Close() })
	return c
}

func subscribe(t *h.T, ps *redis.PubSub) *redis.PubSub {
	t.Defer(func() { ps.Close() })
	return ps
}

// recv is ReceiveTimeout that fails the check on error or timeout.
func recv(ps *redis.PubSub) interface{} {
	v, err := ps.ReceiveTimeout(context.Background(), h.Wait)
	must(err, "receive")
	return v
}

func sub(kind, ch string, n int) *redis.Subscription {
	return &redis.Subscription{Kind: kind, Channel: ch, Count: n}
}

func msg(ch, payload string) *redis.Message {
	return &redis.Message{Channel: ch, Payload: payload}
}

func publish(c *redis.Client, ch string, m interface{}) int64 {
	n, err := c.Publish(ctx(), ch, m).Result()
	must(err, "PUBLISH "+ch)
	return n
}

// fromChan waits for one message from PubSub.Channel().
func fromChan(ch <-chan *redis.Message, what string) *redis.Message {
	select {
	case m, ok := <-ch:
		if !ok {
			failf("%s: channel closed", what)
		}
		return m
	case <-time.After(h.Wait):
		failf("%s: no message within %v", what, h.Wait)
	}
	return nil
}

// waitNumSub polls PUBSUB NUMSUB until ch has n subscribers (bounded).
func waitNumSub(c *redis.Client, ch string, n int64) {
	deadline := time.Now().Add(h.Wait)
	for {
		got, err := c.PubSubNumSub(ctx(), ch).Result()
		must(err, "PUBSUB NUMSUB")
		if got[ch] == n {
			return
		}
		if time.Now().After(deadline) {
			failf("PUBSUB NUMSUB %s stayed %d, expected %d", ch, got[ch], n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func protoName(p int) string { return fmt.Sprintf("RESP%d", p) }

// hasCommand reports whether one of cmds starts with prefix (case-insensitive).
func hasCommand(cmds []string, prefix string) bool {
	for _, c := range cmds {
		if strings.HasPrefix(strings.ToUpper(c), strings.ToUpper(prefix)) {
			return true
		}
	}
	return false
}

func main() {
	for _, p := range []int{2, 3} {
		addProtocolChecks(p)
	}
	addChecks()
	addTLSChecks()
	h.Main("go-redis", "go-redis v9 (github.com/redis/go-redis/v9, see go.mod)")
}

func addProtocolChecks(proto int) {
	P := " (" + protoName(proto) + ")"

	h.Add("handshake: HELLO, CLIENT SETINFO, MAINT_NOTIFICATIONS keep the connection"+P, func(t *h.T) {
		px := h.StartProxy(t, h.Addr())
		c := client(t, px.Addr(), proto, func(o *redis.Options) { o.PoolSize = 1 })
		s, err := c.Ping(ctx()).Result()
		must(err, "PING after the handshake")
		eq(s, "PONG", "PING")
		eq(publish(c, "gr.hs.nobody", "m"), int64(0), "PUBLISH without subscribers")
		cmds := px.Commands()
		fmt.Printf("     %s handshake: %q\n", protoName(proto), cmds)
		if !hasCommand(cmds, fmt.Sprintf("HELLO %d", proto)) {
			failf("expected HELLO %d first, client sent %q", proto, cmds)
		}
		if !hasCommand(cmds, "CLIENT SETINFO LIB-NAME go-redis") || !hasCommand(cmds, "CLIENT SETINFO LIB-VER") {
			failf("expected CLIENT SETINFO LIB-NAME/LIB-VER, client sent %q", cmds)
		}
		if proto == 3 && !hasCommand(cmds, "CLIENT MAINT_NOTIFICATIONS ON") {
			failf("expected CLIENT MAINT_NOTIFICATIONS ON with RESP3, client sent %q", cmds)
		}
		// Every handshake reply was taken well enough to keep the one connection.
		eq(px.Conns(), 1, "connections opened (a handshake error makes go-redis redial)")
		ps := subscribe(t, c.Subscribe(ctx(), "gr.hs"))
		eq(recv(ps), sub("subscribe", "gr.hs", 1), "subscribe through the proxy")
		eq(publish(c, "gr.hs", "after handshake"), int64(1), "PUBLISH")
		eq(recv(ps), msg("gr.hs", "after handshake"), "message")
	})

	h.Add("Subscribe several channels, confirmations and messages in order"+P, func(t *h.T) {
		pub := client(t, h.Addr(), proto)
		c := client(t, h.Addr(), proto)
		chans := []string{"gr.s.a", "gr.s.b", "gr.s.c"}
		ps := subscribe(t, c.Subscribe(ctx(), chans...))
		for i, ch := range chans {
			eq(recv(ps), sub("subscribe", ch, i+1), "confirmation")
		}
		order := []string{"gr.s.c", "gr.s.a", "gr.s.b", "gr.s.a"}
		for _, ch := range order {
			eq(publish(pub, ch, "to "+ch), int64(1), "PUBLISH "+ch)
		}
		for _, ch := range order {
			eq(recv(ps), msg(ch, "to "+ch), "message")
		}
	})

	h.Add("PSubscribe * ? [a-c] patterns"+P, func(t *h.T) {
		pub := client(t, h.Addr(), proto)
		c := client(t, h.Addr(), proto)
		pats := []string{"gr.g.*", "gr.g.?", "gr.g.[a-c]x"}
		ps := subscribe(t, c.PSubscribe(ctx(), pats...))
		for i, p := range pats {
			eq(recv(ps), sub("psubscribe", p, i+1), "confirmation")
		}
		cases := []struct {
			ch   string
			pats []string
		}{
			{"gr.g.b", []string{"gr.g.*", "gr.g.?"}},
			{"gr.g.bx", []string{"gr.g.*", "gr.g.[a-c]x"}},
			{"gr.g.dx", []string{"gr.g.*"}},
			{"gr.g.a:b.c", []string{"gr.g.*"}},
			{"gr.h.b", nil},
		}
		for _, tc := range cases {
			eq(publish(pub, tc.ch, tc.ch), int64(len(tc.pats)), "PUBLISH "+tc.ch)
			var got []string
			for range tc.pats {
				m, ok := recv(ps).(*redis.Message)
				if !ok || m.Channel != tc.ch || m.Payload != tc.ch {
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

	h.Add("SSubscribe / SPublish / SUnsubscribe"+P, func(t *h.T) {
		pub := client(t, h.Addr(), proto)
		c := client(t, h.Addr(), proto)
		ps := subscribe(t, c.SSubscribe(ctx(), "gr.sh.a", "gr.sh.b"))
		eq(recv(ps), sub("ssubscribe", "gr.sh.a", 1), "ssubscribe a")
		eq(recv(ps), sub("ssubscribe", "gr.sh.b", 2), "ssubscribe b")
		n, err := pub.SPublish(ctx(), "gr.sh.b", "shard\x00").Result()
		must(err, "SPUBLISH")
		eq(n, int64(1), "SPUBLISH receivers")
		eq(publish(pub, "gr.sh.b", "not shard"), int64(0), "PUBLISH to a shard channel name")
		eq(recv(ps), msg("gr.sh.b", "shard\x00"), "smessage")
		must(ps.SUnsubscribe(ctx(), "gr.sh.a"), "sunsubscribe")
		eq(recv(ps), sub("sunsubscribe", "gr.sh.a", 1), "partial SUNSUBSCRIBE")
		n, err = pub.SPublish(ctx(), "gr.sh.a", "gone").Result()
		must(err, "SPUBLISH")
		eq(n, int64(0), "SPUBLISH to the dropped shard channel")
	})

	h.Add("ReceiveTimeout times out, then the same connection still delivers"+P, func(t *h.T) {
		px := h.StartProxy(t, h.Addr())
		pub := client(t, h.Addr(), proto)
		c := client(t, px.Addr(), proto)
		ps := subscribe(t, c.Subscribe(ctx(), "gr.rt"))
		eq(recv(ps), sub("subscribe", "gr.rt", 1), "confirmation")
		start := time.Now()
		v, err := ps.ReceiveTimeout(context.Background(), 300*time.Millisecond)
		var ne net.Error
		if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
			failf("ReceiveTimeout with nothing published: expected a timeout error, got %#v, %v", v, err)
		}
		if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
			failf("ReceiveTimeout(300ms) returned after %v", d)
		}
		eq(publish(pub, "gr.rt", "late"), int64(1), "PUBLISH after the timeout")
		eq(recv(ps), msg("gr.rt", "late"), "message after the timeout")
		eq(px.Conns(), 1, "connections (a timeout must not make go-redis redial)")
	})

	h.Add("ReceiveMessage skips confirmations and pongs"+P, func(t *h.T) {
		pub := client(t, h.Addr(), proto)
		c := client(t, h.Addr(), proto)
		ps := subscribe(t, c.Subscribe(ctx(), "gr.rm.a", "gr.rm.b"))
		waitNumSub(pub, "gr.rm.b", 1)
		must(ps.Ping(ctx(), "x"), "PING")
		eq(publish(pub, "gr.rm.b", "one"), int64(1), "PUBLISH")
		eq(publish(pub, "gr.rm.a", "two"), int64(1), "PUBLISH")
		for _, want := range []*redis.Message{msg("gr.rm.b", "one"), msg("gr.rm.a", "two")} {
			m, err := ps.ReceiveMessage(ctx())
			must(err, "ReceiveMessage")
			eq(m, want, "ReceiveMessage")
		}
	})

	h.Add("PING while subscribed"+P, func(t *h.T) {
		pub := client(t, h.Addr(), proto)
		c := client(t, h.Addr(), proto)
		ps := subscribe(t, c.Subscribe(ctx(), "gr.ping"))
		eq(recv(ps), sub("subscribe", "gr.ping", 1), "confirmation")
		must(ps.Ping(ctx()), "ping")
		// Redis answers a subscribed RESP2 client ["pong", ""]; RESP3 clients get +PONG.
		want := &redis.Pong{Payload: ""}
		if proto == 3 {
			want = &redis.Pong{Payload: "PONG"}
		}
		eq(recv(ps), want, "PING without argument")
		must(ps.Ping(ctx(), "hello"), "ping hello")
		eq(recv(ps), &redis.Pong{Payload: "hello"}, "PING hello")
		eq(publish(pub, "gr.ping", "after"), int64(1), "PUBLISH")
		eq(recv(ps), msg("gr.ping", "after"), "message after PING")
	})

	h.Add("Channel() health-check PINGs are answered, messages keep flowing"+P, func(t *h.T) {
		px := h.StartProxy(t, h.Addr())
		pub := client(t, h.Addr(), proto)
		c := client(t, px.Addr(), proto)
		ps := subscribe(t, c.Subscribe(ctx(), "gr.hc"))
		ch := ps.Channel(redis.WithChannelHealthCheckInterval(100*time.Millisecond), redis.WithChannelPingTimeout(time.Second))
		waitNumSub(pub, "gr.hc", 1)
		for i := 0; i < 4; i++ {
			time.Sleep(350 * time.Millisecond) // idle: go-redis pings every 100 ms
			payload := fmt.Sprintf("across ping %d", i)
			eq(publish(pub, "gr.hc", payload), int64(1), "PUBLISH")
			eq(fromChan(ch, payload), msg("gr.hc", payload), "message through Channel()")
		}
		pings := 0
		for _, cmd := range px.Commands() {
			if strings.EqualFold(cmd, "ping") {
				pings++
			}
		}
		replies := px.Replied()
		pongs := bytes.Count(replies, []byte("$4\r\npong\r\n")) + bytes.Count(replies, []byte("+PONG\r\n"))
		if pings < 4 {
			failf("go-redis sent %d health-check PINGs in 1.4 s idle at a 100 ms interval, expected >= 4", pings)
		}
		if pongs < pings-1 {
			failf("%d health-check PINGs, only %d pong replies", pings, pongs)
		}
		eq(px.Conns(), 1, "connections (a failed health check makes go-redis reconnect)")
	})

	h.Add("binary channel, binary, empty and 1 MiB payloads"+P, func(t *h.T) {
		pub := client(t, h.Addr(), proto)
		c := client(t, h.Addr(), proto)
		chName := "gr.bin\x00\r\nch"
		ps := subscribe(t, c.Subscribe(ctx(), chName))
		eq(recv(ps), sub("subscribe", chName, 1), "confirmation")
		big := make([]byte, 1<<20)
		for i := range big {
			big[i] = byte(i * 31)
		}
		payloads := [][]byte{[]byte("a\x00b\r\nc\r\n"), {}, []byte("*3\r\n$7\r\nmessage\r\n"), []byte(">3\r\n+PONG\r\n"), big, {0xff, 0}}
		for _, p := range payloads {
			eq(publish(pub, chName, p), int64(1), "PUBLISH binary")
		}
		for _, p := range payloads {
			m, ok := recv(ps).(*redis.Message)
			if !ok || m.Channel != chName || m.Payload != string(p) {
				failf("payload of %d bytes did not come back equal (ok=%v)", len(p), ok)
			}
		}
	})

	h.Add("Unsubscribe / PUnsubscribe counts, then normal commands"+P, func(t *h.T) {
		pub := client(t, h.Addr(), proto)
		c := client(t, h.Addr(), proto)
		ps := subscribe(t, c.Subscribe(ctx(), "gr.u.a", "gr.u.b", "gr.u.c"))
		must(ps.PSubscribe(ctx(), "gr.u.p1.*", "gr.u.p2.*"), "psubscribe")
		for i, want := range []*redis.Subscription{
			sub("subscribe", "gr.u.a", 1), sub("subscribe", "gr.u.b", 2), sub("subscribe", "gr.u.c", 3),
			sub("psubscribe", "gr.u.p1.*", 4), sub("psubscribe", "gr.u.p2.*", 5),
		} {
			eq(recv(ps), want, fmt.Sprintf("confirmation %d", i))
		}
		must(ps.Unsubscribe(ctx(), "gr.u.b"), "unsubscribe")
		eq(recv(ps), sub("unsubscribe", "gr.u.b", 4), "partial UNSUBSCRIBE")
		must(ps.PUnsubscribe(ctx(), "gr.u.p1.*"), "punsubscribe")
		eq(recv(ps), sub("punsubscribe", "gr.u.p1.*", 3), "partial PUNSUBSCRIBE")
		eq(publish(pub, "gr.u.b", "x"), int64(0), "dropped channel")
		eq(publish(pub, "gr.u.p1.x", "x"), int64(0), "dropped pattern")
		eq(publish(pub, "gr.u.p2.x", "y"), int64(1), "kept pattern")
		eq(recv(ps), &redis.Message{Pattern: "gr.u.p2.*", Channel: "gr.u.p2.x", Payload: "y"}, "pmessage")
		must(ps.Unsubscribe(ctx()), "unsubscribe all")
		var chans []string
		var counts []int
		for i := 0; i < 2; i++ {
			s, ok := recv(ps).(*redis.Subscription)
			if !ok || s.Kind != "unsubscribe" {
				failf("expected an unsubscribe reply, got %#v", s)
			}
			chans, counts = append(chans, s.Channel), append(counts, s.Count)
		}
		sort.Strings(chans)
		sort.Ints(counts)
		eq(chans, []string{"gr.u.a", "gr.u.c"}, "full UNSUBSCRIBE channels")
		eq(counts, []int{1, 2}, "full UNSUBSCRIBE counts")
		must(ps.PUnsubscribe(ctx()), "punsubscribe all")
		eq(recv(ps), sub("punsubscribe", "gr.u.p2.*", 0), "full PUNSUBSCRIBE")
		must(ps.Unsubscribe(ctx()), "unsubscribe with nothing subscribed")
		eq(recv(ps), sub("unsubscribe", "", 0), "UNSUBSCRIBE with nothing left")
		eq(publish(pub, "gr.u.a", "x"), int64(0), "PUBLISH after unsubscribing all")
		// The client's pool is unaffected by the PubSub's connection.
		s, err := c.Ping(ctx()).Result()
		must(err, "PING on the client")
		eq(s, "PONG", "PING on the client")
	})

	h.Add("publish right after Subscribe, without waiting for the confirmation"+P, func(t *h.T) {
		pub := client(t, h.Addr(), proto)
		c := client(t, h.Addr(), proto)
		// go-redis's Subscribe returns once SUBSCRIBE is written, before the reply: the
		// next PUBLISH from another connection must already count this subscriber.
		for i := 0; i < 20; i++ {
			ch := fmt.Sprintf("gr.race.%d", i)
			ps := subscribe(t, c.Subscribe(ctx(), ch))
			eq(publish(pub, ch, "first"), int64(1), fmt.Sprintf("PUBLISH %s right after Subscribe", ch))
			m, err := ps.ReceiveMessage(ctx())
			must(err, "ReceiveMessage")
			eq(m, msg(ch, "first"), "message published right after Subscribe")
			ps.Close()
		}
	})
}

func addChecks() {
	h.Add("publish right after a raw SUBSCRIBE write on another connection", func(t *h.T) {
		pub := client(t, h.Addr(), 3)
		for i := 0; i < 20; i++ {
			ch := fmt.Sprintf("gr.rawrace.%d", i)
			conn, err := net.DialTimeout("tcp", h.Addr(), h.Wait)
			must(err, "dial")
			t.Defer(func() { conn.Close() })
			// One round trip first: until the server has accepted the connection, bytes
			// written to it wait in the kernel, and redis-server answers a PUBLISH on an
			// older connection before it even sees them.
			conn.SetDeadline(time.Now().Add(h.Wait))
			_, err = conn.Write([]byte("PING\r\n"))
			must(err, "write PING")
			pong := make([]byte, len("+PONG\r\n"))
			_, err = ioReadFull(conn, pong)
			must(err, "read PONG")
			eq(string(pong), "+PONG\r\n", "PING")
			_, err = fmt.Fprintf(conn, "*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n", len(ch), ch)
			must(err, "write SUBSCRIBE")
			if n := publish(pub, ch, "m"); n != 1 {
				// Show what the subscriber got, to tell a late SUBSCRIBE from a lost message.
				conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
				buf := make([]byte, 4096)
				k, _ := conn.Read(buf)
				failf("conn A wrote %q, then conn B's PUBLISH %s answered %d (expected 1); conn A then received %q",
					fmt.Sprintf("*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n", len(ch), ch), ch, n, buf[:k])
			}
			want := fmt.Sprintf("*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n*3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$1\r\nm\r\n", len(ch), ch, len(ch), ch)
			got := make([]byte, len(want))
			_, err = ioReadFull(conn, got)
			must(err, "read confirmation and message")
			eq(string(got), want, "bytes on the subscribed connection")
		}
	})

	h.Add("PUBSUB NUMSUB / CHANNELS / NUMPAT / SHARDCHANNELS / SHARDNUMSUB", func(t *h.T) {
		c := client(t, h.Addr(), 3)
		base, err := c.PubSubNumPat(ctx()).Result()
		must(err, "NUMPAT")
		s1 := subscribe(t, client(t, h.Addr(), 2).Subscribe(ctx(), "gr.i.one", "gr.i.two"))
		recv(s1)
		recv(s1)
		c2 := client(t, h.Addr(), 3)
		s2 := subscribe(t, c2.Subscribe(ctx(), "gr.i.two"))
		recv(s2)
		must(s2.PSubscribe(ctx(), "gr.i.pat.*", "gr.i.pat.?"), "psubscribe")
		recv(s2)
		recv(s2)
		s3 := subscribe(t, c2.SSubscribe(ctx(), "gr.i.shard1"))
		recv(s3)
		chans, err := c.PubSubChannels(ctx(), "gr.i.*").Result()
		must(err, "CHANNELS")
		sort.Strings(chans)
		eq(chans, []string{"gr.i.one", "gr.i.two"}, "PUBSUB CHANNELS")
		numsub, err := c.PubSubNumSub(ctx(), "gr.i.one", "gr.i.two", "gr.i.none", "gr.i.shard1").Result()
		must(err, "NUMSUB")
		eq(numsub, map[string]int64{"gr.i.one": 1, "gr.i.two": 2, "gr.i.none": 0, "gr.i.shard1": 0}, "PUBSUB NUMSUB")
		np, err := c.PubSubNumPat(ctx()).Result()
		must(err, "NUMPAT")
		eq(np, base+2, "PUBSUB NUMPAT")
		sch, err := c.PubSubShardChannels(ctx(), "gr.i.*").Result()
		must(err, "SHARDCHANNELS")
		eq(sch, []string{"gr.i.shard1"}, "PUBSUB SHARDCHANNELS")
		snum, err := c.PubSubShardNumSub(ctx(), "gr.i.shard1", "gr.i.one").Result()
		must(err, "SHARDNUMSUB")
		eq(snum, map[string]int64{"gr.i.shard1": 1, "gr.i.one": 0}, "PUBSUB SHARDNUMSUB")
		// Closing a PubSub releases its subscriptions on the server.
		s1.Close()
		deadline := time.Now().Add(h.Wait)
		for {
			n, err := c.PubSubNumSub(ctx(), "gr.i.one").Result()
			must(err, "NUMSUB")
			if n["gr.i.one"] == 0 {
				break
			}
			if time.Now().After(deadline) {
				failf("gr.i.one still has %d subscribers after PubSub.Close", n["gr.i.one"])
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	h.Add("password: Options.Password (RESP2+RESP3), WRONGPASS, NOAUTH", func(t *h.T) {
		p := h.Ctl("start", "go-redis-auth", "auto", "pw go")
		t.Defer(func() { h.Ctl("stop", "go-redis-auth") })
		addr := h.Addr(p)
		for _, proto := range []int{2, 3} {
			withPw := func(o *redis.Options) { o.Password = "pw go" }
			pub := client(t, addr, proto, withPw)
			c := client(t, addr, proto, withPw)
			ch := "gr.auth." + protoName(proto)
			ps := subscribe(t, c.Subscribe(ctx(), ch))
			eq(recv(ps), sub("subscribe", ch, 1), "confirmation "+protoName(proto))
			eq(publish(pub, ch, "m"), int64(1), "PUBLISH "+protoName(proto))
			eq(recv(ps), msg(ch, "m"), "message "+protoName(proto))

			wrong := client(t, addr, proto, func(o *redis.Options) { o.Password = "wrong"; o.MaxRetries = -1 })
			err := wrong.Ping(ctx()).Err()
			if err == nil || !strings.Contains(err.Error(), "WRONGPASS invalid username-password pair or user is disabled.") {
				failf("%s, wrong password: expected WRONGPASS, got %v", protoName(proto), err)
			}
			anon := client(t, addr, proto, func(o *redis.Options) { o.MaxRetries = -1 })
			err = anon.Publish(ctx(), ch, "x").Err()
			if err == nil || err.Error() != "NOAUTH Authentication required." {
				failf("%s, no password: expected NOAUTH Authentication required., got %v", protoName(proto), err)
			}
		}
	})

	h.Add("automatic resubscribe (channels, patterns, shard channels) after a server restart", func(t *h.T) {
		p := h.Ctl("start", "go-redis-restart")
		t.Defer(func() { h.Ctl("stop", "go-redis-restart") })
		addr := h.Addr(p)
		for _, proto := range []int{2, 3} {
			c := client(t, addr, proto, func(o *redis.Options) { o.DialTimeout = time.Second })
			ps := subscribe(t, c.Subscribe(ctx(), "gr.rs.a", "gr.rs.b"))
			must(ps.PSubscribe(ctx(), "gr.rs.p.*"), "psubscribe")
			must(ps.SSubscribe(ctx(), "gr.rs.s"), "ssubscribe")
			all := ps.ChannelWithSubscriptions(redis.WithChannelHealthCheckInterval(200 * time.Millisecond))
			// waitSubscribed reads until all three kinds are confirmed again.
			waitSubscribed := func(what string) {
				seen := map[string]bool{}
				deadline := time.After(20 * time.Second)
				for len(seen) < 3 {
					select {
					case v := <-all:
						if s, ok := v.(*redis.Subscription); ok {
							if (s.Kind == "subscribe" && s.Count == 2) || (s.Kind == "psubscribe" && s.Count == 3) || s.Kind == "ssubscribe" {
								seen[s.Kind] = true
							}
						}
					case <-deadline:
						failf("%s %s: timed out, confirmed only %v", protoName(proto), what, seen)
					}
				}
			}
			waitSubscribed("first subscription")
			h.Ctl("restart", "go-redis-restart")
			waitSubscribed("resubscription after restart")
			pub := client(t, addr, proto)
			eq(publish(pub, "gr.rs.b", "back"), int64(1), "PUBLISH after restart")
			eq(publish(pub, "gr.rs.p.x", "pback"), int64(1), "PUBLISH to pattern after restart")
			n, err := pub.SPublish(ctx(), "gr.rs.s", "sback").Result()
			must(err, "SPUBLISH after restart")
			eq(n, int64(1), "SPUBLISH after restart")
			for _, want := range []*redis.Message{msg("gr.rs.b", "back"), {Pattern: "gr.rs.p.*", Channel: "gr.rs.p.x", Payload: "pback"}, msg("gr.rs.s", "sback")} {
				select {
				case v := <-all:
					eq(v, want, protoName(proto)+" message after restart")
				case <-time.After(h.Wait):
					failf("%s: timed out waiting for %v", protoName(proto), want)
				}
			}
			ps.Close()
		}
	})

	h.Add("10 subscribers (RESP2+RESP3, channel+pattern, Channel()) x 1,000 messages from 5 publishers", func(t *h.T) {
		const nSub, nPub, perPub = 10, 5, 200
		var wg sync.WaitGroup
		errs := make(chan string, nSub+nPub)
		for i := 0; i < nSub; i++ {
			c := client(t, h.Addr(), 2+i%2)
			var ps *redis.PubSub
			if i%3 == 2 {
				ps = subscribe(t, c.PSubscribe(ctx(), "gr.fa?"))
				eq(recv(ps), sub("psubscribe", "gr.fa?", 1), "confirmation")
			} else {
				ps = subscribe(t, c.Subscribe(ctx(), "gr.fan"))
				eq(recv(ps), sub("subscribe", "gr.fan", 1), "confirmation")
			}
			ch := ps.Channel(redis.WithChannelSize(nPub * perPub))
			wg.Add(1)
			go func(i int, ch <-chan *redis.Message) {
				defer wg.Done()
				last := make([]int, nPub)
				for k := range last {
					last[k] = -1
				}
				for n := 0; n < nPub*perPub; n++ {
					var m *redis.Message
					select {
					case m = <-ch:
					case <-time.After(20 * time.Second):
						errs <- fmt.Sprintf("sub %d: nothing after %d messages", i, n)
						return
					}
					var k, seq int
					fmt.Sscanf(m.Payload, "%d:%d", &k, &seq)
					if m.Channel != "gr.fan" || seq != last[k]+1 {
						errs <- fmt.Sprintf("sub %d: %s publisher %d seq %d after %d", i, m.Channel, k, seq, last[k])
						return
					}
					last[k] = seq
				}
			}(i, ch)
		}
		for k := 0; k < nPub; k++ {
			c := client(t, h.Addr(), 2+k%2)
			wg.Add(1)
			go func(k int, c *redis.Client) {
				defer wg.Done()
				for seq := 0; seq < perPub; seq++ {
					n, err := c.Publish(ctx(), "gr.fan", fmt.Sprintf("%d:%d", k, seq)).Result()
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

func ioReadFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, fmt.Errorf("after %d bytes %q: %w", n, b[:n], err)
		}
	}
	return n, nil
}

// TLS (issue 7): the same server's TLS port, with a tls.Config as go-redis users set
// Options.TLSConfig; a missing port or certificate directory fails the checks.
func tlsConfig(caFile string, withClientCert bool) *tls.Config {
	dir := os.Getenv("CLIENTS_TLS_DIR")
	pem, err := os.ReadFile(dir + "/" + caFile)
	must(err, "read "+caFile+" (CLIENTS_TLS_DIR)")
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		failf("no certificate in %s", caFile)
	}
	c := &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if withClientCert {
		cert, err := tls.LoadX509KeyPair(dir+"/client.crt", dir+"/client.key")
		must(err, "client certificate")
		c.Certificates = []tls.Certificate{cert}
	}
	return c
}

func tlsAddr() string {
	port := os.Getenv("CLIENTS_TLS_PORT")
	if port == "" {
		failf("CLIENTS_TLS_PORT is not set (run through tests/clients/run.sh)")
	}
	return h.Addr(port)
}

func addTLSChecks() {
	for _, proto := range []int{2, 3} {
		proto := proto
		P := " (" + protoName(proto) + ")"
		h.Add("TLS subscriber, plain publisher, 1 MiB message"+P, func(t *h.T) {
			sc := client(t, tlsAddr(), proto, func(o *redis.Options) { o.TLSConfig = tlsConfig("ca.crt", false) })
			pub := client(t, h.Addr(), proto)
			ps := subscribe(t, sc.Subscribe(ctx(), "gr.tls.a"))
			eq(recv(ps), sub("subscribe", "gr.tls.a", 1), "confirmation over TLS")
			big := bytes.Repeat([]byte("0123456789abcdef"), 64*1024)
			for _, m := range []string{"hello", string(big), "after"} {
				eq(publish(pub, "gr.tls.a", m), int64(1), "PUBLISH to a TLS subscriber")
				eq(recv(ps), msg("gr.tls.a", m), "delivery over TLS")
			}
		})
		h.Add("TLS publisher with a client certificate, 500 in order"+P, func(t *h.T) {
			pc := client(t, tlsAddr(), proto, func(o *redis.Options) { o.TLSConfig = tlsConfig("ca.crt", true) })
			c := client(t, h.Addr(), proto)
			ps := subscribe(t, c.Subscribe(ctx(), "gr.tls.b"))
			eq(recv(ps), sub("subscribe", "gr.tls.b", 1), "confirmation")
			for i := 0; i < 500; i++ {
				eq(publish(pc, "gr.tls.b", fmt.Sprintf("m%d", i)), int64(1), "PUBLISH over TLS")
			}
			for i := 0; i < 500; i++ {
				eq(recv(ps), msg("gr.tls.b", fmt.Sprintf("m%d", i)), "in order")
			}
		})
	}
	h.Add("TLS with the wrong CA fails verification", func(t *h.T) {
		c := client(t, tlsAddr(), 3, func(o *redis.Options) {
			o.TLSConfig = tlsConfig("other-ca.crt", false)
			o.MaxRetries = -1
		})
		err := c.Ping(ctx()).Err()
		var unknown x509.UnknownAuthorityError
		if err == nil || !errors.As(err, &unknown) {
			failf("expected x509.UnknownAuthorityError, got %v", err)
		}
	})
}
