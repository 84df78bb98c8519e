//! Checks `respub::glob::matches` against every vector observed on a live redis-server
//! 7.0.15 (`tests/data/glob-vectors.tsv`). The differential test against the reference
//! matcher lives beside the matcher (`src/glob`), because the oracle is test-only code
//! inside the library.

use respub::glob::matches;

const VECTORS: &str = include_str!("data/glob-vectors.tsv");

fn unhex(field: &str, line: usize) -> Vec<u8> {
    assert!(field.len().is_multiple_of(2), "line {line}: odd hex length");
    (0..field.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&field[i..i + 2], 16)
                .unwrap_or_else(|e| panic!("line {line}: bad hex {field:?}: {e}"))
        })
        .collect()
}

#[test]
fn every_observed_vector_matches_redis() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (n, line) in VECTORS.lines().enumerate() {
        let line_no = n + 1;
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(cols.len() >= 3, "line {line_no}: expected 3+ columns");
        let pattern = unhex(cols[0], line_no);
        let channel = unhex(cols[1], line_no);
        let want = match cols[2] {
            "1" => true,
            "0" => false,
            other => panic!("line {line_no}: match column is {other:?}"),
        };
        if matches(&pattern, &channel) != want {
            failures.push(format!(
                "line {line_no}: pattern {:?} channel {:?} want {want}",
                pattern.escape_ascii().to_string(),
                channel.escape_ascii().to_string()
            ));
        }
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The file holds 4,050 rows; a short read would pass vacuously.
    assert!(checked >= 4000, "only {checked} vectors read");
}

#[test]
fn star_nesting_limit_is_1000_as_observed() {
    let channel = vec![b'a'; 1200];
    assert!(matches(&b"*a".repeat(1000), &channel));
    assert!(!matches(&b"*a".repeat(1001), &channel));
}
