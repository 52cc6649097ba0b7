//! Prints docs/events.md from the event catalogue (`make docs`).
fn main() {
    print!("{}", datapact_types::events::render_markdown());
}
