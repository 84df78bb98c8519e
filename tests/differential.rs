//! Differential tests: every scenario runs the same byte sequences against respub and
//! against redis-server (7.0.15, the reference), concurrently, each on its own fresh
//! processes and ports. Every reply frame read is logged per side; the logs must be
//! byte-identical, except where a mask from `known_differences` (the ONE place where
//! deliberate differences are listed) or an order normalisation for something Redis
//! leaves unspecified is applied to both sides.
//!
//! Validate the scenarios themselves with two Redis servers:
//! `RESPUB_BIN=/usr/bin/redis-server cargo test --test differential`.
//! Set `DIFF_DUMP=1` to print the Redis-side transcript of every scenario.
//!
//! Scenarios live in `tests/differential/*.rs`, grouped by command family.

mod support;

use std::time::Duration;

use support::{cmd, line, show_trunc, split_aggregate, Client, Kind, ReadError, Server};

// =======================================================================================
// KNOWN DIFFERENCES — the only deliberate respub-vs-redis-7.0.15 differences.
// =======================================================================================

/// Every deliberate difference between respub and redis-server 7.0.15 that touches the
/// surface covered here, with the reason and where it is handled. respub follows Redis
/// 7.2+ where 7.0 differs.
pub(crate) mod known_differences {
    use super::support::{frame_payload, split_aggregate};

    /// (id, reason, how the tests handle it)
    pub(crate) const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[
        (
            "self-publish-order",
            "RESP3 client PUBLISHing to a channel it is subscribed to: 7.0.15 writes its own \
             push frames BEFORE the :N reply, 7.2+ (and respub) AFTER it (upstream tests \
             'publish to self inside multi/script').",
            "differential compares reply + own pushes as a multiset (mask SelfPublishOrder); \
             the exact 7.2+ order is asserted in tests/transcript.rs",
        ),
        (
            "acl-noperm-text",
            "7.0: '-NOPERM this user has no permissions to access one of the channels used as \
             arguments' and '-NOPERM this user has no permissions to run the '<cmd>' command'; \
             7.2+ (and respub): '-NOPERM No permissions to access a channel' and '-NOPERM User \
             <name> has no permissions to run the '<cmd>' command'. ACL DRYRUN likewise: 7.0 \
             'This user has no permissions to ...', 7.2+ 'User <name> has no permissions to ...' \
             (getAclErrorMessage, added in 7.2).",
            "mask AclNopermText rewrites exactly these 7.2 texts (errors, EXECABORT reasons and \
             DRYRUN bulk strings) into their 7.0 form; tests/acl_revocation.rs asserts the \
             7.2 texts on respub",
        ),
        (
            "acl-log-fields",
            "ACL LOG entries: 7.2 adds 'entry-id', 'timestamp-created' and \
             'timestamp-last-updated' after 'client-info'; 'age-seconds' and the volatile \
             fields of 'client-info' depend on timing and the process.",
            "mask AclLogEntries keeps the first 7 pairs of each entry, masks the age and \
             compares client-info like CLIENT LIST (ClientListValues rules)",
        ),
        (
            "acl-random",
            "ACL GENPASS returns random hex.",
            "mask RandomHex replaces each hex digit by 'x' (the length is still compared)",
        ),
        (
            "client-setinfo",
            "CLIENT SETINFO exists in 7.2+; 7.0 answers unknown subcommand, respub +OK.",
            "not compared here; respub-only transcript in tests/transcript.rs",
        ),
        (
            "hello-noauth-text",
            "HELLO before authentication on a password server: 7.0.15 suggests 'the HELLO \
             AUTH <user> <pass> option', 7.2+ (and respub) 'the HELLO <proto> AUTH <user> \
             <pass> option' (redis/redis PR #11809, merged 2023-02, first released in 7.2).",
            "mask HelloNoauthText maps exactly these two texts to one; the exact 7.2+ text \
             is asserted in tests/transcript.rs",
        ),
        (
            "hello-version",
            "HELLO's 'version' value is the server's own version string.",
            "mask HelloVersionAndId replaces the value of 'version' (and 'id', see next)",
        ),
        (
            "client-ids-and-volatile-fields",
            "Client ids, addresses, fds, ages, buffer sizes and memory figures depend on the \
             process, not on the protocol. 7.2 appends 'lib-name= lib-ver=' and 7.4 inserts \
             'watch=' in CLIENT LIST lines.",
            "masks ClientId (value of CLIENT ID), HelloVersionAndId ('id' value) and \
             ClientListValues (volatile values replaced, 7.2+/7.4+ fields dropped; names, \
             order and the semantic fields name/flags/db/sub/psub/ssub/multi/cmd/user/redir/\
             resp still compared)",
        ),
        (
            "memory-figures",
            "MEMORY STATS figures are the process's own (respub: RSS from /proc, client \
             buffers; Redis: jemalloc counters). The 27 field names, their order and each \
             value's type (integer or double) are the same.",
            "mask MemoryStatsValues keeps names and the type byte of each value",
        ),
        (
            "server-times",
            "LASTSAVE is the process start time (neither server ever saved); MONITOR lines \
             start with the wall-clock time and the client's address.",
            "mask ServerTime replaces the integer; MONITOR lines are compared through \
             MonitorLine (time and port masked, db, quoting and arguments exact)",
        ),
        (
            "monitor-output-limit",
            "Redis counts a MONITOR client as a normal client, whose output is unlimited by \
             default; respub bounds a monitor by the pubsub output limit, so a monitor that \
             does not read is dropped (counted in client_output_buffer_limit_disconnections, \
             logged) instead of growing without bound.",
            "respub-only check in tests/monitor.rs (a_slow_monitor_is_dropped_...)",
        ),
        (
            "shutdown-save",
            "SHUTDOWN SAVE: Redis writes an RDB file (and refuses to exit if it cannot); \
             respub has nothing to save and shuts down as NOSAVE, exit 0.",
            "respub-only check in tests/admin.rs; SHUTDOWN without SAVE is checked on both",
        ),
        (
            "memory-malloc-stats",
            "MEMORY MALLOC-STATS: Debian's redis-server (jemalloc) prints jemalloc's report; \
             respub runs on glibc malloc and answers what Redis built with libc answers.",
            "respub-only transcript in tests/transcript.rs",
        ),
        (
            "info-content",
            "INFO content (sections, fields, values) differs by implementation.",
            "not compared here; tests/transcript.rs checks the required fields exist",
        ),
    ];

