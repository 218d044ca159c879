//! The temporary files outputs are written through. Each is named for the host and process
//! writing it (`.burstpipe-HOST-PID-XXXXXX.part`), so that a later batch can remove the ones a
//! killed process left (SIGKILL, power cut) without touching a live writer's, even one of another
//! shard writing to the same shared folder from another machine.

use std::path::Path;

/// The suffix of every temporary output file.
pub(crate) const SUFFIX: &str = ".part";

const START: &str = ".burstpipe-";

/// This machine's name, as far as it can be read (letters, digits and '-' kept), else "host".
fn host() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if name.is_empty() {
        "host".into()
    } else {
        name
    }
}

/// The start of this process's temporary file names.
pub(crate) fn prefix() -> String {
    format!("{START}{}-{}-", host(), std::process::id())
}

/// Whether process `pid` of this machine is running; `None` where that cannot be told.
fn running(pid: u32) -> Option<bool> {
    let proc = Path::new("/proc");
    proc.join("self")
        .exists()
        .then(|| proc.join(pid.to_string()).exists())
}

/// Remove the temporary files in `dir` that a process of this machine left when it was killed
/// (it is no longer running); returns how many. Files of live processes, of other machines, and
/// anything not named like a temporary output stay.
pub(crate) fn remove_stale(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let host = format!("{}-", host());
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix(START))
            .filter(|n| n.ends_with(SUFFIX))
            .and_then(|n| n.strip_prefix(host.as_str()))
        else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let stale = pid.is_some_and(|pid| pid != std::process::id() && running(pid) == Some(false));
        if stale
            && entry.file_type().is_ok_and(|t| t.is_file())
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_dead_local_process_s_temporaries_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let host = host();
        // A pid far above any pid_max (4 194 304) is never running.
        let dead = format!(".burstpipe-{host}-4294967000-abc123.part");
        let live = format!("{}abc123.part", prefix());
        let other_host = format!(".burstpipe-{host}x-4294967000-abc123.part");
        let photo = "4294967000.png".to_string();
        for name in [&dead, &live, &other_host, &photo] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        assert_eq!(remove_stale(dir.path()), 1);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut want = vec![live, other_host, photo];
        want.sort();
        assert_eq!(left, want);
    }
}
