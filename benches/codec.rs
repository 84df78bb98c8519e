//! Request decoding benches, named `decode/<scenario>/<scale>`: pipelined publishes,
//! inline commands, a big bulk and a many-argument multibulk arriving in socket-sized
//! reads, and the worst case of one byte per read. Feeding chunks copies them into the
//! read buffer, as a socket read would, so those figures include that copy.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use respub::resp::{DecodeLimits, Decoder};

fn publish_frame(payload: usize) -> Vec<u8> {
    let mut frame =
        format!("*3\r\n$7\r\nPUBLISH\r\n$12\r\nnews.sport.1\r\n${payload}\r\n").into_bytes();
    frame.resize(frame.len() + payload, b'x');
    frame.extend_from_slice(b"\r\n");
    frame
}

fn repeat(frame: &[u8], times: usize) -> Vec<u8> {
    frame.repeat(times)
}

/// Decodes every command in `input`, fed in `chunk`-byte reads; returns the count.
fn decode_chunked(input: &[u8], chunk: usize) -> usize {
    let mut decoder = Decoder::new(DecodeLimits::default());
    let mut buf = BytesMut::with_capacity(chunk.max(16 * 1024));
    let mut commands = 0;
    for piece in input.chunks(chunk) {
        if let Some(needed) = decoder.needed() {
            // What a reader would do: reserve what the bulk still needs, capped.
            buf.reserve(needed.min(1024 * 1024));
        }
        buf.extend_from_slice(piece);
        while let Some(cmd) = decoder.decode(&mut buf, true).expect("valid input") {
            commands += cmd.len();
        }
    }
    commands
}

fn bench_pipeline(c: &mut Criterion, name: &str, input: &[u8]) {
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function(name, |b| {
        b.iter_batched(
            || BytesMut::from(input),
            |mut buf| {
                let mut decoder = Decoder::new(DecodeLimits::default());
                let mut commands = 0;
                while let Some(cmd) = decoder.decode(&mut buf, true).expect("valid input") {
                    commands += cmd.len();
                }
                commands
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn bench_chunked(c: &mut Criterion, name: &str, input: &[u8], chunk: usize) {
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function(name, |b| b.iter(|| decode_chunked(input, chunk)));
    group.finish();
}

fn decode_benches(c: &mut Criterion) {
    for payload in [64, 1024] {
        let input = repeat(&publish_frame(payload), 100);
        bench_pipeline(
            c,
            &format!("publish/payload={payload}/pipeline=100"),
            &input,
        );
    }

    let inline = repeat(b"PUBLISH news.sport.1 hello\r\n", 100);
    bench_pipeline(c, "inline/args=3/pipeline=100", &inline);
    let quoted = repeat(b"PUBLISH \"news sport\" 'it\\'s \"x\"'\r\n", 100);
    bench_pipeline(c, "inline/args=3/quoted/pipeline=100", &quoted);

    let mut big = b"*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$1048576\r\n".to_vec();
    big.resize(big.len() + 1024 * 1024, b'x');
    big.extend_from_slice(b"\r\n");
    bench_chunked(c, "bulk=1MiB/chunks=4KiB", &big, 4 * 1024);
    bench_chunked(c, "bulk=1MiB/chunks=1MiB", &big, big.len());

    let mut many = b"*100000\r\n".to_vec();
    for _ in 0..100_000 {
        many.extend_from_slice(b"$5\r\nhello\r\n");
    }
    bench_chunked(c, "multibulk/args=100000/chunks=4KiB", &many, 4 * 1024);

    let one = publish_frame(64);
    bench_chunked(c, "publish/payload=64/chunks=1B", &one, 1);
}

criterion_group!(benches, decode_benches);
criterion_main!(benches);
