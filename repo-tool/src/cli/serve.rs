//! `repo-tool serve`.

use std::net::TcpListener;
use std::path::PathBuf;

use clap::Args;
use repo_tool::{RepoError, Result};

/// Serve REPO/metadata at /metadata/ and REPO/targets at /targets/.
///
/// GET, HEAD, Range, keep-alive. For development, tests and demos; production uses any static web server.
#[derive(Args)]
pub struct ServeArgs {
    pub repo: PathBuf,
    /// Address to listen on; port 0 picks a free one (printed on stdout).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
}

pub fn run(a: ServeArgs, json: bool) -> Result<()> {
    let listener = TcpListener::bind(&a.addr)
        .map_err(|e| RepoError::Usage(format!("--addr {}: {e}", a.addr)))?;
    let local = listener
        .local_addr()
        .map_err(|e| RepoError::Usage(format!("--addr {}: {e}", a.addr)))?;
    if json {
        println!(
            "{}",
            serde_json::json!({"listening": format!("http://{local}")})
        );
    } else {
        println!("serving {} on http://{local}", a.repo.display());
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    repo_tool::serve::serve(&a.repo, listener).map_err(RepoError::io(&a.repo, "serve"))
}
