//! Writes the API contract built from the code: `openapi.json` and `docs/api.html`.
//!
//! `cargo run -p mostrador --example openapi` (from anywhere in the repository). The black-box
//! test `openapi` fails while the committed files differ from what this writes.

#[allow(clippy::print_stdout)] // a developer tool: its one line of output is the point
fn main() -> std::io::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = mostrador::contract::json_text();
    std::fs::write(root.join("openapi.json"), &doc)?;
    std::fs::write(root.join("docs/api.html"), mostrador::contract::html_text())?;
    let operations = mostrador::contract::operation_count();
    println!("wrote openapi.json ({operations} operations) and docs/api.html");
    Ok(())
}