    /// Masks applied to BOTH sides before comparison. Each maps to a row above.
    #[derive(Debug, Clone, Copy)]
    pub(crate) enum Known {
        /// Row "hello-version" + "client-ids-...": a HELLO reply (RESP3 map or RESP2 flat
        /// array) with the values of `version` and `id` replaced.
        HelloVersionAndId,
        /// Row "client-ids-...": the integer of a CLIENT ID reply.
        ClientId,
        /// Row "client-ids-...": a CLIENT LIST bulk/verbatim string.
        ClientListValues,
        /// Row "self-publish-order": the frames are compared as a multiset.
        SelfPublishOrder,
        /// Row "hello-noauth-text": the 7.0 and 7.2+ NOAUTH texts of HELLO compare equal.
        HelloNoauthText,
        /// Row "acl-noperm-text": 7.2 NOPERM / DRYRUN texts rewritten to 7.0's.
        AclNopermText,
        /// Row "acl-log-fields": ACL LOG entries cut to 7.0's fields, volatile values masked.
        AclLogEntries,
        /// Row "acl-random": hex digits masked.
        RandomHex,
        /// Row "memory-figures": map values replaced by their RESP type byte.
        MemoryStatsValues,
        /// Row "server-times": an integer reply (a Unix time) masked.
        ServerTime,
        /// Row "server-times": a MONITOR line with its time and client port masked.
        MonitorLine,
    }

