//! redis.conf, read the way redis-server reads it (config.c `loadServerConfigFromString`):
//! one directive per line, `#` comment lines, arguments split by whitespace with Redis's
//! quoting (`"..."` with `\n \r \t \b \a \\ \" \xHH` escapes, `'...'` with `\'`; a closing
//! quote must end the argument), directive names case-insensitive, later lines winning,
//! and `include PATH` (a glob in the last path component allowed, as Redis 7) read in
//! place. Every line keeps its file and number so an error names both.

use super::ConfigError;
use std::path::{Path, PathBuf};

/// One directive line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub file: PathBuf,
    pub number: usize,
    pub name: String,
    pub args: Vec<String>,
}

impl Line {
    /// `file:line` for messages.
    pub fn place(&self) -> String {
        format!("{}:{}", self.file.display(), self.number)
    }
}

/// Nesting of `include` at most (a file including itself must stop somewhere).
const MAX_INCLUDE_DEPTH: usize = 16;

/// Reads a file (or standard input for `-`) with its includes expanded in place.
pub fn read(path: &Path) -> Result<Vec<Line>, ConfigError> {
    let mut out = Vec::new();
    read_into(path, 0, &mut out)?;
    Ok(out)
}

fn read_into(path: &Path, depth: usize, out: &mut Vec<Line>) -> Result<(), ConfigError> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| ConfigError(format!("cannot read the configuration from stdin: {e}")))?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?
    };
    for line in parse(path, &text)? {
        if line.name == "include" {
            let [target] = line.args.as_slice() else {
                return Err(ConfigError(format!(
                    "{}: 'include' takes one path",
                    line.place()
                )));
            };
            if depth >= MAX_INCLUDE_DEPTH {
                return Err(ConfigError(format!(
                    "{}: includes nested deeper than {MAX_INCLUDE_DEPTH} (a loop?)",
                    line.place()
                )));
            }
            for file in expand(target).map_err(|e| ConfigError(format!("{}: {e}", line.place())))? {
                read_into(&file, depth + 1, out)?;
            }
        } else {
            out.push(line);
        }
    }
    Ok(())
}

/// `include` targets: the path itself, or the sorted matches of a glob in its last
/// component (Redis 7: no match is not an error).
fn expand(target: &str) -> Result<Vec<PathBuf>, String> {
    let path = Path::new(target);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if !name.contains(['*', '?', '[']) {
        return Ok(vec![path.to_path_buf()]);
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let entries =
        std::fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| crate::glob::matches(name.as_bytes(), e.file_name().as_encoded_bytes()))
        .map(|e| e.path())
        .collect();
    files.sort();
    Ok(files)
}

/// Splits text into directive lines (includes not expanded).
pub fn parse(file: &Path, text: &str) -> Result<Vec<Line>, ConfigError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim_matches([' ', '\t', '\r', '\n']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let here = || format!("{}:{}", file.display(), i + 1);
        let mut args =
            split_args(trimmed).map_err(|e| ConfigError(format!("{}: {e}: {trimmed}", here())))?;
        if args.is_empty() {
            continue;
        }
        let name = args.remove(0).to_ascii_lowercase();
        out.push(Line {
            file: file.to_path_buf(),
            number: i + 1,
            name,
            args,
        });
    }
    Ok(out)
}

