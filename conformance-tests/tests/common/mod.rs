//! Set-up shared by the client and interoperability tests: a signed repository in a
//! temporary directory, served by a real HTTP server on 127.0.0.1, a client metadata
//! directory initialised with the repository's first root, and the ways they run a client.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use conformance_tests::http::TestServer;
use conformance_tests::repo::{new_key, Key, TestRepo};
use tempfile::TempDir;
use tufota_client::store::MetadataStore;
use tufota_client::transport::{DefaultTransport, Mirror, TransportConfig};
use tufota_client::updater::{TargetInfo, UpdateError, Updater, UpdaterConfig};

pub struct Env {
    pub tmp: TempDir,
    pub repo: TestRepo,
    pub server: TestServer,
    pub meta_dir: PathBuf,
    pub target_dir: PathBuf,
    pub config: UpdaterConfig,
    pub transport: TransportConfig,
}

/// Short limits so attack tests end quickly; the checks are the same as with defaults.
pub fn test_transport() -> TransportConfig {
    TransportConfig {
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(5),
        min_bytes_per_sec: 200,
        slow_grace: Duration::from_millis(300),
    }
}

impl Env {
    pub fn new() -> Env {
        let tmp = tempfile::tempdir().expect("tempdir");
        let repo = TestRepo::new(&tmp.path().join("repo"));
        let server = TestServer::serve(&repo.dir).expect("server");
        let meta_dir = tmp.path().join("client/metadata");
        fs::create_dir_all(&meta_dir).expect("client dir");
        fs::write(meta_dir.join("root.json"), repo.initial_root()).expect("root");
        let target_dir = tmp.path().join("client/targets");
        Env {
            tmp,
            repo,
            server,
            meta_dir,
            target_dir,
            config: UpdaterConfig::default(),
            transport: test_transport(),
        }
    }

    pub fn mirror(&self) -> Mirror {
        Mirror::new(
            &self.server.url("metadata"),
            Some(&self.server.url("targets")),
        )
        .expect("mirror")
    }

    pub fn updater(&self) -> Updater {
        Updater::new(
            &self.meta_dir,
            vec![self.mirror()],
            Box::new(DefaultTransport::new(self.transport.clone())),
            self.config.clone(),
        )
        .expect("updater")
    }

    pub fn refresh(&self) -> Result<Updater, UpdateError> {
        let mut u = self.updater();
        u.refresh()?;
        Ok(u)
    }

    /// Refresh, look the target up, download it.
    pub fn download(&self, name: &str) -> Result<PathBuf, UpdateError> {
        let mut u = self.refresh()?;
        let info: TargetInfo = u.target_info(name)?.ok_or_else(|| UpdateError::NotListed {
            role: name.into(),
            listed_in: "targets".into(),
        })?;
        u.download_target(&info, &self.target_dir)
    }

    /// The client's trusted metadata directory, file name to bytes.
    pub fn client_state(&self) -> BTreeMap<String, Vec<u8>> {
        dir_contents(&self.meta_dir)
    }
}

pub fn dir_contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let e = e.expect("dir entry");
        let name = e.file_name().into_string().expect("utf-8 name");
        out.insert(name, fs::read(e.path()).expect("read"));
    }
    out
}

/// Asserts `result` failed and its one-line message mentions every needle; returns the error.
pub fn refused<T>(result: Result<T, UpdateError>, needles: &[&str]) -> UpdateError {
    let Err(err) = result else {
        panic!("expected the update to be refused, it succeeded");
    };
    let text = err.to_string();
    assert!(!text.contains('\n'), "multi-line error: {text}");
    for n in needles {
        assert!(
            text.to_lowercase().contains(&n.to_lowercase()),
            "error {text:?} does not mention {n:?}"
        );
    }
    err
}

/// Asserts the trusted directory is byte-for-byte as `before`, except that each file in
/// `newer` may hold exactly the given bytes (a newer document that fully verified before
/// the refusal). Nothing else may appear, disappear or change.
pub fn assert_unchanged_except(
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
    newer: &[(&str, Vec<u8>)],
) {
    let names: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for name in names {
        match newer.iter().find(|(n, _)| n == name) {
            Some((_, bytes)) if after.get(name) == Some(bytes) => {}
            _ => assert_eq!(
                after.get(name),
                before.get(name),
                "{name} changed in the trusted metadata directory"
            ),
        }
    }
}

/// "release", delegated by parent-a (team-a/*) and by parent-b (team-b/*), each naming its
/// own key for it, and signed with parent-a's only; it lists `team-a/fw.bin` ("trusted A")
/// and `team-b/fw.bin` ("malicious B"). Not yet published. Returns parent-b's key for it.
pub fn delegate_release_from_two_parents(repo: &mut TestRepo) -> Key {
    repo.delegate("targets", "parent-a", &["team-a/*"], false);
    repo.delegate("targets", "parent-b", &["team-b/*"], false);
    repo.delegate("parent-a", "release", &["team-a/*"], false);
    let parent_b_key = new_key();
    repo.delegate_to_key(
        "parent-b",
        "release",
        &["team-b/*"],
        false,
        parent_b_key.clone(),
    );
    repo.add_target("release", "team-a/fw.bin", b"trusted A");
    repo.add_target("release", "team-b/fw.bin", b"malicious B");
    parent_b_key
}

/// A library `Updater` that trusts `root` (a root file's bytes, given out of band), reads one
/// mirror with default limits, and has refreshed: how an application embedding tufota meets
/// another implementation's repository.
pub fn refreshed_updater(
    metadata_dir: &Path,
    root: &[u8],
    metadata_url: &str,
    targets_url: &str,
) -> Updater {
    MetadataStore::create(metadata_dir)
        .expect("metadata dir")
        .save("root", root)
        .expect("save root");
    let mirror = Mirror::new(metadata_url, Some(targets_url)).expect("mirror");
    let mut updater = Updater::new(
        metadata_dir,
        vec![mirror],
        Box::new(DefaultTransport::new(TransportConfig::default())),
        UpdaterConfig::default(),
    )
    .expect("updater");
    updater.refresh().expect("refresh");
    updater
}

/// Runs the real `tufota-client` binary with `args` (the conformance protocol's commands).
pub fn run_client(args: &[&str]) -> Output {
    Command::new(conformance_tests::bin::tufota_client())
        .args(args)
        .output()
        .expect("run tufota-client")
}

/// A test path as a command-line argument.
pub fn utf8(p: &Path) -> &str {
    p.to_str().expect("UTF-8 test path")
}
