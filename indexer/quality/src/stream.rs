//! The profile of a CSV read in chunks, so memory stays flat in the file's size: the same
//! [`Profile`] the whole-table path computes, from chunks of `chunk_bytes` cut at line ends
//! (outside quotes), each parsed by polars' reader (all cores) against the schema polars
//! inferred from the first chunk, while the previous chunk's statistics are taken.
//!
//! Counts, nulls, minima and maxima are exact; means and standard deviations are merged per
//! chunk (Chan et al.'s pairwise update), equal to the whole-table figures up to float
//! rounding. Distinct values and duplicate rows are counted from 64-bit hashes (polars'
//! vectorised hashing, fixed seed; a row's hash combines its values' hashes): exact up to a
//! hash collision (about 1 in 60,000 at 24M distinct values). A column's hashes stay in memory
//! up to `memory_distinct` distinct values, then go to 64 partition files in a scratch folder,
//! each counted on its own at the end.

use std::collections::HashSet;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{BufWriter, Cursor, Read, Write};
use std::path::{Path, PathBuf};

use polars::polars_utils::hashing::_boost_hash_combine;
use polars::prelude::*;

use crate::profile::{numbers, ColumnProfile, Profile};
use crate::QualityError;

/// How a large CSV is read.
#[derive(Clone, Debug)]
pub struct StreamOptions {
    /// bytes per chunk (a longer line grows its chunk)
    pub chunk_bytes: usize,
    /// distinct hashes a column keeps in memory before it spills to disk
    pub memory_distinct: usize,
    /// where spilled hashes go (a fresh folder inside; removed at the end); default: the
    /// system's temporary folder
    pub scratch: Option<PathBuf>,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            chunk_bytes: 64 << 20,
            memory_distinct: 1 << 20,
            scratch: None,
        }
    }
}

/// The values are hashes already: a set of them needs no second hash.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashSet64 = HashSet<u64, BuildHasherDefault<Identity>>;

const PARTITIONS: usize = 64;

/// Hashes on disk, split by their top 6 bits.
struct Spill {
    dir: PathBuf,
    files: Vec<BufWriter<File>>,
}

impl Spill {
    fn new(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let files = (0..PARTITIONS)
            .map(|i| {
                Ok(BufWriter::with_capacity(
                    1 << 16,
                    File::create(dir.join(format!("{i}")))?,
                ))
            })
            .collect::<std::io::Result<_>>()?;
        Ok(Spill { dir, files })
    }

    fn push(&mut self, h: u64) -> std::io::Result<()> {
        self.files[(h >> 58) as usize].write_all(&h.to_le_bytes())
    }

    /// Distinct hashes over every partition (two threads at a time).
    fn count(self) -> std::io::Result<u64> {
        let Spill { dir, files } = self;
        for mut f in files {
            f.flush()?;
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per = PARTITIONS.div_ceil(threads);
        let counts: Vec<std::io::Result<u64>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let dir = &dir;
                    s.spawn(move || -> std::io::Result<u64> {
                        let mut n = 0;
                        for i in (t * per)..((t + 1) * per).min(PARTITIONS) {
                            let mut bytes = Vec::new();
                            File::open(dir.join(format!("{i}")))?.read_to_end(&mut bytes)?;
                            let mut v: Vec<u64> = bytes
                                .chunks_exact(8)
                                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                                .collect();
                            v.sort_unstable();
                            v.dedup();
                            n += v.len() as u64;
                        }
                        Ok(n)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(std::io::Error::other("a counting thread failed")))
                })
                .collect()
        });
        let _ = std::fs::remove_dir_all(&dir);
        counts.into_iter().sum()
    }
}

/// Distinct hashes: a set until it holds `limit`, then a spill.
struct Distinct {
    set: HashSet64,
    spill: Option<Spill>,
    limit: usize,
    dir: PathBuf,
}

impl Distinct {
    fn new(limit: usize, dir: PathBuf) -> Self {
        Distinct {
            set: HashSet64::default(),
            spill: None,
            limit,
            dir,
        }
    }

    fn add(&mut self, hashes: &[u64]) -> std::io::Result<()> {
        if let Some(s) = &mut self.spill {
            for h in hashes {
                s.push(*h)?;
            }
            return Ok(());
        }
        self.set.extend(hashes.iter().copied());
        if self.set.len() > self.limit {
            let mut s = Spill::new(self.dir.clone())?;
            for h in self.set.drain() {
                s.push(h)?;
            }
            self.set = HashSet64::default();
            self.spill = Some(s);
        }
        Ok(())
    }

    fn count(self) -> std::io::Result<u64> {
        match self.spill {
            Some(s) => s.count(),
            None => Ok(self.set.len() as u64),
        }
    }
}

