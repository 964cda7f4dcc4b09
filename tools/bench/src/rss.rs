//! Resident memory of this process, from `/proc/self/status` (Linux).
//!
//! `VmHWM` is the peak resident set size since the process started or since the peak
//! was last reset by writing `5` to `/proc/self/clear_refs` (Linux 4.0+), which lets a
//! benchmark measure the peak of one phase (the load) without the set-up before it.

use std::io;

/// `VmHWM` (peak) and `VmRSS` (current), in kB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    pub peak_kb: u64,
    pub current_kb: u64,
}

impl Memory {
    pub fn peak_mb(&self) -> f64 {
        self.peak_kb as f64 / 1024.0
    }
}

pub fn parse_status(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Memory {
        peak_kb: field("VmHWM:")?,
        current_kb: field("VmRSS:")?,
    })
}

pub fn read() -> io::Result<Memory> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    parse_status(&status).ok_or_else(|| io::Error::other("no VmHWM/VmRSS in /proc/self/status"))
}

/// Resets the peak to the current resident set size.
pub fn reset_peak() -> io::Result<()> {
    std::fs::write("/proc/self/clear_refs", b"5")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_read_in_kb() {
        let status = "Name:\tx\nVmPeak:\t  99999 kB\nVmHWM:\t   13508 kB\nVmRSS:\t    9000 kB\n";
        assert_eq!(
            parse_status(status),
            Some(Memory {
                peak_kb: 13508,
                current_kb: 9000
            })
        );
        assert_eq!(parse_status("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_has_a_peak() {
        let m = read().unwrap();
        assert!(m.peak_kb >= m.current_kb && m.current_kb > 0, "{m:?}");
    }
}
