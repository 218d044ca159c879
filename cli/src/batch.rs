//! `burstpipe batch`: every burst of a folder, one output each, resumable and shardable, run by
//! the library's scheduler (`burstpipe::run_batch`: decoding, GPUs and encoding overlapped, bursts
//! dealt over `--devices`).
//!
//! Bursts are the sub-folders of the input folder (one burst each), and the raw files lying
//! directly in it, grouped into bursts by capture time (EXIF DateTimeOriginal, else the file's
//! modification time): a gap of more than `BURST_GAP` starts a new burst.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Result};
use burstpipe::{run_batch, BatchEvent, BatchJob, BatchOptions, BatchStats, Engine};

/// Frames further apart than this belong to different bursts.
const BURST_GAP: Duration = Duration::from_secs(2);

/// One burst to process: the name of its output and its frames in capture order.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub name: String,
    pub files: Vec<PathBuf>,
}

fn visible_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Capture time: EXIF DateTimeOriginal when the file has one, else its modification time.
fn capture_time(path: &Path) -> SystemTime {
    let exif_time = std::fs::File::open(path).ok().and_then(|f| {
        let exif = exif::Reader::new()
            .read_from_container(&mut std::io::BufReader::new(f))
            .ok()?;
        let field = exif.get_field(exif::Tag::DateTimeOriginal, exif::In::PRIMARY)?;
        let exif::Value::Ascii(ref v) = field.value else {
            return None;
        };
        let dt = exif::DateTime::from_ascii(v.first()?).ok()?;
        // Days since the epoch of a proleptic Gregorian date; only differences matter here.
        let (y, m, d) = (dt.year as i64, dt.month as i64, dt.day as i64);
        let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
        let days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * (m - 3) + 2) / 5 + d;
        let secs = days * 86_400 + dt.hour as i64 * 3600 + dt.minute as i64 * 60 + dt.second as i64;
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64))
    });
    exif_time
        .or_else(|| std::fs::metadata(path).and_then(|m| m.modified()).ok())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Every burst under `dir`, sorted by name.
pub fn find_bursts(dir: &Path) -> Result<Vec<Job>> {
    if !dir.is_dir() {
        bail!("{}: not a folder", dir.display());
    }
    let mut jobs = Vec::new();
    let mut loose = Vec::new();
    for path in visible_files(dir)? {
        if path.is_dir() {
            let files: Vec<PathBuf> = visible_files(&path)?
                .into_iter()
                .filter(|p| p.is_file())
                .collect();
            if !files.is_empty() {
                let name = path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                jobs.push(Job { name, files });
            }
        } else if path.is_file() {
            loose.push((capture_time(&path), path));
        }
    }
    loose.sort();
    let mut last: Option<SystemTime> = None;
    for (time, path) in loose {
        let gap = last.map(|l| time.duration_since(l).unwrap_or_default() > BURST_GAP);
        if gap.unwrap_or(true) {
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            jobs.push(Job {
                name,
                files: Vec::new(),
            });
        }
        jobs.last_mut().expect("pushed above").files.push(path);
        last = Some(time);
    }
    jobs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(jobs)
}

/// Which adapters `--devices` names.
#[derive(Debug, Clone, PartialEq)]
pub enum Devices {
    /// Every adapter of the best adapter's kind.
    All,
    /// These indices from `burstpipe devices`.
    List(Vec<usize>),
}

/// `all` or `N[,M...]`.
pub fn parse_devices(s: &str) -> Result<Devices, String> {
    if s.eq_ignore_ascii_case("all") {
        return Ok(Devices::All);
    }
    let err = || {
        format!("'{s}' is not a device list: use all, or indices from `burstpipe devices` such as 0 or 0,1")
    };
    let mut list: Vec<usize> = s
        .split(',')
        .map(|i| i.trim().parse().map_err(|_| err()))
        .collect::<Result<_, _>>()?;
    let n = list.len();
    list.sort();
    list.dedup();
    if list.len() != n {
        return Err(format!("'{s}' names a device twice"));
    }
    Ok(Devices::List(list))
}