/// One column's running figures.
struct Acc {
    name: String,
    dtype: String,
    nulls: u64,
    /// non-null numbers seen, their mean and sum of squared deviations
    n: f64,
    mean: f64,
    m2: f64,
    min: Option<f64>,
    max: Option<f64>,
    distinct: Distinct,
}

impl Acc {
    fn numbers(&mut self, ca: &Float64Chunked) {
        let n = (ca.len() - ca.null_count()) as f64;
        if n == 0.0 {
            return;
        }
        let (mean, var) = (ca.mean().unwrap_or(0.0), ca.var(0).unwrap_or(0.0));
        let total = self.n + n;
        let delta = mean - self.mean;
        self.m2 += var * n + delta * delta * self.n * n / total;
        self.mean += delta * n / total;
        self.n = total;
        self.min = match (self.min, ca.min()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max = match (self.max, ca.max()) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

/// The last line end outside quotes in `block` (the length to cut), if any.
fn cut_point(block: &[u8]) -> Option<usize> {
    if !block.contains(&b'"') {
        return block.iter().rposition(|b| *b == b'\n').map(|i| i + 1);
    }
    let (mut quoted, mut cut) = (false, None);
    for (i, b) in block.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => cut = Some(i + 1),
            _ => {}
        }
    }
    cut
}

/// Reads `path` chunk by chunk, each cut at a line end outside quotes; sends each chunk's
/// bytes (the first with the header) on `tx`.
fn chunks(
    path: &Path,
    size: usize,
    tx: std::sync::mpsc::SyncSender<Vec<u8>>,
) -> std::io::Result<()> {
    let mut f = File::open(path)?;
    let mut carry: Vec<u8> = Vec::new();
    let mut want = size;
    loop {
        let mut block = std::mem::take(&mut carry);
        let start = block.len();
        block.resize(start + want, 0);
        let mut filled = start;
        while filled < block.len() {
            let n = f.read(&mut block[filled..])?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        let eof = filled < block.len();
        block.truncate(filled);
        if block.is_empty() {
            return Ok(());
        }
        let cut = if eof {
            Some(block.len())
        } else {
            cut_point(&block)
        };
        match cut {
            Some(c) => {
                carry = block.split_off(c);
                want = size;
                if tx.send(block).is_err() || (eof && carry.is_empty()) {
                    return Ok(());
                }
            }
            // a line longer than the chunk: read more of it
            None => {
                carry = block;
                want *= 2;
            }
        }
    }
}

/// The profile of the CSV at `path` (with a header), read in chunks; see the module's docs.
pub fn profile_csv(path: &Path, opt: &StreamOptions) -> Result<Profile, QualityError> {
    let shown = path.display().to_string();
    let io = |e: std::io::Error| QualityError::compute(format!("reading {shown}"), e);
    let scratch = opt
        .scratch
        .clone()
        .unwrap_or_else(std::env::temp_dir)
        .join(format!(
            "datapact-profile-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        ));
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(1);
    let (path_owned, size) = (path.to_path_buf(), opt.chunk_bytes.max(1 << 10));
    let reader = std::thread::spawn(move || chunks(&path_owned, size, tx));
    // chunks are parsed here, one ahead of the statistics: polars parses on every core
    let (ptx, prx) = std::sync::mpsc::sync_channel::<Result<DataFrame, QualityError>>(1);
    let shown2 = shown.clone();
    let parser = std::thread::spawn(move || {
        let mut schema: Option<SchemaRef> = None;
        for bytes in rx {
            let first = schema.is_none();
            let mut o = CsvReadOptions::default().with_has_header(first);
            if let Some(s) = &schema {
                o = o.with_schema(Some(s.clone()));
            }
            let df = o
                .into_reader_with_file_handle(Cursor::new(bytes))
                .finish()
                .map_err(|e| QualityError::compute(format!("parsing {shown2}"), e));
            if let Ok(d) = &df {
                if first {
                    schema = Some(d.schema().clone());
                }
            }
            let failed = df.is_err();
            if ptx.send(df).is_err() || failed {
                return;
            }
        }
    });
    let state = PlSeedableRandomStateQuality::seed_from_u64(0x5eed);
    let mut accs: Vec<Acc> = Vec::new();
    let mut rows_seen = Distinct::new(opt.memory_distinct, scratch.join("rows"));
    let mut rows: u64 = 0;
    let mut buf: Vec<u64> = Vec::new();
    for df in prx {
        let df = df?;
        if accs.is_empty() {
            accs = df
                .columns()
                .iter()
                .enumerate()
                .map(|(i, c)| Acc {
                    name: c.name().to_string(),
                    dtype: c.dtype().to_string(),
                    nulls: 0,
                    n: 0.0,
                    mean: 0.0,
                    m2: 0.0,
                    min: None,
                    max: None,
                    distinct: Distinct::new(opt.memory_distinct, scratch.join(format!("c{i}"))),
                })
                .collect();
        }
        rows += df.height() as u64;
        let mut row_hashes: Vec<u64> = Vec::new();
        for (c, acc) in df.columns().iter().zip(accs.iter_mut()) {
            let s = c.as_materialized_series();
            acc.nulls += c.null_count() as u64;
            buf.clear();
            s.vec_hash(state.clone(), &mut buf)
                .map_err(|e| QualityError::compute(format!("hashing column {:?}", c.name()), e))?;
            acc.distinct.add(&buf).map_err(io)?;
            // a row's hash combines its values' hashes, already computed for the columns
            if row_hashes.is_empty() {
                row_hashes.extend_from_slice(&buf);
            } else {
                for (r, h) in row_hashes.iter_mut().zip(&buf) {
                    *r = _boost_hash_combine(*r, *h);
                }
            }
            if let Some(ca) = numbers(c)? {
                acc.numbers(&ca);
            }
        }
        rows_seen.add(&row_hashes).map_err(io)?;
    }
    reader
        .join()
        .map_err(|_| QualityError::compute(format!("reading {shown}"), "the reader failed"))?
        .map_err(io)?;
    let _ = parser.join();
    let mut columns = Vec::with_capacity(accs.len());
    for a in accs {
        let numeric = a.n > 0.0 || a.min.is_some();
        columns.push(ColumnProfile {
            distinct: a.distinct.count().map_err(io)?,
            name: a.name,
            dtype: a.dtype,
            nulls: a.nulls,
            min: a.min,
            max: a.max,
            mean: numeric.then_some(a.mean),
            std: (a.n > 1.0).then(|| (a.m2 / (a.n - 1.0)).sqrt()),
        });
    }
    let distinct_rows = rows_seen.count().map_err(io)?;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(Profile {
        rows,
        duplicate_rows: rows.saturating_sub(distinct_rows),
        columns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table whose every 10th row repeats the row before it, with nulls and quoted line
    /// breaks now and then.
    fn write(path: &Path, rows: usize) {
        let line = |i: usize| {
            let fare = if i % 17 == 0 {
                String::new()
            } else {
                format!("{}.{}", i % 50, i % 7)
            };
            let note = if i % 13 == 0 {
                "\"two\nlines\"".to_string()
            } else {
                format!("n{}", i % 3)
            };
            format!("{i},{},{fare},{note}", ["Oslo", "Lyon", "Turin"][i % 3])
        };
        let mut f = std::io::BufWriter::new(File::create(path).unwrap());
        writeln!(f, "id,city,fare,note").unwrap();
        for i in 0..rows {
            writeln!(f, "{}", if i % 10 == 9 { line(i - 1) } else { line(i) }).unwrap();
        }
        f.flush().unwrap();
    }

    #[test]
    fn the_chunked_profile_equals_the_whole_table_profile() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        write(&path, 3000);
        let whole = crate::profile::profile(&datapact_plane::table::read(&path).unwrap()).unwrap();
        for (chunk, memory) in [(1 << 10, 16), (4 << 10, 1 << 20), (1 << 20, 8)] {
            let opt = StreamOptions {
                chunk_bytes: chunk,
                memory_distinct: memory,
                scratch: Some(dir.path().to_path_buf()),
            };
            let s = profile_csv(&path, &opt).unwrap();
            assert_eq!(
                (s.rows, s.duplicate_rows),
                (whole.rows, whole.duplicate_rows),
                "{chunk}"
            );
            for (a, b) in s.columns.iter().zip(&whole.columns) {
                assert_eq!(
                    (&a.name, &a.dtype, a.nulls, a.distinct),
                    (&b.name, &b.dtype, b.nulls, b.distinct),
                    "{chunk}"
                );
                assert_eq!((a.min, a.max), (b.min, b.max));
                let close = |x: Option<f64>, y: Option<f64>| match (x, y) {
                    (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * y.abs().max(1.0),
                    (x, y) => x == y,
                };
                assert!(
                    close(a.mean, b.mean) && close(a.std, b.std),
                    "{a:?} vs {b:?}"
                );
            }
        }
        assert!(whole.duplicate_rows > 0);
        // nothing left behind in the scratch folder
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("t.csv")]);
    }

    #[test]
    fn a_cut_falls_at_a_line_end_outside_quotes() {
        assert_eq!(cut_point(b"a,b\nc,d\ne"), Some(8));
        assert_eq!(cut_point(b"a,\"x\ny\"\nc"), Some(8));
        assert_eq!(cut_point(b"a,\"x\ny"), None);
        assert_eq!(cut_point(b"no line end"), None);
    }
}
