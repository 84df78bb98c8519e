//! The fuzz targets' properties on stable, bounded: every seed and every regression
//! input under fuzz/ (each crash a long run finds is saved there and replayed here
//! forever), then a few thousand seeded random mutations. The long coverage-guided run
//! is `scripts/fuzz.sh` (cargo-fuzz, nightly), documented in the README.

use respub::fuzz::{decode_chunked, Session};
use std::path::Path;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in ["seeds", "regressions"] {
        let d = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz")
            .join(dir)
            .join(target);
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|n| n != "README") {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    assert!(!out.is_empty(), "no seeds for {target}");
    out
}

/// xorshift: reproducible mutations without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Byte flips, insertions of protocol-ish tokens, truncations and splices.
fn mutate(rng: &mut Rng, seeds: &[(String, Vec<u8>)]) -> Vec<u8> {
    const TOKENS: &[&[u8]] = &[
        b"\r\n",
        b"*",
        b"$",
        b"*-1\r\n",
        b"$-1\r\n",
        b"*99999999\r\n",
        b"$2147483648\r\n",
        b"\"",
        b"'",
        b"\\x",
        b"SUBSCRIBE a\r\n",
        b"PUBLISH a b\r\n",
        b"HELLO 3\r\n",
        b"MULTI\r\n",
        b"EXEC\r\n",
        b"RESET\r\n",
        b"PSUBSCRIBE *\r\n",
        b"\x00",
        b"\xff",
    ];
    let mut v = seeds[rng.below(seeds.len())].1.clone();
    for _ in 0..1 + rng.below(6) {
        match rng.below(5) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(v.len() + 1);
                let t = TOKENS[rng.below(TOKENS.len())];
                v.splice(i..i, t.iter().copied());
            }
            2 if v.len() > 1 => v.truncate(1 + rng.below(v.len() - 1)),
            3 => {
                let other = &seeds[rng.below(seeds.len())].1;
                v.extend_from_slice(other);
            }
            _ => v.push(rng.next() as u8),
        }
    }
    v
}

#[test]
fn decoder_seeds_regressions_and_random_mutations() {
    let seeds = inputs("decode");
    for (name, data) in &seeds {
        std::panic::catch_unwind(|| decode_chunked(data))
            .unwrap_or_else(|_| panic!("decode property failed on {name}"));
    }
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for i in 0..20_000 {
        let data = mutate(&mut rng, &seeds);
        if std::panic::catch_unwind(|| decode_chunked(&data)).is_err() {
            panic!("decode property failed on random input #{i}: {data:?} (save it under fuzz/regressions/decode/)");
        }
    }
}

#[test]
fn session_seeds_regressions_and_random_mutations() {
    let seeds = inputs("session");
    let session = Session::start();
    for (name, data) in &seeds {
        eprintln!("session input {name}");
        session.run(data);
    }
    let mut rng = Rng(0x5eed_1234_abcd_0002);
    for i in 0..150 {
        let data = mutate(&mut rng, &seeds);
        eprintln!("session random input #{i}: {} bytes", data.len());
        session.run(&data);
    }
}