    impl Known {
        /// The KNOWN_DIFFERENCES row this mask implements.
        pub(crate) fn row(self) -> &'static str {
            match self {
                Known::HelloVersionAndId => "hello-version",
                Known::ClientId | Known::ClientListValues => "client-ids-and-volatile-fields",
                Known::SelfPublishOrder => "self-publish-order",
                Known::HelloNoauthText => "hello-noauth-text",
                Known::AclNopermText => "acl-noperm-text",
                Known::AclLogEntries => "acl-log-fields",
                Known::RandomHex => "acl-random",
                Known::MemoryStatsValues => "memory-figures",
                Known::ServerTime | Known::MonitorLine => "server-times",
            }
        }
    }

    #[test]
    fn every_mask_has_a_documented_row() {
        for k in [
            Known::HelloVersionAndId,
            Known::ClientId,
            Known::ClientListValues,
            Known::SelfPublishOrder,
            Known::HelloNoauthText,
            Known::AclNopermText,
            Known::AclLogEntries,
            Known::RandomHex,
            Known::MemoryStatsValues,
            Known::ServerTime,
            Known::MonitorLine,
        ] {
            let row = KNOWN_DIFFERENCES.iter().find(|r| r.0 == k.row());
            assert!(
                row.is_some_and(|r| !r.1.is_empty() && !r.2.is_empty()),
                "{k:?}"
            );
        }
    }

    const HELLO_NOAUTH_7_0: &[u8] = b"-NOAUTH HELLO must be called with the client already \
        authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate \
        the client and select the RESP protocol version at the same time\r\n";
    pub(crate) const HELLO_NOAUTH_7_2: &[u8] = b"-NOAUTH HELLO must be called with the client \
        already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used \
        to authenticate the client and select the RESP protocol version at the same time\r\n";

    const VOLATILE_CLIENT_FIELDS: &[&str] = &[
        "id",
        "addr",
        "laddr",
        "fd",
        "age",
        "idle",
        "qbuf",
        "qbuf-free",
        "argv-mem",
        "multi-mem",
        "rbs",
        "rbp",
        "obl",
        "oll",
        "omem",
        "tot-mem",
        "events",
    ];
    /// Fields added after 7.0 (7.2: lib-name, lib-ver; 7.4: watch; 8.0: io-thread).
    const NEWER_CLIENT_FIELDS: &[&str] = &["lib-name", "lib-ver", "watch", "io-thread"];

    impl Known {
        pub(crate) fn apply(self, frames: &[Vec<u8>]) -> Vec<u8> {
            match self {
                Known::SelfPublishOrder => {
                    let mut sorted = frames.to_vec();
                    sorted.sort();
                    let mut out = b"<multiset>".to_vec();
                    for f in sorted {
                        out.extend_from_slice(&f);
                    }
                    out
                }
                _ => frames.iter().flat_map(|f| self.apply_one(f)).collect(),
            }
        }

        fn apply_one(self, frame: &[u8]) -> Vec<u8> {
            match self {
                Known::HelloVersionAndId => mask_map_values(frame, &[b"version", b"id"]),
                Known::ClientId if frame.first() == Some(&b':') => b":<id>\r\n".to_vec(),
                Known::HelloNoauthText if frame == HELLO_NOAUTH_7_2 => HELLO_NOAUTH_7_0.to_vec(),
                Known::ServerTime if frame.first() == Some(&b':') => b":<time>\r\n".to_vec(),
                Known::MemoryStatsValues => mask_map_value_types(frame),
                Known::MonitorLine if frame.first() == Some(&b'+') => mask_monitor_line(frame),
                Known::ClientListValues if matches!(frame.first(), Some(b'$' | b'=')) => {
                    let text = frame_payload(frame).unwrap_or_default();
                    let mut out = format!("{}<client list>", frame[0] as char).into_bytes();
                    out.extend(mask_client_list(text));
                    out
                }
                Known::AclNopermText => acl_noperm_7_0(frame),
                Known::AclLogEntries if frame.first() == Some(&b'*') => {
                    let Some((header, entries)) = split_aggregate(frame) else {
                        return frame.to_vec();
                    };
                    let mut out = header;
                    for e in entries {
                        out.extend(mask_acl_log_entry(&e));
                    }
                    out
                }
                Known::RandomHex if frame.first() == Some(&b'$') => {
                    let text = frame_payload(frame).unwrap_or_default();
                    let masked: Vec<u8> = text
                        .iter()
                        .map(|b| if b.is_ascii_hexdigit() { b'x' } else { *b })
                        .collect();
                    [b"<hex>".as_slice(), &masked].concat()
                }
                // Not the expected reply type: leave it alone so the difference shows.
                _ => frame.to_vec(),
            }
        }
    }

    /// 7.2 ACL denial texts in their 7.0 wording (row "acl-noperm-text").
    fn acl_noperm_7_0(frame: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(frame).into_owned();
        let rewrite = |t: &str, capital: bool| -> String {
            let this = if capital { "This user" } else { "this user" };
            let mut t = t.replace(
                "NOPERM No permissions to access a channel",
                "NOPERM this user has no permissions to access one of the channels used as arguments",
            );
            // `User <name> has no permissions to` -> `this user has no permissions to`.
            while let Some(at) = t.find("User ") {
                match t[at..].find(" has no permissions to ") {
                    Some(end) if !t[at + 5..at + end].contains(' ') => {
                        t.replace_range(at..at + end, this);
                    }
                    _ => break,
                }
            }
            t
        };
        match frame.first() {
            Some(b'-') => rewrite(&text, false).into_bytes(),
            Some(b'$') => {
                let payload = String::from_utf8_lossy(frame_payload(frame).unwrap_or_default());
                let t = rewrite(&payload, true);
                format!("${}\r\n{t}\r\n", t.len()).into_bytes()
            }
            _ => frame.to_vec(),
        }
    }

    /// One ACL LOG entry (map or flat array) cut to 7.0's 7 pairs, volatile values masked.
    fn mask_acl_log_entry(entry: &[u8]) -> Vec<u8> {
        let Some((_, items)) = split_aggregate(entry) else {
            return entry.to_vec();
        };
        let mut out = b"<entry>".to_vec();
        for pair in items.chunks(2).take(7) {
            let key = frame_payload(&pair[0]).unwrap_or_default();
            out.extend_from_slice(&pair[0]);
            let Some(v) = pair.get(1) else { continue };
            match key {
                b"age-seconds" => out.extend_from_slice(b"<age>\r\n"),
                b"client-info" => {
                    out.extend(mask_client_list(frame_payload(v).unwrap_or_default()))
                }
                _ => out.extend_from_slice(v),
            }
        }
        out
    }

    fn mask_map_values(frame: &[u8], keys: &[&[u8]]) -> Vec<u8> {
        let Some((header, items)) = split_aggregate(frame) else {
            return frame.to_vec();
        };
        let mut out = header;
        for pair in items.chunks(2) {
            out.extend_from_slice(&pair[0]);
            if let Some(v) = pair.get(1) {
                let key = frame_payload(&pair[0]).unwrap_or_default();
                if keys.contains(&key) {
                    out.extend_from_slice(b"<masked>\r\n");
                } else {
                    out.extend_from_slice(v);
                }
            }
        }
        out
    }

    /// Keeps a map's keys and the type byte of each value (`:`, `,` or `$`).
    fn mask_map_value_types(frame: &[u8]) -> Vec<u8> {
        let Some((header, items)) = split_aggregate(frame) else {
            return frame.to_vec();
        };
        let mut out = header;
        for pair in items.chunks(2) {
            out.extend_from_slice(&pair[0]);
            if let Some(v) = pair.get(1) {
                out.push(v[0]);
                out.extend_from_slice(b"<v>\r\n");
            }
        }
        out
    }

    /// `+1796133374.626290 [0 127.0.0.1:36852] "PING"`: the time's digits and the
    /// port are masked; the micro-second field must still have 6 digits.
    fn mask_monitor_line(frame: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(frame);
        let Some((time, rest)) = text[1..].split_once(' ') else {
            return frame.to_vec();
        };
        let shape_ok = time
            .split_once('.')
            .is_some_and(|(s, us)| s.len() >= 10 && us.len() == 6);
        let Some((addr, tail)) = rest.split_once("] ") else {
            return frame.to_vec();
        };
        let addr = match addr.rsplit_once(':') {
            Some((host, _port)) => format!("{host}:<port>"),
            None => addr.to_string(),
        };
        format!("+<time ok={shape_ok}> {addr}] {tail}").into_bytes()
    }

    fn mask_client_list(text: &[u8]) -> Vec<u8> {
        // Verbatim strings start with a 3-letter format and ':'.
        let text = text.strip_prefix(b"txt:").unwrap_or(text);
        let mut out = Vec::new();
        for line in text.split(|&b| b == b'\n') {
            if line.is_empty() {
                continue;
            }
            let mut fields = Vec::new();
            for field in line.split(|&b| b == b' ') {
                let (k, v) = match field.iter().position(|&b| b == b'=') {
                    Some(i) => (&field[..i], &field[i + 1..]),
                    None => (field, &b""[..]),
                };
                let ks = String::from_utf8_lossy(k);
                if NEWER_CLIENT_FIELDS.contains(&ks.as_ref()) {
                    continue;
                }
                let mut f = k.to_vec();
                f.push(b'=');
                if VOLATILE_CLIENT_FIELDS.contains(&ks.as_ref()) {
                    f.extend_from_slice(b"<v>");
                } else {
                    f.extend_from_slice(v);
                }
                fields.push(f);
            }
            out.extend(fields.join(&b' '));
            out.push(b'\n');
        }
        out
    }
}

