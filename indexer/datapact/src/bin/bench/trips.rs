//! The benchmarks' file: a trips CSV of a given size, the same bytes every run.

use std::path::Path;

/// A CSV of about `mib` MiB.
pub fn write_csv(path: &Path, mib: u64) -> anyhow::Result<()> {
    use std::io::Write;
    let target = mib << 20;
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut written = f.write(b"trip_id,city,distance_km,fare,started_at\n")? as u64;
    let cities = ["Oslo", "Lyon", "Turin", "Porto", "Ghent"];
    let mut i: u64 = 0;
    let mut line = String::with_capacity(80);
    while written < target {
        let x = i.wrapping_mul(2_654_435_761) % 100_000;
        line.clear();
        use std::fmt::Write as _;
        writeln!(
            line,
            "{i},{},{}.{:02},{},2026-{:02}-{:02}T{:02}:{:02}:00Z",
            cities[(i % 5) as usize],
            x / 1000,
            x % 100,
            x % 997,
            1 + i % 12,
            1 + i % 28,
            i % 24,
            i % 60
        )?;
        f.write_all(line.as_bytes())?;
        written += line.len() as u64;
        i += 1;
    }
    f.flush()?;
    Ok(())
}
