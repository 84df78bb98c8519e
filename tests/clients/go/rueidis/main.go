// rueidis against the server under test, used the way its users use it: one
// rueidis.Client per process, RESP3 only, commands built with client.B() and
// auto-pipelined onto a shared connection when many goroutines call Do at once,
// pub/sub through client.Receive (the subscription shares that connection), and
// dedicated connections with SetPubSubHooks.
//
// Client-side caching: rueidis turns it on by default and then sends
// `CLIENT TRACKING ON OPTIN` on every connection; a server without tracking makes
// NewClient fail with rueidis.ErrNoCache. respub has no CLIENT TRACKING, so every client
// here sets ClientOption.DisableCache, which is what rueidis documents for servers
// without client-side caching. The same option is used against redis-server.
//
// Prints `rueidis: N passed, M failed` last; exits 1 on any failure.
// Environment (set by ../../run.sh): CLIENTS_HOST, CLIENTS_PORT, CLIENTS_CTL.
package main

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"

	h "respub/tests/clients/go/internal/harness"
)

var (
	failf = h.Failf
	eq    = h.Eq
	must  = h.Must
)

func ctx() context.Context {
	c, cancel := context.WithTimeout(context.Background(), h.Wait)
	_ = cancel // released by its timer
	return c
}

func client(t *h.T, addr string, opts ...func(*rueidis.ClientOption)) rueidis.Client {
	o := rueidis.ClientOption{
		InitAddress:      []string{addr},
		DisableCache:     true,
		ConnWriteTimeout: h.Wait,
		Dialer:           dialer(),
	}
	for _, f := range opts {
		f(&o)
	}
	c, err := rueidis.NewClient(o)
	must(err, "rueidis.NewClient")
	t.Defer(c.Close)
	return c
}

func dialer() net.Dialer { return net.Dialer{Timeout: h.Wait} }

func publish(c rueidis.Client, ch, m string) int64 {
	n, err := c.Do(ctx(), c.B().Publish().Channel(ch).Message(m).Build()).AsInt64()
	must(err, "PUBLISH "+ch)
	return n
}

// receiver runs client.Receive in the background the way users do and hands what the
// handler and the subscription hook see to the check.
type receiver struct {
	msgs chan rueidis.PubSubMessage
	subs chan rueidis.PubSubSubscription
	done chan struct{} // closed when Receive returned; err is its result
	err  error
}

func receive(t *h.T, c rueidis.Client, cmd rueidis.Completed) *receiver {
	r := &receiver{
		msgs: make(chan rueidis.PubSubMessage, 4096),
		subs: make(chan rueidis.PubSubSubscription, 64),
		done: make(chan struct{}),
	}
	base, cancel := context.WithCancel(context.Background())
	t.Defer(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(h.Wait):
		}
	})
	hctx := rueidis.WithOnSubscriptionHook(base, func(s rueidis.PubSubSubscription) { r.subs <- s })
	go func() {
		r.err = c.Receive(hctx, cmd, func(m rueidis.PubSubMessage) { r.msgs <- m })
		close(r.done)
	}()
	return r
}

func (r *receiver) sub(what string) rueidis.PubSubSubscription {
	select {
	case s := <-r.subs:
		return s
	case <-r.done:
		// The hook runs before Receive returns, so an event may be buffered while done
		// is closed too; select picks at random among ready cases, so look again.
		select {
		case s := <-r.subs:
			return s
		default:
		}
		failf("%s: Receive returned %v", what, r.err)
	case <-time.After(h.Wait):
		failf("%s: no subscription event within %v", what, h.Wait)
	}
	return rueidis.PubSubSubscription{}
}

func (r *receiver) msg(what string) rueidis.PubSubMessage {
	select {
	case m := <-r.msgs:
		return m
	case <-r.done:
		select { // as in sub: a buffered message wins over Receive having returned
		case m := <-r.msgs:
			return m
		default:
		}
		failf("%s: Receive returned %v", what, r.err)
	case <-time.After(h.Wait):
		failf("%s: no message within %v", what, h.Wait)
	}
	return rueidis.PubSubMessage{}
}