/// Redis's `sdssplitargs`.
pub fn split_args(line: &str) -> Result<Vec<String>, &'static str> {
    let b = line.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() {
            return Ok(out);
        }
        let mut cur: Vec<u8> = Vec::new();
        let (mut in_dq, mut in_sq) = (false, false);
        loop {
            if in_dq {
                match b.get(i) {
                    None => return Err("unbalanced quotes"),
                    Some(b'\\')
                        if b.get(i + 1) == Some(&b'x')
                            && hex(b.get(i + 2)).is_some()
                            && hex(b.get(i + 3)).is_some() =>
                    {
                        cur.push(
                            hex(b.get(i + 2)).unwrap_or(0) * 16 + hex(b.get(i + 3)).unwrap_or(0),
                        );
                        i += 3;
                    }
                    Some(b'\\') if i + 1 < b.len() => {
                        i += 1;
                        cur.push(match b[i] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        if b.get(i + 1).is_some_and(|c| !c.is_ascii_whitespace()) {
                            return Err("a closing quote must be followed by a space");
                        }
                        i += 1;
                        break;
                    }
                    Some(&c) => cur.push(c),
                }
            } else if in_sq {
                match b.get(i) {
                    None => return Err("unbalanced quotes"),
                    Some(b'\\') if b.get(i + 1) == Some(&b'\'') => {
                        i += 1;
                        cur.push(b'\'');
                    }
                    Some(b'\'') => {
                        if b.get(i + 1).is_some_and(|c| !c.is_ascii_whitespace()) {
                            return Err("a closing quote must be followed by a space");
                        }
                        i += 1;
                        break;
                    }
                    Some(&c) => cur.push(c),
                }
            } else {
                match b.get(i) {
                    None => break,
                    Some(c) if c.is_ascii_whitespace() => break,
                    Some(b'"') => in_dq = true,
                    Some(b'\'') => in_sq = true,
                    Some(&c) => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(String::from_utf8(cur).map_err(|_| "an argument is not valid UTF-8")?);
    }
}

fn hex(c: Option<&u8>) -> Option<u8> {
    (*c? as char).to_digit(16).map(|d| d as u8)
}

/// Quotes an argument for a redis.conf line when it needs it (empty, spaces, quotes,
/// control bytes), the inverse of [`split_args`].
pub fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .bytes()
            .all(|c| c.is_ascii_graphic() && c != b'"' && c != b'\'' && c != b'\\');
    if plain {
        return arg.to_string();
    }
    let mut s = String::from("\"");
    for ch in arg.chars() {
        match ch {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                s.push_str(&format!("\\x{:02x}", c as u32))
            }
            // Anything else, non-ASCII UTF-8 included, is read back as the same bytes.
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        split_args(s).unwrap()
    }

    #[test]
    fn splits_like_sdssplitargs() {
        assert_eq!(split("bind 127.0.0.1 -::1"), ["bind", "127.0.0.1", "-::1"]);
        assert_eq!(split("save \"\""), ["save", ""]);
        assert_eq!(
            split("requirepass \"a b\\x41\\n\""),
            ["requirepass", "a bA\n"]
        );
        assert_eq!(split("requirepass 'it\\'s'"), ["requirepass", "it's"]);
        assert_eq!(split("  port\t6380  "), ["port", "6380"]);
        assert!(split_args("requirepass \"abc").is_err());
        assert!(split_args("requirepass \"abc\"def").is_err());
    }

    #[test]
    fn quote_round_trips() {
        for s in [
            "",
            "a b",
            "x\"y",
            "tab\there",
            "plain",
            "back\\slash",
            "é ü",
            "\x01",
        ] {
            let line = format!("k {}", quote(s));
            assert_eq!(split(&line), ["k", s], "{line}");
        }
    }

    #[test]
    fn lines_keep_file_and_number() {
        let lines = parse(Path::new("r.conf"), "# c\n\nPORT 1\n  bind a b\n").unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].name, "port");
        assert_eq!(lines[1].number, 4);
        assert_eq!(lines[1].place(), "r.conf:4");
        let e = parse(Path::new("r.conf"), "port 1\nbind \"x\n").unwrap_err();
        assert!(e.0.starts_with("r.conf:2: unbalanced quotes"), "{e}");
    }

    #[test]
    fn include_reads_in_place_and_stops_loops() {
        let dir = std::env::temp_dir().join(format!("respub-inc-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("conf.d")).unwrap();
        std::fs::write(dir.join("conf.d/a.conf"), "port 7001\n").unwrap();
        std::fs::write(dir.join("conf.d/b.conf"), "timeout 9\n").unwrap();
        let main = dir.join("main.conf");
        std::fs::write(
            &main,
            format!(
                "port 1\ninclude {}/conf.d/*.conf\nmaxclients 5\n",
                dir.display()
            ),
        )
        .unwrap();
        let names: Vec<String> = read(&main)
            .unwrap()
            .iter()
            .map(|l| format!("{} {}", l.name, l.args.join(" ")))
            .collect();
        assert_eq!(names, ["port 1", "port 7001", "timeout 9", "maxclients 5"]);
        let lp = dir.join("loop.conf");
        std::fs::write(&lp, format!("include {}\n", lp.display())).unwrap();
        assert!(read(&lp).unwrap_err().0.contains("nested deeper"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