use known_differences::Known;

// =======================================================================================
// Harness: one side (a server + its connections + a log of everything read)
// =======================================================================================

/// How a read is compared.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Norm {
    /// Byte-exact.
    Exact,
    /// The frames are compared as a multiset. Used where Redis's order is unspecified:
    /// pmessages of several patterns matching one PUBLISH (pattern hash-table order, spec §6).
    Unordered,
    /// Argument-less (P|S)UNSUBSCRIBE frames: the names come in hash-table order (spec §3.2,
    /// T15), so names are compared as a multiset while kinds and the count sequence
    /// (which must still decrease to 0 in frame order) are compared exactly.
    UnsubscribeAll,
    /// Each frame is an array whose element order is unspecified (PUBSUB CHANNELS /
    /// SHARDCHANNELS: hash-table order, spec §3.5): elements sorted before comparing.
    SortedElements,
    /// Values that change from run to run, not differences: every integer (SLOWLOG ids,
    /// timestamps and microseconds, LATENCY HISTOGRAM buckets and counts) and every
    /// `127.0.0.1:<port>` peer address are masked, at any depth; the shape, the
    /// strings and the aggregate lengths are compared exactly (admin commands).
    Volatile,
    /// A documented known difference.
    Known(Known),
}

fn mask_volatile(frame: &[u8]) -> Vec<u8> {
    if let Some((header, items)) = split_aggregate(frame) {
        let mut out = header;
        for item in items {
            out.extend(mask_volatile(&item));
        }
        return out;
    }
    match frame.first() {
        Some(b':') => b":<int>\r\n".to_vec(),
        Some(b'$')
            if support::frame_payload(frame).is_some_and(|p| p.starts_with(b"127.0.0.1:")) =>
        {
            b"$<peer>\r\n".to_vec()
        }
        _ => frame.to_vec(),
    }
}