/// `i/n`: shard i (0-based) of n.
pub fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let err = || format!("'{s}' is not a shard: use i/n with 0 <= i < n, e.g. 0/4");
    let (i, n) = s.split_once('/').ok_or_else(err)?;
    let (i, n): (u64, u64) = (
        i.trim().parse().map_err(|_| err())?,
        n.trim().parse().map_err(|_| err())?,
    );
    if n == 0 || i >= n {
        return Err(err());
    }
    Ok((i, n))
}

/// Whether a burst belongs to shard i of n: a stable hash of its name (FNV-1a), so every machine
/// of a job array agrees without talking to the others.
pub fn in_shard(name: &str, (i, n): (u64, u64)) -> bool {
    let hash = name.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    });
    hash % n == i
}

/// What happened to each burst.
#[derive(Debug, Default)]
pub struct Report {
    pub done: usize,
    pub skipped: usize,
    pub failed: Vec<(String, String)>,
    /// Timings and the bursts each device took (of the bursts not skipped).
    pub stats: BatchStats,
}

/// Process the jobs on the engines with the library's scheduler: merge (or develop one frame),
/// save `out_dir/<name>.<ext>`; existing outputs are skipped unless `overwrite`; a failing burst
/// is reported and the batch goes on.
pub fn run(
    engines: &[Engine],
    jobs: &[Job],
    out_dir: &Path,
    ext: &str,
    overwrite: bool,
    options: &BatchOptions,
) -> Result<Report> {
    let mut report = Report::default();
    let mut todo: Vec<&Job> = Vec::new();
    let mut work = Vec::new();
    for job in jobs {
        let output = out_dir.join(format!("{}.{ext}", job.name));
        if output.exists() && !overwrite {
            report.skipped += 1;
        } else {
            todo.push(job);
            work.push(BatchJob {
                inputs: job.files.clone(),
                output,
            });
        }
    }
    // Drawn only when stderr is a terminal: the bursts' steps, so the ETA moves within a burst.
    const STEPS: u64 = 100;
    let bar = indicatif::ProgressBar::new(work.len() as u64 * STEPS).with_style(
        indicatif::ProgressStyle::with_template("{bar:30} {percent:>3}% {msg}, ETA {eta}")
            .expect("a valid template"),
    );
    let mut fraction = vec![0u64; work.len()];
    let mut finished = 0;
    let batch = run_batch(engines, &work, options, &mut |event| {
        match event {
            BatchEvent::Started { job, device } => {
                bar.set_message(format!(
                    "{}/{} bursts, {} on device {device}",
                    finished,
                    work.len(),
                    todo[job].name
                ));
            }
            BatchEvent::Progress { job, done, total } => {
                fraction[job] = STEPS * done as u64 / total.max(1) as u64;
            }
            BatchEvent::Finished { job, error } => {
                fraction[job] = STEPS;
                finished += 1;
                if let Some(e) = error {
                    bar.suspend(|| eprintln!("burstpipe: {}: failed: {e}", todo[job].name));
                }
            }
        }
        bar.set_position(fraction.iter().sum());
        ControlFlow::Continue(())
    })?;
    bar.finish_and_clear();
    for (job, result) in todo.iter().zip(&batch.results) {
        match result {
            Ok(()) => report.done += 1,
            Err(e) => report.failed.push((job.name.clone(), e.to_string())),
        }
    }
    report.stats = batch.stats;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_bursts() {
        let names: Vec<String> = (0..500).map(|i| format!("burst_{i:04}")).collect();
        for n in [1u64, 2, 3, 7] {
            for name in &names {
                let owners = (0..n).filter(|&i| in_shard(name, (i, n))).count();
                assert_eq!(owners, 1, "{name} belongs to {owners} of {n} shards");
            }
        }
        // Deals them out evenly enough to be worth running in parallel.
        let first = names.iter().filter(|n| in_shard(n, (0, 4))).count();
        assert!((90..160).contains(&first), "shard 0/4 got {first} of 500");
    }

    #[test]
    fn device_syntax() {
        assert_eq!(parse_devices("all"), Ok(Devices::All));
        assert_eq!(parse_devices("1, 0"), Ok(Devices::List(vec![0, 1])));
        for bad in ["", "x", "0,0", "1,-2", "0;1"] {
            assert!(parse_devices(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shard_syntax() {
        assert_eq!(parse_shard("1/4"), Ok((1, 4)));
        for bad in ["4/4", "1", "a/b", "0/0", "-1/3"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
