//! Reads the server's CPU time and resident memory from /proc. Linux only; the bench
//! reports "n/a" when no server PID was given.

use std::io;
use std::sync::OnceLock;

/// Clock ticks per second for /proc/PID/stat, read once from `getconf CLK_TCK`
/// (falls back to 100, the value on every mainstream Linux build).
fn clock_ticks() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|&t| t > 0.0)
            .unwrap_or(100.0)
    })
}

/// A handle on one server process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Probe {
    pub(crate) pid: u32,
}

impl Probe {
    /// utime + stime of the whole process (all threads), in seconds.
    pub(crate) fn cpu_seconds(&self) -> io::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))?;
        // The command name (field 2) may contain spaces and parentheses; fields after the
        // last ')' are space-separated, starting with field 3 (state).
        let rest = stat
            .rsplit_once(')')
            .map(|(_, r)| r)
            .ok_or_else(|| io::Error::other("malformed /proc/PID/stat"))?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // utime is field 14 and stime field 15 (1-based), i.e. indexes 11 and 12 here.
        let tick = |i: usize| -> io::Result<f64> {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .map(|v| v as f64)
                .ok_or_else(|| io::Error::other("missing utime/stime in /proc/PID/stat"))
        };
        Ok((tick(11)? + tick(12)?) / clock_ticks())
    }

    /// VmRSS in bytes.
    pub(crate) fn rss_bytes(&self) -> io::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .ok_or_else(|| io::Error::other("no VmRSS in /proc/PID/status"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_reads_own_process() {
        let p = Probe {
            pid: std::process::id(),
        };
        assert!(p.cpu_seconds().unwrap() >= 0.0);
        assert!(p.rss_bytes().unwrap() > 0);
    }
}
