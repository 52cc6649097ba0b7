// The migrations are embedded by `sqlx::migrate!`: a new or changed migration must rebuild this
// crate even when no Rust source changed (sqlx's own advice, `sqlx migrate build-script`).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
