//! The connections the project opens to Postgres, as the operating system sees them.

use super::*;

/// The TCP sockets of this process connected to `port`, and whether each has Nagle's
/// algorithm off (`TCP_NODELAY`). Read from the process's own descriptors, as the pool keeps
/// its sockets to itself.
fn tcp_sockets_to(port: u16) -> Vec<(i32, bool)> {
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for fd in fds.flatten() {
        let Some(fd) = fd.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        // SAFETY: `addr` is large enough for any address and `len` says how large it is; a
        // descriptor that is not a connected socket (or was closed meanwhile) fails the call
        let peer = unsafe {
            libc::getpeername(fd, (&raw mut addr).cast::<libc::sockaddr>(), &raw mut len)
        };
        if peer != 0 {
            continue;
        }
        let peer_port = match i32::from(addr.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says the storage holds a sockaddr_in
                let v4 = unsafe { &*(&raw const addr).cast::<libc::sockaddr_in>() };
                u16::from_be(v4.sin_port)
            }
            libc::AF_INET6 => {
                // SAFETY: the family says the storage holds a sockaddr_in6
                let v6 = unsafe { &*(&raw const addr).cast::<libc::sockaddr_in6>() };
                u16::from_be(v6.sin6_port)
            }
            _ => continue,
        };
        if peer_port != port {
            continue;
        }
        let mut on: libc::c_int = 0;
        let mut on_len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: `on` is a c_int and `on_len` its size, as TCP_NODELAY's value is
        let got = unsafe {
            libc::getsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&raw mut on).cast::<libc::c_void>(),
                &raw mut on_len,
            )
        };
        if got == 0 {
            out.push((fd, on != 0));
        }
    }
    out
}

/// With Nagle's algorithm on, a COPY's last message (CopyDone, a few bytes after the rows)
/// waits for the server to acknowledge the rows, which Linux delays by 40 ms: once per table
/// in every batch the ingester writes and every run the analysis stores. `make bench-ingest`
/// found the write path at a quarter of a raw COPY's rate, and the server's log showed COPYs
/// of a few rows taking 40-45 ms each. sqlx 0.9.0
/// left Nagle on (0.9.1 turns it off): every connection the project opens must have it off.
#[tokio::test(flavor = "multi_thread")]
async fn every_connection_to_postgres_sends_at_once_with_nagle_off() -> anyhow::Result<()> {
    let url = fresh_database("e2e_nodelay").await?;
    let port = url.parse::<sqlx::postgres::PgConnectOptions>()?.get_port();
    let pool = datapact_index::db::connect(&url, 2).await?;
    let mut a = pool.acquire().await?;
    let mut b = pool.acquire().await?;
    sqlx::query("select 1").execute(&mut *a).await?;
    sqlx::query("select 1").execute(&mut *b).await?;
    let sockets = tcp_sockets_to(port);
    assert!(
        sockets.len() >= 2,
        "the pool's two connections are TCP sockets to port {port}: {sockets:?}"
    );
    let nagle: Vec<i32> = sockets
        .iter()
        .filter(|(_, nodelay)| !nodelay)
        .map(|(fd, _)| *fd)
        .collect();
    assert!(
        nagle.is_empty(),
        "sockets to Postgres with Nagle's algorithm on (descriptors {nagle:?} of {sockets:?})"
    );
    Ok(())
}

/// Migration 4 sets the cluster's read-only role up, and every database of the cluster shares
/// that role: databases migrated at once once failed with "tuple concurrently updated" (CI, two
/// tests of tests/runs.rs creating their databases together). Each connects as it would.
#[tokio::test(flavor = "multi_thread")]
async fn databases_of_one_cluster_migrated_at_once_all_get_the_schema() -> anyhow::Result<()> {
    let mut urls = Vec::new();
    for i in 0..8 {
        urls.push(fresh_database(&format!("e2e_migrate_together_{i}")).await?);
    }
    let tasks: Vec<_> = urls
        .iter()
        .map(|url| {
            let url = url.clone();
            tokio::spawn(async move { datapact_index::db::connect(&url, 1).await })
        })
        .collect();
    for (url, task) in urls.iter().zip(tasks) {
        let pool = task.await?.map_err(|e| anyhow::anyhow!("{url}: {e:#}"))?;
        datapact_index::db::check_schema(&pool).await?;
    }
    Ok(())
}
