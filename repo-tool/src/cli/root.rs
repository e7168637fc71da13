//! `repo-tool root add-key|remove-key|threshold|expires|merge|publish`.

use std::path::PathBuf;

use clap::Subcommand;
use repo_tool::duration::parse_duration;
use repo_tool::keys::{read_public_key, LoadedKey};
use repo_tool::root_ceremony::{
    add_key, edit_root, merge, publish_root, remove_key, set_threshold, StagedRootReport,
};
use repo_tool::Result;
use tufota_client::metadata::TufTime;

use super::{open, parse_time_arg, print_report};

/// Each of add-key, remove-key, threshold and expires stages root N+1 in staged/root.json
/// (creating it from root N, or editing the one staged, whose signatures are then dropped).
/// Carry a copy to each holder, `repo-tool sign COPY --key …` there, bring the copies back,
/// `repo-tool root merge REPO COPY…`, then `repo-tool root publish REPO`.
#[derive(Subcommand)]
pub enum RootCommand {
    /// Authorise a key for a top-level role in root N+1.
    AddKey {
        repo: PathBuf,
        #[arg(long)]
        role: String,
        /// Public key file (TUF JSON or PEM) or private key (its public half is used).
        key: PathBuf,
    },
    /// Remove a key (by id) from a top-level role in root N+1.
    RemoveKey {
        repo: PathBuf,
        #[arg(long)]
        role: String,
        keyid: String,
    },
    /// Set a top-level role's threshold in root N+1.
    Threshold {
        repo: PathBuf,
        #[arg(long)]
        role: String,
        threshold: u64,
    },
    /// Set root N+1's expiry: a duration from now (365d) or a time (YYYY-MM-DDTHH:MM:SSZ).
    Expires { repo: PathBuf, expires: String },
    /// Merge the signatures of signed copies of staged/root.json into it.
    Merge {
        repo: PathBuf,
        #[arg(required = true, num_args = 1..)]
        copies: Vec<PathBuf>,
    },
    /// Publish staged root N+1: refused unless signed by a threshold of root N's root keys
    /// and a threshold of its own. --key adds signatures first.
    Publish {
        repo: PathBuf,
        #[arg(long = "key", num_args = 1..)]
        keys: Vec<String>,
    },
}

fn staged(json: bool, r: &StagedRootReport) {
    print_report(json, r, || {
        let roles: Vec<String> = r
            .roles
            .iter()
            .map(|(n, k)| format!("{n}: {} of {} key(s)", k.threshold, k.keyids.len()))
            .collect();
        format!(
            "staged root {} at {} (expires {}; {}); its signatures were reset: sign it",
            r.version,
            r.file.display(),
            r.expires,
            roles.join(", ")
        )
    });
}

pub fn run(command: RootCommand, json: bool) -> Result<()> {
    let now = chrono::Utc::now();
    match command {
        RootCommand::AddKey { repo, role, key } => {
            let repo = open(&repo)?;
            let key = read_public_key(&key)?;
            let r = edit_root(&repo, now, |root| add_key(root, &role, &key).map(|_| ()))?;
            staged(json, &r);
        }
        RootCommand::RemoveKey { repo, role, keyid } => {
            let repo = open(&repo)?;
            let r = edit_root(&repo, now, |root| remove_key(root, &role, &keyid))?;
            staged(json, &r);
        }
        RootCommand::Threshold {
            repo,
            role,
            threshold,
        } => {
            let repo = open(&repo)?;
            let r = edit_root(&repo, now, |root| set_threshold(root, &role, threshold))?;
            staged(json, &r);
        }
        RootCommand::Expires { repo, expires } => {
            let repo = open(&repo)?;
            let at = if expires.contains('T') {
                parse_time_arg(&expires)?
            } else {
                now + parse_duration(&expires)?
            };
            let r = edit_root(&repo, now, |root| {
                root.expires = TufTime(at);
                Ok(())
            })?;
            staged(json, &r);
        }
        RootCommand::Merge { repo, copies } => {
            let repo = open(&repo)?;
            let r = merge(&repo, &copies)?;
            print_report(json, &r, || {
                let mut s = format!(
                    "{}: {} signature(s) now; added {}",
                    r.file.display(),
                    r.signatures,
                    if r.added.is_empty() {
                        "none".into()
                    } else {
                        r.added.join(", ")
                    }
                );
                if !r.ignored.is_empty() {
                    s.push_str(&format!(
                        "; ignored (not valid for root N or N+1): {}",
                        r.ignored.join(", ")
                    ));
                }
                s
            });
        }
        RootCommand::Publish { repo, keys } => {
            let repo = open(&repo)?;
            let keys = LoadedKey::load_all(&keys)?;
            let r = publish_root(&repo, &keys)?;
            print_report(json, &r, || {
                format!(
                    "published root {} -> {}; if it rotated timestamp or snapshot keys, run repo-tool refresh --role snapshot with the new keys",
                    r.version,
                    r.file.display()
                )
            });
        }
    }
    Ok(())
}
