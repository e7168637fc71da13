//! The publisher CLI. Its commands arrive with the repo-tool issue.
fn main() {
    println!("repo-tool {}", env!("CARGO_PKG_VERSION"));
}
