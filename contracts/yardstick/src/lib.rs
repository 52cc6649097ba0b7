//! Only here so that `cargo build -p cw20-base` has a package to resolve from.
