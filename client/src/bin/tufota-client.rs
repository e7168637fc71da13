//! The device client CLI. Its commands arrive with the client issue; until then it only
//! reports its version.
fn main() {
    println!("tufota-client {}", env!("CARGO_PKG_VERSION"));
}
