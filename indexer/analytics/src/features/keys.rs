//! One integer key per group for polars: an actor (a category's integer code) and an offset
//! (its window's or its block's from the first one read) packed into a `u64`. Polars groups a
//! single integer column by hashing it, or by slicing its runs when it is flagged sorted; a
//! pair of columns it first encodes row by row into bytes (the consumer windows' grouping by
//! (consumer, window, height) alone was a quarter of a second on a million accesses).

use polars::prelude::*;

use crate::load::BlockTimes;

/// The origins the packed keys count from: the first height and the first window of the
/// blocks read; every offset from them must fit in 32 bits.
pub(super) fn key_origins(blocks: &DataFrame, secs: i64) -> anyhow::Result<(i64, i64)> {
    let h = blocks.column("height")?.i64()?;
    let t = blocks.column("t")?.i64()?;
    let (h0, h1) = (h.min().unwrap_or(0), h.max().unwrap_or(0));
    let (w0, w1) = (
        t.min().unwrap_or(0).div_euclid(secs),
        t.max().unwrap_or(0).div_euclid(secs),
    );
    anyhow::ensure!(
        h1 - h0 < 1 << 32 && w1 - w0 < 1 << 32,
        "heights {h0}..{h1} or windows {w0}..{w1} span more than 2^32: analyze a shorter range"
    );
    Ok((h0, w0))
}

/// `df` (rows with a `height`) with each row's `window`, its block's time floor-divided by
/// `secs`; a row whose block was not read is dropped, as an inner join with the blocks would.
/// Looked up in `times`, not joined: the hash join of the 823,782 accesses of
/// `make bench-analytics` with their 201,600 blocks was a third of the consumers' first pass.
pub(super) fn with_windows(
    mut df: DataFrame,
    times: &BlockTimes,
    secs: i64,
) -> anyhow::Result<DataFrame> {
    let windows: Int64Chunked = df
        .column("height")?
        .i64()?
        .into_iter()
        .map(|height| Some(times.get(height?)?.div_euclid(secs)))
        .collect();
    df.with_column(
        windows
            .into_series()
            .with_name("window".into())
            .into_column(),
    )?;
    Ok(df.lazy().filter(col("window").is_not_null()).collect()?)
}

/// `df` with `key`'s sorted flag set when its values are indeed ascending (here the windows
/// of rows sorted by block, ascending while block times do not go back), as it is.
pub(super) fn sorted_by(mut df: DataFrame, key: &str) -> anyhow::Result<DataFrame> {
    let ascending = {
        let ca = df.column(key)?.u64()?;
        ca.iter().zip(ca.iter().skip(1)).all(|(a, b)| a <= b)
    };
    if ascending {
        let mut c = df.column(key)?.clone();
        c.set_sorted_flag(polars::series::IsSorted::Ascending);
        df.with_column(c)?;
    }
    Ok(df)
}

/// `who`'s integer code (a category) in the high 32 bits, `offset` (0 <= offset < 2^32) in
/// the low ones.
pub(super) fn pack(who: Expr, offset: Expr) -> Expr {
    who.to_physical().cast(DataType::UInt64) * lit(1u64 << 32) + offset.cast(DataType::UInt64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_flagged_sorted_only_when_its_values_ascend() {
        let flag = |v: Vec<u64>| {
            let df = sorted_by(df!("k" => v).unwrap(), "k").unwrap();
            df.column("k").unwrap().is_sorted_flag() == polars::series::IsSorted::Ascending
        };
        assert!(flag(vec![1, 1, 2, 9]));
        // block times that go back would leave windows out of order: grouped by hashing then
        assert!(!flag(vec![1, 3, 2]));
        assert!(flag(Vec::new()));
    }

    #[test]
    fn each_row_gets_its_blocks_window_and_a_row_without_a_block_is_dropped() {
        let rows = df!("height" => [9_i64, 7, 12, 8, 3], "x" => ["a", "b", "c", "d", "e"]).unwrap();
        let read = |heights: Vec<i64>, times: Vec<i64>| {
            let times = BlockTimes::new(heights.into_iter().zip(times).collect());
            let out = with_windows(rows.clone(), &times, 3600).unwrap();
            let col = |c: &str| out.column(c).unwrap().as_materialized_series().clone();
            (
                col("x")
                    .str()
                    .unwrap()
                    .into_no_null_iter()
                    .map(String::from)
                    .collect::<Vec<_>>(),
                col("window")
                    .i64()
                    .unwrap()
                    .into_no_null_iter()
                    .collect::<Vec<_>>(),
            )
        };
        // blocks 7-9 (12 and 3 were not read); a time before 1970 floors down
        let (x, w) = read(vec![7, 8, 9], vec![7_300, -1, 10_900]);
        assert_eq!(x, ["a", "b", "d"]);
        assert_eq!(w, [3, 2, -1]);
        // a hole far wider than the blocks read: the map gives the same rows
        let (x, w) = read(vec![7, 8, 9, 1 << 31], vec![7_300, -1, 10_900, 0]);
        assert_eq!(x, ["a", "b", "d"]);
        assert_eq!(w, [3, 2, -1]);
    }

    #[test]
    fn keys_pack_offsets_from_the_first_block_and_refuse_a_span_beyond_32_bits() {
        let blocks = |heights: Vec<i64>, times: Vec<i64>| df!("height" => heights, "t" => times);
        let ok = blocks(vec![7, 9, 8], vec![7_300, 10_900, 7_300]).unwrap();
        assert_eq!(key_origins(&ok, 3600).unwrap(), (7, 2));
        // a span the low 32 bits cannot hold would mix actors' keys: refused, not packed
        let tall = blocks(vec![1, 1 << 32], vec![0, 60]).unwrap();
        assert_eq!(
            key_origins(&tall, 3600).unwrap(),
            (1, 0),
            "the last offset is 2^32 - 1"
        );
        let taller = blocks(vec![0, 1 << 32], vec![0, 60]).unwrap();
        assert!(key_origins(&taller, 3600).is_err());
        let long = blocks(vec![1, 2], vec![0, 1 << 33]).unwrap();
        assert!(key_origins(&long, 1).is_err());
        let empty = blocks(Vec::new(), Vec::new()).unwrap();
        assert_eq!(key_origins(&empty, 3600).unwrap(), (0, 0));
        // the actor's code above the offset
        let df = df!("who" => ["b", "a", "b"])
            .unwrap()
            .lazy()
            .with_columns([col("who").cast(DataType::from_categories(Categories::global()))])
            .with_columns([
                pack(col("who"), lit(5_i64)).alias("k"),
                col("who")
                    .to_physical()
                    .cast(DataType::UInt64)
                    .alias("code"),
            ])
            .collect()
            .unwrap();
        let k: Vec<u64> = df
            .column("k")
            .unwrap()
            .u64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        let code: Vec<u64> = df
            .column("code")
            .unwrap()
            .u64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        for (k, c) in k.iter().zip(&code) {
            assert_eq!((k >> 32, k & 0xffff_ffff), (*c, 5));
        }
        assert_eq!(k[0], k[2], "one actor, one key");
        assert_ne!(k[0], k[1]);
    }
}
