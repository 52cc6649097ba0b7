//! `make bench-quality`: profiling a 1 GiB CSV (`--size-mib`), in one run, against
//! (a) reading it with polars alone — the same reader `datapact quality` uses, all cores — and
//! (b) the pandas peer (`indexer/quality/peer/profile.py`: the same profile, pandas'
//!     start-up reported apart).
//! Each runs in a child process of its own on the same file, warm in the page cache, best of
//! `--repeats`; the peak resident set is each process's own.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Parser;

#[path = "bench/trips.rs"]
mod trips;

#[derive(Parser)]
#[command(
    about = "datapact's profile of a large CSV against polars alone and pandas (see the source's header)"
)]
struct Args {
    /// The file's size, in MiB.
    #[arg(long, default_value_t = 1024)]
    size_mib: u64,
    /// Scratch folder (the file is kept between runs).
    #[arg(long, default_value = ".data/bench-quality")]
    dir: PathBuf,
    #[arg(long, default_value_t = 2)]
    repeats: usize,
    /// The peer's Python (with pandas).
    #[arg(long, env = "QUALITY_PEER_PYTHON")]
    python: Option<PathBuf>,
    /// Internal: `read` or `profile` FILE in this process, printing seconds and peak MiB.
    #[arg(long, hide = true, num_args = 2)]
    child: Option<Vec<String>>,
}

fn child(what: &str, file: &Path) -> anyhow::Result<()> {
    let t = Instant::now();
    let rows = match what {
        "read" => datapact_plane::table::read(file)?.height(),
        // what `datapact quality FILE` does: the CSV read in chunks
        _ => datapact_quality::profile::profile_file(file)?.rows as usize,
    };
    println!(
        "{}",
        serde_json::json!({"seconds": t.elapsed().as_secs_f64(), "peak_mib": datapact_analytics::peak_rss_mib(), "rows": rows})
    );
    Ok(())
}

/// Runs a child, returns its JSON line.
fn run(cmd: &mut std::process::Command) -> anyhow::Result<serde_json::Value> {
    let out = cmd.output().context("starting a child")?;
    anyhow::ensure!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(line.lines().last().unwrap_or_default())
        .with_context(|| format!("{cmd:?} printed {line}"))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(c) = &args.child {
        return child(&c[0], Path::new(&c[1]));
    }
    std::fs::create_dir_all(&args.dir)?;
    let file_of = |mib: u64| -> anyhow::Result<PathBuf> {
        let file = args.dir.join(format!("trips-{mib}mib.csv"));
        if !file.exists() {
            let t = Instant::now();
            trips::write_csv(&file, mib)?;
            println!(
                "wrote {} in {:.1} s (apart)",
                file.display(),
                t.elapsed().as_secs_f64()
            );
        }
        Ok(file)
    };
    let file = file_of(args.size_mib)?;
    let bytes = std::fs::metadata(&file)?.len() as f64;
    // warm the page cache for everyone
    std::io::copy(&mut std::fs::File::open(&file)?, &mut std::io::sink())?;
    let exe = std::env::current_exe()?;
    let best_of = |what: &str, file: &Path| -> anyhow::Result<(f64, f64, u64)> {
        let mut best = (f64::INFINITY, 0.0, 0);
        for _ in 0..args.repeats {
            let v = run(std::process::Command::new(&exe)
                .arg("--child")
                .arg(what)
                .arg(file))?;
            let s = v["seconds"].as_f64().unwrap_or(f64::NAN);
            if s < best.0 {
                best = (
                    s,
                    v["peak_mib"].as_f64().unwrap_or(f64::NAN),
                    v["rows"].as_u64().unwrap_or(0),
                );
            }
        }
        Ok(best)
    };
    let best = |what: &str| best_of(what, &file);
    let read = best("read")?;
    let profile = best("profile")?;
    // memory flat in the file's size: the same profile of a file a quarter the size
    let small_mib = (args.size_mib / 4).max(1);
    let small = best_of("profile", &file_of(small_mib)?)?;
    let mib = bytes / (1u64 << 20) as f64;
    println!(
        "bench-quality: {} ({:.0} MiB, {} rows), {} cores, best of {}",
        file.display(),
        mib,
        read.2,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        args.repeats
    );
    println!("                                   time (s)    MiB/s   peak (MiB)");
    println!(
        "    polars read alone              {:>8.2} {:>8.0} {:>12.0}",
        read.0,
        mib / read.0,
        read.1
    );
    println!(
        "    datapact profile (read + stats) {:>7.2} {:>8.0} {:>12.0}",
        profile.0,
        mib / profile.0,
        profile.1
    );
    println!(
        "    ratio of polars' scan rate     {:>8.2}",
        read.0 / profile.0
    );
    println!(
        "    profile's peak at {small_mib} MiB: {:.0} MiB; at {:.0} MiB: {:.0} MiB (flat: x{:.2} for x{:.1} the bytes)",
        small.1,
        mib,
        profile.1,
        profile.1 / small.1,
        mib / small_mib as f64
    );
    match &args.python {
        Some(py) => {
            let script = exe
                .ancestors()
                .map(|a| a.join("indexer/quality/peer/profile.py"))
                .find(|p| p.exists())
                .unwrap_or_else(|| PathBuf::from("indexer/quality/peer/profile.py"));
            let mut best = (f64::INFINITY, 0.0, 0.0, 0.0);
            for _ in 0..args.repeats {
                let v = run(std::process::Command::new(py).arg(&script).arg(&file))?;
                let s = v["read_s"].as_f64().unwrap_or(f64::NAN)
                    + v["profile_s"].as_f64().unwrap_or(f64::NAN);
                if s < best.0 {
                    best = (
                        s,
                        v["peak_mib"].as_f64().unwrap_or(f64::NAN),
                        v["import_s"].as_f64().unwrap_or(f64::NAN),
                        v["read_s"].as_f64().unwrap_or(f64::NAN),
                    );
                }
            }
            println!(
                "    pandas peer (read + stats)     {:>8.2} {:>8.0} {:>12.0}   (read {:.2} s; importing pandas {:.2} s, apart)",
                best.0,
                mib / best.0,
                best.1,
                best.3,
                best.2
            );
            println!(
                "    datapact advantage (peer / datapact) {:>5.1}x time, {:.1}x memory",
                best.0 / profile.0,
                best.1 / profile.1
            );
        }
        None => println!("    (no peer: set QUALITY_PEER_PYTHON or run `make bench-quality`)"),
    }
    Ok(())
}
