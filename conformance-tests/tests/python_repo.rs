//! Cross-implementation: a repository written by python-tuf's Metadata API
//! (`conformance-tests/python/make_fixtures.py`: three roots with key rotations, rotated
//! snapshot/timestamp keys, path and hash-bin delegations two levels deep) is refreshed and
//! every target downloaded through a real HTTP server, and the requests are exactly the
//! ones the TUF client workflow implies.
//!
//! Needs python-tuf (see [`conformance_tests::python`]).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use common::test_transport;
use conformance_tests::http::TestServer;
use serde_json::Value;
use tufota_client::metadata::HashAlgorithm;
use tufota_client::transport::{encode_path_segment, DefaultTransport, Mirror};
use tufota_client::updater::{Updater, UpdaterConfig};

fn s(v: &Value) -> String {
    v.as_str().expect("string").to_string()
}

#[test]
fn python_tuf_repository_refreshes_and_downloads_with_the_expected_requests() {
    let tmp = conformance_tests::python_fixtures();
    let repo = tmp.path().join("repo");
    let expected: Value =
        serde_json::from_slice(&fs::read(repo.join("expected.json")).unwrap()).unwrap();
    let server = TestServer::serve(&repo).unwrap();

    let meta_dir = tmp.path().join("client/metadata");
    let target_dir = tmp.path().join("client/targets");
    fs::create_dir_all(&meta_dir).unwrap();
    fs::copy(
        repo.join("metadata").join(s(&expected["initial_root"])),
        meta_dir.join("root.json"),
    )
    .unwrap();
    let mirror = Mirror::new(&server.url("metadata"), Some(&server.url("targets"))).unwrap();
    let mut updater = Updater::new(
        &meta_dir,
        vec![mirror],
        Box::new(DefaultTransport::new(test_transport())),
        UpdaterConfig::default(),
    )
    .unwrap();
    updater.refresh().expect("refresh");

    let versions: BTreeMap<String, u64> = expected["final_versions"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    let mut want: Vec<String> = [
        "/metadata/2.root.json",
        "/metadata/3.root.json",
        "/metadata/4.root.json",
        "/metadata/timestamp.json",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    want.push(format!("/metadata/{}.snapshot.json", versions["snapshot"]));
    want.push(format!("/metadata/{}.targets.json", versions["targets"]));
    assert_eq!(server.requests(), want);
    assert_eq!(updater.trusted().root().signed().version, versions["root"]);

    // The roles a lookup walks through before it reaches the role holding the target
    // (make_fixtures.py: role1 terminating on files/*, role2 below it, hash bins).
    let chain: BTreeMap<&str, Vec<&str>> = BTreeMap::from([
        ("targets", vec![]),
        ("role1", vec!["role1"]),
        ("role2", vec!["role1", "role2"]),
        ("bins-0", vec!["bins-0"]),
        ("bins-1", vec!["bins-1"]),
    ]);
    let mut loaded: BTreeSet<String> = BTreeSet::new();
    for target in expected["targets"].as_array().unwrap() {
        let path = s(&target["path"]);
        let role = s(&target["role"]);
        let sha256 = s(&target["sha256"]);
        server.clear_requests();
        let info = updater
            .target_info(&path)
            .expect("lookup")
            .unwrap_or_else(|| panic!("{path} not found"));
        assert_eq!(info.role, role, "{path}");
        assert_eq!(info.file.length, target["length"].as_u64().unwrap());
        assert_eq!(
            info.file.custom.as_ref(),
            target["custom"].as_object().map(|_| &target["custom"])
        );
        let stored = updater
            .download_target(&info, &target_dir)
            .expect("download");
        let bytes = fs::read(&stored).unwrap();
        assert_eq!(HashAlgorithm::Sha256.hex_digest(&bytes), sha256, "{path}");

        let mut want = Vec::new();
        for r in chain.get(role.as_str()).expect("known role") {
            if loaded.insert(r.to_string()) {
                want.push(format!(
                    "/metadata/{}.{}.json",
                    versions[*r],
                    encode_path_segment(r)
                ));
            }
        }
        let (dir, base) = path
            .rsplit_once('/')
            .map_or(("", path.as_str()), |(d, b)| (d, b));
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        want.push(format!("/targets/{prefix}{sha256}.{base}"));
        assert_eq!(server.requests(), want, "requests for {path}");
    }

    // The trusted directory holds the final version of every role, as python-tuf wrote it.
    let mut stored: Vec<String> = fs::read_dir(&meta_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        [
            "bins-0.json",
            "bins-1.json",
            "role1.json",
            "role2.json",
            "root.json",
            "snapshot.json",
            "targets.json",
            "timestamp.json"
        ]
    );
    assert_eq!(
        fs::read(meta_dir.join("root.json")).unwrap(),
        fs::read(repo.join("metadata/3.root.json")).unwrap()
    );
    assert_eq!(
        fs::read(meta_dir.join("role2.json")).unwrap(),
        fs::read(repo.join(format!("metadata/{}.role2.json", versions["role2"]))).unwrap()
    );
}