// returned waits for Receive to return and gives its error.
func (r *receiver) returned(what string) error {
	select {
	case <-r.done:
		return r.err
	case <-time.After(h.Wait):
		failf("%s: Receive did not return within %v", what, h.Wait)
	}
	return nil
}

func sub(kind, ch string, n int64) rueidis.PubSubSubscription {
	return rueidis.PubSubSubscription{Kind: kind, Channel: ch, Count: n}
}

func msg(ch, m string) rueidis.PubSubMessage { return rueidis.PubSubMessage{Channel: ch, Message: m} }

func main() {
	addChecks()
	h.Main("rueidis", "rueidis (github.com/redis/rueidis, see go.mod; DisableCache)")
}

func addChecks() {
	h.Add("handshake: HELLO 3, CLIENT SETINFO; PING and PUBLISH", func(t *h.T) {
		px := h.StartProxy(t, h.Addr())
		c := client(t, px.Addr())
		s, err := c.Do(ctx(), c.B().Ping().Build()).ToString()
		must(err, "PING")
		eq(s, "PONG", "PING")
		eq(publish(c, "rd.hs.nobody", "m"), int64(0), "PUBLISH without subscribers")
		cmds := px.Commands()
		fmt.Printf("     handshake: %q\n", cmds)
		if len(cmds) == 0 || cmds[0] != "HELLO 3" {
			failf("expected HELLO 3 first, client sent %q", cmds)
		}
		for _, want := range []string{"CLIENT SETINFO LIB-NAME rueidis", "CLIENT SETINFO LIB-VER"} {
			found := false
			for _, c := range cmds {
				found = found || strings.HasPrefix(c, want)
			}
			if !found {
				failf("expected %q, client sent %q", want, cmds)
			}
		}
		for _, c := range cmds {
			if strings.HasPrefix(c, "CLIENT TRACKING") {
				failf("DisableCache is set, yet the client sent %q", c)
			}
		}
	})

	h.Add("Receive SUBSCRIBE: confirmations, messages in order, UNSUBSCRIBE ends Receive", func(t *h.T) {
		pub := client(t, h.Addr())
		c := client(t, h.Addr())
		r := receive(t, c, c.B().Subscribe().Channel("rd.s.a", "rd.s.b", "rd.s.c").Build())
		for i, ch := range []string{"rd.s.a", "rd.s.b", "rd.s.c"} {
			eq(r.sub("confirmation"), sub("subscribe", ch, int64(i+1)), "confirmation")
		}
		order := []string{"rd.s.c", "rd.s.a", "rd.s.b", "rd.s.a"}
		for _, ch := range order {
			eq(publish(pub, ch, "to "+ch), int64(1), "PUBLISH "+ch)
		}
		for _, ch := range order {
			eq(r.msg("message"), msg(ch, "to "+ch), "message")
		}
		must(c.Do(ctx(), c.B().Unsubscribe().Channel("rd.s.b").Build()).Error(), "UNSUBSCRIBE rd.s.b")
		eq(r.sub("unsubscribe"), sub("unsubscribe", "rd.s.b", 2), "partial UNSUBSCRIBE")
		// Receive returns nil once its subscription is unsubscribed.
		eq(r.returned("after UNSUBSCRIBE"), nil, "Receive's result after UNSUBSCRIBE")
		eq(publish(pub, "rd.s.b", "x"), int64(0), "PUBLISH to the unsubscribed channel")
	})

	h.Add("Receive PSUBSCRIBE * ? [a-c]: pmessages with their pattern", func(t *h.T) {
		pub := client(t, h.Addr())
		c := client(t, h.Addr())
		pats := []string{"rd.g.*", "rd.g.?", "rd.g.[a-c]x"}
		r := receive(t, c, c.B().Psubscribe().Pattern(pats...).Build())
		for i, p := range pats {
			eq(r.sub("confirmation"), sub("psubscribe", p, int64(i+1)), "confirmation")
		}
		cases := []struct {
			ch   string
			pats []string
		}{
			{"rd.g.b", []string{"rd.g.*", "rd.g.?"}},
			{"rd.g.bx", []string{"rd.g.*", "rd.g.[a-c]x"}},
			{"rd.g.a:b.c", []string{"rd.g.*"}},
			{"rd.h.b", nil},
		}
		for _, tc := range cases {
			eq(publish(pub, tc.ch, tc.ch), int64(len(tc.pats)), "PUBLISH "+tc.ch)
			var got []string
			for range tc.pats {
				m := r.msg("pmessage")
				if m.Channel != tc.ch || m.Message != tc.ch {
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
		must(c.Do(ctx(), c.B().Punsubscribe().Pattern(pats...).Build()).Error(), "PUNSUBSCRIBE")
		eq(r.returned("after PUNSUBSCRIBE"), nil, "Receive's result after PUNSUBSCRIBE")
	})

	h.Add("Receive SSUBSCRIBE / SPUBLISH / SUNSUBSCRIBE", func(t *h.T) {
		pub := client(t, h.Addr())
		c := client(t, h.Addr())
		r := receive(t, c, c.B().Ssubscribe().Channel("rd.sh.a").Build())
		eq(r.sub("confirmation"), sub("ssubscribe", "rd.sh.a", 1), "confirmation")
		n, err := pub.Do(ctx(), pub.B().Spublish().Channel("rd.sh.a").Message("shard\x00").Build()).AsInt64()
		must(err, "SPUBLISH")
		eq(n, int64(1), "SPUBLISH receivers")
		eq(publish(pub, "rd.sh.a", "not shard"), int64(0), "PUBLISH to a shard channel name")
		eq(r.msg("smessage"), msg("rd.sh.a", "shard\x00"), "smessage")
		must(c.Do(ctx(), c.B().Sunsubscribe().Channel("rd.sh.a").Build()).Error(), "SUNSUBSCRIBE")
		eq(r.sub("sunsubscribe"), sub("sunsubscribe", "rd.sh.a", 0), "SUNSUBSCRIBE")
		eq(r.returned("after SUNSUBSCRIBE"), nil, "Receive's result after SUNSUBSCRIBE")
	})

	h.Add("RESP3: the subscribed client publishes and runs commands on the same client", func(t *h.T) {
		c := client(t, h.Addr())
		r := receive(t, c, c.B().Subscribe().Channel("rd.self").Build())
		eq(r.sub("confirmation"), sub("subscribe", "rd.self", 1), "confirmation")
		for i := 0; i < 5; i++ {
			m := fmt.Sprintf("self %d", i)
			eq(publish(c, "rd.self", m), int64(1), "PUBLISH from the subscribed client")
			eq(r.msg("own message"), msg("rd.self", m), "own message")
			s, err := c.Do(ctx(), c.B().Ping().Build()).ToString()
			must(err, "PING while subscribed")
			eq(s, "PONG", "PING while subscribed (RESP3 +PONG)")
		}
		numsub, err := c.Do(ctx(), c.B().PubsubNumsub().Channel("rd.self").Build()).AsIntMap()
		must(err, "PUBSUB NUMSUB")
		eq(numsub, map[string]int64{"rd.self": 1}, "PUBSUB NUMSUB")
	})

	h.Add("binary channel, binary, empty and 1 MiB payloads", func(t *h.T) {
		pub := client(t, h.Addr())
		c := client(t, h.Addr())
		chName := "rd.bin\x00\r\nch"
		r := receive(t, c, c.B().Subscribe().Channel(chName).Build())
		eq(r.sub("confirmation"), sub("subscribe", chName, 1), "confirmation")
		big := make([]byte, 1<<20)
		for i := range big {
			big[i] = byte(i * 31)
		}
		payloads := []string{"a\x00b\r\nc\r\n", "", "*3\r\n$7\r\nmessage\r\n", ">3\r\n+PONG\r\n", string(big), "\xff\x00"}
		for _, p := range payloads {
			eq(publish(pub, chName, p), int64(1), "PUBLISH binary")
		}
		for _, p := range payloads {
			m := r.msg("binary message")
			if m.Channel != chName || m.Message != p {
				failf("payload of %d bytes came back as %d bytes, not equal", len(p), len(m.Message))
			}
		}
	})

	h.Add("dedicated connection: SetPubSubHooks, subscription counts, UNSUBSCRIBE all", func(t *h.T) {
		pub := client(t, h.Addr())
		c := client(t, h.Addr())
		dc, release := c.Dedicate()
		t.Defer(release)
		msgs := make(chan rueidis.PubSubMessage, 16)
		subs := make(chan rueidis.PubSubSubscription, 16)
		wait := dc.SetPubSubHooks(rueidis.PubSubHooks{
			OnMessage:      func(m rueidis.PubSubMessage) { msgs <- m },
			OnSubscription: func(s rueidis.PubSubSubscription) { subs <- s },
		})
		nextSub := func() rueidis.PubSubSubscription {
			select {
			case s := <-subs:
				return s
			case <-time.After(h.Wait):
				failf("no subscription event within %v", h.Wait)
			}
			return rueidis.PubSubSubscription{}
		}
		for _, res := range dc.DoMulti(ctx(),
			dc.B().Subscribe().Channel("rd.d.a", "rd.d.b").Build(),
			dc.B().Psubscribe().Pattern("rd.d.p.*").Build()) {
			must(res.Error(), "SUBSCRIBE/PSUBSCRIBE")
		}
		eq(nextSub(), sub("subscribe", "rd.d.a", 1), "subscribe a")
		eq(nextSub(), sub("subscribe", "rd.d.b", 2), "subscribe b")
		eq(nextSub(), sub("psubscribe", "rd.d.p.*", 3), "psubscribe")
		eq(publish(pub, "rd.d.p.x", "pm"), int64(1), "PUBLISH to the pattern")
		select {
		case m := <-msgs:
			eq(m, rueidis.PubSubMessage{Pattern: "rd.d.p.*", Channel: "rd.d.p.x", Message: "pm"}, "pmessage")
		case <-time.After(h.Wait):
			failf("no pmessage")
		}
		must(dc.Do(ctx(), dc.B().Unsubscribe().Channel("rd.d.a").Build()).Error(), "UNSUBSCRIBE a")
		eq(nextSub(), sub("unsubscribe", "rd.d.a", 2), "partial UNSUBSCRIBE")
		must(dc.Do(ctx(), dc.B().Punsubscribe().Build()).Error(), "PUNSUBSCRIBE all")
		eq(nextSub(), sub("punsubscribe", "rd.d.p.*", 1), "PUNSUBSCRIBE all")
		must(dc.Do(ctx(), dc.B().Unsubscribe().Build()).Error(), "UNSUBSCRIBE all")
		eq(nextSub(), sub("unsubscribe", "rd.d.b", 0), "UNSUBSCRIBE all")
		eq(publish(pub, "rd.d.b", "x"), int64(0), "PUBLISH after unsubscribing all")
		s, err := dc.Do(ctx(), dc.B().Ping().Build()).ToString()
		must(err, "PING on the dedicated connection")
		eq(s, "PONG", "PING on the dedicated connection")
		release()
		select {
		case err := <-wait:
			if err != nil {
				failf("hooks ended with %v after release", err)
			}
		case <-time.After(h.Wait):
			failf("SetPubSubHooks channel not closed after release")
		}
	})

	h.Add("PUBSUB NUMSUB / CHANNELS / NUMPAT / SHARDNUMSUB", func(t *h.T) {
		c := client(t, h.Addr())
		base, err := c.Do(ctx(), c.B().PubsubNumpat().Build()).AsInt64()
		must(err, "NUMPAT")
		s1 := client(t, h.Addr())
		r1 := receive(t, s1, s1.B().Subscribe().Channel("rd.i.one", "rd.i.two").Build())
		r1.sub("confirmation")
		r1.sub("confirmation")
		s2 := client(t, h.Addr())
		r2 := receive(t, s2, s2.B().Subscribe().Channel("rd.i.two").Build())
		r2.sub("confirmation")
		r3 := receive(t, s2, s2.B().Psubscribe().Pattern("rd.i.pat.*").Build())
		r3.sub("confirmation")
		r4 := receive(t, s2, s2.B().Ssubscribe().Channel("rd.i.shard1").Build())
		r4.sub("confirmation")
		chans, err := c.Do(ctx(), c.B().PubsubChannels().Pattern("rd.i.*").Build()).AsStrSlice()
		must(err, "CHANNELS")
		sort.Strings(chans)
		eq(chans, []string{"rd.i.one", "rd.i.two"}, "PUBSUB CHANNELS")
		numsub, err := c.Do(ctx(), c.B().PubsubNumsub().Channel("rd.i.one", "rd.i.two", "rd.i.none", "rd.i.shard1").Build()).AsIntMap()
		must(err, "NUMSUB")
		eq(numsub, map[string]int64{"rd.i.one": 1, "rd.i.two": 2, "rd.i.none": 0, "rd.i.shard1": 0}, "PUBSUB NUMSUB")
		np, err := c.Do(ctx(), c.B().PubsubNumpat().Build()).AsInt64()
		must(err, "NUMPAT")
		eq(np, base+1, "PUBSUB NUMPAT")
		snum, err := c.Do(ctx(), c.B().PubsubShardnumsub().Channel("rd.i.shard1", "rd.i.one").Build()).AsIntMap()
		must(err, "SHARDNUMSUB")
		eq(snum, map[string]int64{"rd.i.shard1": 1, "rd.i.one": 0}, "PUBSUB SHARDNUMSUB")
	})

	h.Add("password: HELLO 3 AUTH, WRONGPASS, NOAUTH", func(t *h.T) {
		p := h.Ctl("start", "rueidis-auth", "auto", "pw rd")
		t.Defer(func() { h.Ctl("stop", "rueidis-auth") })
		addr := h.Addr(p)
		withPw := func(pw string) func(*rueidis.ClientOption) {
			return func(o *rueidis.ClientOption) { o.Password = pw }
		}
		px := h.StartProxy(t, addr)
		c := client(t, px.Addr(), withPw("pw rd"))
		pub := client(t, addr, withPw("pw rd"))
		r := receive(t, c, c.B().Subscribe().Channel("rd.auth").Build())
		eq(r.sub("confirmation"), sub("subscribe", "rd.auth", 1), "confirmation")
		eq(publish(pub, "rd.auth", "m"), int64(1), "PUBLISH")
		eq(r.msg("message"), msg("rd.auth", "m"), "message")
		if cmds := px.Commands(); len(cmds) == 0 || cmds[0] != "HELLO 3 AUTH default pw rd" {
			failf("expected HELLO 3 AUTH default <password> first, client sent %q", cmds)
		}
		_, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true, Password: "wrong", Dialer: dialer()})
		if err == nil || !strings.Contains(err.Error(), "WRONGPASS invalid username-password pair or user is disabled.") {
			failf("wrong password: expected WRONGPASS, got %v", err)
		}
		_, err = rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: true, Dialer: dialer()})
		if err == nil || !strings.HasPrefix(err.Error(), "NOAUTH HELLO must be called with the client already authenticated") {
			failf("no password: expected NOAUTH from HELLO, got %v", err)
		}
	})

	h.Add("Receive resubscribes after a server restart", func(t *h.T) {
		p := h.Ctl("start", "rueidis-restart")
		t.Defer(func() { h.Ctl("stop", "rueidis-restart") })
		addr := h.Addr(p)
		c := client(t, addr)
		rc := receive(t, c, c.B().Subscribe().Channel("rd.rs.a").Build())
		rp := receive(t, c, c.B().Psubscribe().Pattern("rd.rs.p.*").Build())
		// Both Receive calls share one connection, so the counts depend on which
		// subscription reached the server first.
		if s := rc.sub("first subscription"); s.Kind != "subscribe" || s.Channel != "rd.rs.a" {
			failf("expected the subscribe confirmation, got %#v", s)
		}
		if s := rp.sub("first subscription"); s.Kind != "psubscribe" || s.Channel != "rd.rs.p.*" {
			failf("expected the psubscribe confirmation, got %#v", s)
		}
		h.Ctl("restart", "rueidis-restart")
		// After the connection breaks, client.Receive retries: a new connection, the
		// same SUBSCRIBE / PSUBSCRIBE again.
		for _, r := range []*receiver{rc, rp} {
			deadline := time.After(20 * time.Second)
		wait:
			for {
				select {
				case s := <-r.subs:
					if s.Kind == "subscribe" || s.Kind == "psubscribe" {
						break wait
					}
				case <-r.done:
					failf("Receive returned %v instead of resubscribing", r.err)
				case <-deadline:
					failf("no resubscription within 20 s after the restart")
				}
			}
		}
		pub := client(t, addr)
		eq(publish(pub, "rd.rs.a", "back"), int64(1), "PUBLISH after restart")
		eq(rc.msg("message after restart"), msg("rd.rs.a", "back"), "message after restart")
		eq(publish(pub, "rd.rs.p.x", "pback"), int64(1), "PUBLISH to the pattern after restart")
		eq(rp.msg("pmessage after restart"), rueidis.PubSubMessage{Pattern: "rd.rs.p.*", Channel: "rd.rs.p.x", Message: "pback"}, "pmessage after restart")
	})

	h.Add("auto-pipelining: 50 goroutines publish on one client to 8 Receive subscribers, no loss, order per goroutine", func(t *h.T) {
		const nSub, nPub, perPub = 8, 50, 100
		px := h.StartProxy(t, h.Addr())
		pubc := client(t, px.Addr())
		var rs []*receiver
		for i := 0; i < nSub; i++ {
			c := client(t, h.Addr())
			var r *receiver
			if i%2 == 0 {
				r = receive(t, c, c.B().Subscribe().Channel("rd.fan").Build())
			} else {
				r = receive(t, c, c.B().Psubscribe().Pattern("rd.fa?").Build())
			}
			r.sub("confirmation")
			rs = append(rs, r)
		}
		var wg sync.WaitGroup
		errs := make(chan string, nSub+nPub)
		for _, r := range rs {
			wg.Add(1)
			go func(r *receiver) {
				defer wg.Done()
				last := make([]int, nPub)
				for k := range last {
					last[k] = -1
				}
				for n := 0; n < nPub*perPub; n++ {
					var m rueidis.PubSubMessage
					select {
					case m = <-r.msgs:
					case <-time.After(20 * time.Second):
						errs <- fmt.Sprintf("subscriber: nothing after %d messages", n)
						return
					}
					var k, seq int
					fmt.Sscanf(m.Message, "%d:%d", &k, &seq)
					if m.Channel != "rd.fan" || seq != last[k]+1 {
						errs <- fmt.Sprintf("subscriber: %s publisher %d seq %d after %d", m.Channel, k, seq, last[k])
						return
					}
					last[k] = seq
				}
			}(r)
		}
		for k := 0; k < nPub; k++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				for seq := 0; seq < perPub; seq++ {
					n, err := pubc.Do(context.Background(), pubc.B().Publish().Channel("rd.fan").Message(fmt.Sprintf("%d:%d", k, seq)).Build()).AsInt64()
					if err != nil || n != nSub {
						errs <- fmt.Sprintf("publisher %d: PUBLISH -> %d, %v", k, n, err)
						return
					}
				}
			}(k)
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			failf("%s", e)
		}
		// 50 goroutines waiting on their PUBLISH at once over a handful of connections:
		// rueidis pipelined them (PipelineMultiplex allows at most 2^2 shared connections).
		if n := px.Conns(); n < 1 || n > 5 {
			failf("the publishing client opened %d connections, expected 1..5 shared ones", n)
		}
	})

	h.Add("DoMulti: 1,000 PUBLISH in one pipeline, every reply counted", func(t *h.T) {
		pub := client(t, h.Addr())
		c := client(t, h.Addr())
		r := receive(t, c, c.B().Subscribe().Channel("rd.multi").Build())
		r.sub("confirmation")
		cmds := make(rueidis.Commands, 0, 1000)
		for i := 0; i < 1000; i++ {
			cmds = append(cmds, pub.B().Publish().Channel("rd.multi").Message(fmt.Sprint(i)).Build())
		}
		for i, res := range pub.DoMulti(ctx(), cmds...) {
			n, err := res.AsInt64()
			must(err, fmt.Sprintf("PUBLISH %d", i))
			eq(n, int64(1), fmt.Sprintf("PUBLISH %d receivers", i))
		}
		for i := 0; i < 1000; i++ {
			eq(r.msg("pipelined message"), msg("rd.multi", fmt.Sprint(i)), "pipelined message in order")
		}
	})
}