fn normalize(norm: Norm, frames: &[Vec<u8>]) -> Vec<u8> {
    match norm {
        Norm::Exact => frames.concat(),
        Norm::Unordered => {
            let mut f = frames.to_vec();
            f.sort();
            let mut out = b"<multiset>".to_vec();
            out.extend(f.concat());
            out
        }
        Norm::UnsubscribeAll => {
            let mut names = Vec::new();
            let mut out = Vec::new();
            for f in frames {
                match split_aggregate(f) {
                    Some((h, items)) if items.len() == 3 => {
                        out.extend_from_slice(&h);
                        out.extend_from_slice(&items[0]);
                        out.extend_from_slice(b"<name>");
                        out.extend_from_slice(&items[2]);
                        names.push(items[1].clone());
                    }
                    _ => out.extend_from_slice(f),
                }
            }
            names.sort();
            out.extend_from_slice(b" names(sorted)=");
            out.extend(names.concat());
            out
        }
        Norm::SortedElements => {
            let mut out = Vec::new();
            for f in frames {
                match split_aggregate(f) {
                    Some((h, mut items)) => {
                        items.sort();
                        out.extend_from_slice(b"<sorted>");
                        out.extend_from_slice(&h);
                        out.extend(items.concat());
                    }
                    None => out.extend_from_slice(f),
                }
            }
            out
        }
        Norm::Volatile => frames.iter().flat_map(|f| mask_volatile(f)).collect(),
        Norm::Known(k) => k.apply(frames),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum ConnState {
    Open,
    /// The server closed it (EOF seen).
    Closed,
    /// A read timed out or returned garbage; later steps on it are skipped.
    Broken,
}

#[derive(Debug)]
struct Conn {
    client: Client,
    state: ConnState,
    last_sent: String,
    /// Why the connection became Broken (shown in the skipped steps that follow).
    broken_because: String,
}

#[derive(Debug)]
struct Entry {
    conn: usize,
    context: String,
    got: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct Side {
    kind: Kind,
    server: Server,
    conns: Vec<Conn>,
    log: Vec<Entry>,
}

impl Side {
    pub(crate) async fn start(kind: Kind, args: &[&str]) -> Side {
        Side {
            kind,
            server: Server::start(kind, args).await,
            conns: Vec::new(),
            log: Vec::new(),
        }
    }

    /// Open a new connection; returns its index.
    pub(crate) async fn connect(&mut self) -> usize {
        let client = self.server.connect().await;
        self.conns.push(Conn {
            client,
            state: ConnState::Open,
            last_sent: String::from("<nothing sent yet>"),
            broken_because: String::new(),
        });
        self.conns.len() - 1
    }

    pub(crate) async fn send(&mut self, c: usize, bytes: &[u8]) {
        let conn = &mut self.conns[c];
        conn.last_sent = show_trunc(bytes, 160);
        if conn.state != ConnState::Open {
            return;
        }
        // A send failure is logged by the next read on this connection (via
        // broken_because), so both sides keep the same number of log steps.
        if let Err(e) = conn.client.try_send(bytes).await {
            conn.state = ConnState::Broken;
            conn.broken_because = format!("<SEND FAILED: {e}>");
        }
    }

    /// Send bytes one at a time with `gap` between them.
    pub(crate) async fn send_bytewise(&mut self, c: usize, bytes: &[u8], gap: Duration) {
        self.conns[c].last_sent = format!("(bytewise) {}", show_trunc(bytes, 150));
        for b in bytes.chunks(1) {
            if self.conns[c].state != ConnState::Open {
                return;
            }
            if let Err(e) = self.conns[c].client.try_send(b).await {
                self.conns[c].state = ConnState::Broken;
                self.conns[c].broken_because = format!("<SEND FAILED: {e}>");
                return;
            }
            tokio::time::sleep(gap).await;
        }
    }

    /// Read `n` frames on connection `c` and log them (byte-exact comparison).
    pub(crate) async fn read(&mut self, c: usize, n: usize) {
        self.read_norm(c, n, Norm::Exact).await;
    }

    /// Read `n` frames and log them after normalisation `norm`.
    pub(crate) async fn read_norm(&mut self, c: usize, n: usize, norm: Norm) {
        let conn = &mut self.conns[c];
        let context = format!("{n} frame(s) after {}", conn.last_sent);
        let got = match conn.state {
            ConnState::Open => {
                let mut frames = Vec::with_capacity(n);
                let mut failure = None;
                for _ in 0..n {
                    match conn.client.try_read_frame().await {
                        Ok(f) => frames.push(f),
                        Err(e) => {
                            conn.state = match e {
                                ReadError::Eof(_) => ConnState::Closed,
                                _ => ConnState::Broken,
                            };
                            failure = Some(e);
                            break;
                        }
                    }
                }
                let mut got = normalize(norm, &frames);
                if let Some(e) = failure {
                    got.extend_from_slice(e.to_string().as_bytes());
                    conn.broken_because = e.to_string();
                }
                got
            }
            ConnState::Closed => b"<skipped: connection closed earlier>".to_vec(),
            ConnState::Broken => format!(
                "<skipped: connection broken earlier {}>",
                conn.broken_because
            )
            .into_bytes(),
        };
        self.log.push(Entry {
            conn: c,
            context,
            got,
        });
    }

    /// Send one command (space-separated words, RESP-encoded) and read `n` reply frames.
    pub(crate) async fn call(&mut self, c: usize, words: &str, n: usize) {
        self.send(c, &line(words)).await;
        self.read(c, n).await;
    }

    /// `call` with a normalisation.
    pub(crate) async fn call_norm(&mut self, c: usize, words: &str, n: usize, norm: Norm) {
        self.send(c, &line(words)).await;
        self.read_norm(c, n, norm).await;
    }

    /// Send one command given as binary-safe arguments and read `n` frames.
    pub(crate) async fn callv(&mut self, c: usize, args: &[&[u8]], n: usize) {
        self.send(c, &cmd(args)).await;
        self.read(c, n).await;
    }

    /// Close our end of connection `c` (the server sees EOF). Nothing is logged.
    pub(crate) async fn close(&mut self, c: usize) {
        let conn = &mut self.conns[c];
        if conn.state == ConnState::Open {
            conn.client.shutdown_write().await;
        }
        conn.state = ConnState::Closed;
    }

    /// Re-send `words` (unlogged) until the reply equals `want` or `timeout` passes, then
    /// log the last reply. For state that the server updates asynchronously after an
    /// event the client cannot observe directly (e.g. cleanup after our side closed).
    pub(crate) async fn call_until(
        &mut self,
        c: usize,
        words: &str,
        want: &[u8],
        timeout: Duration,
    ) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.conns[c].state != ConnState::Open {
                break;
            }
            self.send(c, &line(words)).await;
            match self.conns[c].client.try_read_frame().await {
                Ok(f) if f == want => break,
                Ok(_) if tokio::time::Instant::now() < deadline => {
                    // Bounded polling interval, not a settle-sleep: the loop ends on
                    // the expected reply or at the deadline.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Ok(_) => break,
                Err(e) => {
                    self.conns[c].state = ConnState::Broken;
                    self.conns[c].broken_because = e.to_string();
                    break;
                }
            }
        }
        self.call(c, words, 1).await;
    }

    /// The integer of the last frame logged (e.g. a PUBLISH reply `:3`), or 0 if it was
    /// not an integer reply. Lets a scenario read as many frames as this side announced:
    /// if the count is wrong, the comparison of the count itself already fails, and the
    /// frames read after it show what was actually delivered.
    pub(crate) fn last_integer(&self) -> usize {
        self.log
            .last()
            .and_then(|e| e.got.strip_prefix(b":"))
            .and_then(|rest| std::str::from_utf8(rest).ok())
            .and_then(|t| t.trim_end().parse().ok())
            .unwrap_or(0)
    }

    /// Log whether the server closes the connection (nothing more may arrive first).
    pub(crate) async fn eof(&mut self, c: usize) {
        let conn = &mut self.conns[c];
        let context = format!("EOF expected after {}", conn.last_sent);
        let got = match conn.state {
            ConnState::Open => match conn.client.try_read_frame().await {
                Err(ReadError::Eof(p)) if p.is_empty() => b"<EOF>".to_vec(),
                Err(e) => {
                    conn.state = ConnState::Broken;
                    e.to_string().into_bytes()
                }
                Ok(f) => {
                    conn.state = ConnState::Broken;
                    let mut v = b"<frame instead of EOF> ".to_vec();
                    v.extend(f);
                    v
                }
            },
            ConnState::Closed => b"<EOF>".to_vec(),
            ConnState::Broken => b"<skipped: connection broken earlier>".to_vec(),
        };
        if self.conns[c].state == ConnState::Open {
            self.conns[c].state = ConnState::Closed;
        }
        self.log.push(Entry {
            conn: c,
            context,
            got,
        });
    }

    /// End of scenario: PING every connection and log the reply. Catches frames that one
    /// side sent and the scenario did not read.
    async fn finish(&mut self) {
        // Every connection logs a trailer step (a skipped one if it is closed or broken),
        // so one broken connection cannot shift the comparison of the others.
        for c in 0..self.conns.len() {
            {
                self.send(c, b"*1\r\n$4\r\nPING\r\n").await;
                self.conns[c].last_sent = "(end-of-scenario trailer) PING".into();
                self.read(c, 1).await;
            }
        }
    }
}

/// Compare the two logs; panic with every mismatching step.
fn compare(case: &str, respub: &Side, redis: &Side) {
    if std::env::var_os("DIFF_DUMP").is_some() {
        eprintln!("=== {case}: {} transcript", redis.kind.label());
        for (i, e) in redis.log.iter().enumerate() {
            eprintln!(
                "[{i}] c{} {}\n     {}",
                e.conn,
                e.context,
                show_trunc(&e.got, 400)
            );
        }
    }
    // A timeout or garbage on the Redis side means the scenario itself is wrong (it
    // expected more frames than the reference sends): fail loudly rather than compare.
    for (i, e) in redis.log.iter().enumerate() {
        let text = String::from_utf8_lossy(&e.got);
        if [
            "<TIMEOUT",
            "<INVALID RESP",
            "<SEND FAILED",
            "<IO ERROR",
            "broken earlier",
        ]
        .iter()
        .any(|m| text.contains(m))
        {
            panic!(
                "differential case `{case}`: scenario bug, the reference misbehaved at step {i} \
                 (c{} {}): {}",
                e.conn,
                e.context,
                show_trunc(&e.got, 300)
            );
        }
    }
    let mut report = String::new();
    let mut mismatches = 0;
    let n = respub.log.len().max(redis.log.len());
    for i in 0..n {
        let (a, b) = (respub.log.get(i), redis.log.get(i));
        let same = match (a, b) {
            (Some(a), Some(b)) => a.got == b.got,
            _ => false,
        };
        if same {
            continue;
        }
        mismatches += 1;
        let ctx = b
            .or(a)
            .map(|e| format!("c{} {}", e.conn, e.context))
            .unwrap_or_default();
        let want = b.map(|e| e.got.as_slice()).unwrap_or(b"<no step>");
        let got = a.map(|e| e.got.as_slice()).unwrap_or(b"<no step>");
        if mismatches <= 6 {
            report.push_str(&format!(
                "\n--- step {i}: {ctx}\n    redis:  {}\n    respub: {}\n",
                show_trunc(want, 300),
                show_trunc(got, 300)
            ));
        }
    }
    if mismatches > 0 {
        panic!(
            "differential case `{case}`: {mismatches} of {n} steps differ (respub={}, redis={}){report}",
            respub.server.kind.program(),
            redis.server.kind.program()
        );
    }
}

/// Run `scenario` against respub and redis-server (fresh processes, started with the
/// same `args`), concurrently, and compare the logs.
macro_rules! diff_case {
    ($name:ident, [$($arg:expr),* $(,)?], |$s:ident| $body:block) => {
        #[tokio::test]
        async fn $name() {
            async fn scenario($s: &mut $crate::Side) $body
            let args: &[&str] = &[$($arg),*];
            let (mut a, mut b) = tokio::join!(
                $crate::Side::start($crate::support::Kind::Respub, args),
                $crate::Side::start($crate::support::Kind::Redis, args),
            );
            tokio::join!(scenario(&mut a), scenario(&mut b));
            tokio::join!(a.finish(), b.finish());
            $crate::compare(stringify!($name), &a, &b);
        }
    };
    ($name:ident, |$s:ident| $body:block) => {
        diff_case!($name, [], |$s| $body);
    };
}

/// HELLO 3 with the known mask (every RESP3 scenario starts with it).
pub(crate) async fn hello3(s: &mut Side, c: usize) {
    s.call_norm(c, "HELLO 3", 1, Norm::Known(Known::HelloVersionAndId))
        .await;
}

mod differential {
    pub(crate) mod acl;
    pub(crate) mod admin;
    pub(crate) mod connection;
    pub(crate) mod glob;
    pub(crate) mod protocol;
    pub(crate) mod publish;
    pub(crate) mod pubsub_cmd;
    pub(crate) mod slowlog_latency;
    pub(crate) mod subscribe;
    pub(crate) mod transactions;
}
