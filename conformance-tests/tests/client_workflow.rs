//! The client workflow against a real HTTP server: the exact requests a refresh and a
//! download make (TUF spec §5 and the request sequences the tuf-conformance suite expects),
//! reuse of stored metadata, the delegation search, mirrors, caching and unusual names.

mod common;

use std::fs;
use std::net::TcpListener;

use common::{refused, test_transport, Env};
use conformance_tests::http::{Fault, TestServer};
use tufota_client::transport::{DefaultTransport, Mirror};
use tufota_client::updater::{UpdateError, Updater, UpdaterConfig};

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn refresh_requests_exactly_what_the_workflow_needs() {
    let mut env = Env::new();
    env.refresh().expect("first refresh");
    assert_eq!(
        env.server.requests(),
        strings(&[
            "/metadata/2.root.json",
            "/metadata/timestamp.json",
            "/metadata/1.snapshot.json",
            "/metadata/1.targets.json",
        ])
    );
    let state = env.client_state();
    assert_eq!(
        state.keys().cloned().collect::<Vec<_>>(),
        strings(&[
            "root.json",
            "snapshot.json",
            "targets.json",
            "timestamp.json"
        ])
    );
    assert_eq!(
        state["snapshot.json"],
        env.repo.read_metadata_file("1.snapshot.json")
    );

    // Nothing new: only the root probe and timestamp; snapshot and targets come from disk.
    env.server.clear_requests();
    env.refresh().expect("second refresh");
    assert_eq!(
        env.server.requests(),
        strings(&["/metadata/2.root.json", "/metadata/timestamp.json"])
    );

    // A new timestamp naming a new snapshot, which names the same targets version.
    env.repo.publish();
    env.server.clear_requests();
    env.refresh().expect("third refresh");
    assert_eq!(
        env.server.requests(),
        strings(&[
            "/metadata/2.root.json",
            "/metadata/timestamp.json",
            "/metadata/2.snapshot.json",
        ])
    );

    // Two new roots, then everything new.
    env.repo.publish_root();
    env.repo.publish_root();
    env.repo.targets.get_mut("targets").unwrap().version += 1;
    env.repo.publish();
    env.server.clear_requests();
    env.refresh().expect("fourth refresh");
    assert_eq!(
        env.server.requests(),
        strings(&[
            "/metadata/2.root.json",
            "/metadata/3.root.json",
            "/metadata/4.root.json",
            "/metadata/timestamp.json",
            "/metadata/3.snapshot.json",
            "/metadata/2.targets.json",
        ])
    );
    assert_eq!(
        env.client_state()["root.json"],
        env.repo.read_metadata_file("3.root.json")
    );
}

#[test]
fn non_consistent_snapshot_repositories_use_plain_names() {
    let mut env = Env::new();
    env.repo.root.consistent_snapshot = Some(false);
    env.repo.publish_root();
    let target = env.repo.add_target("targets", "a/b.txt", b"plain");
    env.repo.targets.get_mut("targets").unwrap().version += 1;
    env.repo.publish();
    // The repository builder writes versioned names; serve the plain ones too.
    for (plain, versioned) in [
        ("snapshot.json", "2.snapshot.json"),
        ("targets.json", "2.targets.json"),
    ] {
        let bytes = env.repo.read_metadata_file(versioned);
        env.repo.write_metadata_file(plain, &bytes);
    }
    env.download("a/b.txt").expect("download");
    assert_eq!(
        env.server.requests(),
        strings(&[
            "/metadata/2.root.json",
            "/metadata/3.root.json",
            "/metadata/timestamp.json",
            "/metadata/snapshot.json",
            "/metadata/targets.json",
            "/targets/a/b.txt",
        ])
    );
    assert_eq!(target.length, 5);
}

/// targets → A (files/*) → C; targets → B (files/*); a lookup of files/x visits A, C, B in
/// pre-order, each fetched once, then finds the target in B.
#[test]
fn delegation_search_is_preorder_and_fetches_each_role_once() {
    let mut env = Env::new();
    env.repo.delegate("targets", "A", &["files/*"], false);
    env.repo.delegate("targets", "B", &["files/*"], false);
    env.repo.delegate("A", "C", &["files/*"], false);
    // A cycle back to A from C, and a diamond: C also delegates to B.
    env.repo.delegate("C", "A", &["files/*"], false);
    env.repo.delegate("C", "B", &["files/*"], false);
    env.repo.add_target("B", "files/x", b"x in B");
    env.repo.add_target("A", "files/y", b"y in A");
    env.repo.publish();
    env.server.clear_requests();
    let mut u = env.refresh().expect("refresh");
    let x = u.target_info("files/x").expect("lookup").expect("found");
    assert_eq!(x.role, "B");
    let y = u.target_info("files/y").expect("lookup").expect("found");
    assert_eq!(y.role, "A");
    assert!(u.target_info("other/z").expect("lookup").is_none());
    // Delegated roles by their percent-encoded names; "A" is "%41" in the local store.
    assert_eq!(
        env.server.requests(),
        strings(&[
            "/metadata/2.root.json",
            "/metadata/timestamp.json",
            "/metadata/2.snapshot.json",
            "/metadata/1.targets.json",
            "/metadata/1.A.json",
            "/metadata/1.C.json",
            "/metadata/1.B.json",
        ])
    );
    let state = env.client_state();
    for f in ["%41.json", "%42.json", "%43.json"] {
        assert!(state.contains_key(f), "{f} not stored: {:?}", state.keys());
    }
    // Next refresh: the stored delegated roles are still the versions snapshot names, so the
    // same lookup makes no request for them.
    env.server.clear_requests();
    let mut u = env.refresh().expect("refresh");
    assert_eq!(u.target_info("files/x").unwrap().unwrap().role, "B");
    assert_eq!(
        env.server.requests(),
        strings(&["/metadata/2.root.json", "/metadata/timestamp.json"])
    );
}

#[test]
fn terminating_delegation_ends_the_search() {
    let mut env = Env::new();
    env.repo.delegate("targets", "first", &["pkg/*"], true);
    env.repo.delegate("targets", "second", &["pkg/*"], false);
    env.repo.add_target("second", "pkg/p", b"p");
    env.repo.publish();
    let mut u = env.refresh().expect("refresh");
    assert!(u.target_info("pkg/p").expect("lookup").is_none());
    let requests = env.server.requests();
    assert!(requests.contains(&"/metadata/1.first.json".to_string()));
    assert!(!requests.contains(&"/metadata/1.second.json".to_string()));
}

#[test]
fn delegation_search_visits_at_most_the_configured_number_of_roles() {
    let mut env = Env::new();
    // A chain targets → d0 → d1 → … → d9; the target is at the end.
    env.repo.delegate("targets", "d0", &["*"], false);
    for i in 1..10 {
        env.repo
            .delegate(&format!("d{}", i - 1), &format!("d{i}"), &["*"], false);
    }
    env.repo.add_target("d9", "deep", b"deep");
    env.repo.publish();
    env.config = UpdaterConfig {
        max_delegations: 5,
        ..UpdaterConfig::default()
    };
    let mut u = env.refresh().expect("refresh");
    assert!(u.target_info("deep").expect("lookup").is_none());
    let delegated = env
        .server
        .requests()
        .iter()
        .filter(|p| p.starts_with("/metadata/1.d"))
        .count();
    assert_eq!(delegated, 4, "targets + 4 delegated roles = 5 visited");
    env.config = UpdaterConfig::default();
    let mut u = env.refresh().expect("refresh");
    assert!(u.target_info("deep").expect("lookup").is_some());
}

#[test]
fn succinct_hash_bins_are_searched_by_path_hash() {
    let mut env = Env::new();
    let bins = env.repo.delegate_succinct("targets", "bin", 3);
    assert_eq!(bins.len(), 8);
    let bin = conformance_tests::repo::succinct_bin("bin", 3, "pkgs/x.bin");
    env.repo.add_target(&bin, "pkgs/x.bin", b"in a hash bin");
    env.repo.publish();
    env.server.clear_requests();
    let path = env.download("pkgs/x.bin").expect("download");
    assert_eq!(fs::read(path).unwrap(), b"in a hash bin");
    let bin_requests: Vec<String> = env
        .server
        .requests()
        .into_iter()
        .filter(|p| p.starts_with("/metadata/1.bin-"))
        .collect();
    assert_eq!(bin_requests, vec![format!("/metadata/1.{bin}.json")]);
}

#[test]
fn unusual_role_names_are_encoded_in_urls_and_file_names() {
    let mut env = Env::new();
    let names = ["../x", "/x", "a?b#c", "Role", "role", "sp ace"];
    for n in names {
        env.repo.delegate("targets", n, &["*"], false);
    }
    env.repo.publish();
    let mut u = env.refresh().expect("refresh");
    assert!(u.target_info("nothing-here").expect("lookup").is_none());
    let requests = env.server.requests();
    for encoded in ["..%2Fx", "%2Fx", "a%3Fb%23c", "Role", "role", "sp%20ace"] {
        let path = format!("/metadata/1.{encoded}.json");
        assert!(
            requests.contains(&path),
            "{path} not requested: {requests:?}"
        );
    }
    let mut stored: Vec<String> = env.client_state().into_keys().collect();
    stored.sort();
    assert_eq!(
        stored,
        strings(&[
            "%2E%2E%2Fx.json",
            "%2Fx.json",
            "%52ole.json",
            "a%3Fb%23c.json",
            "role.json",
            "root.json",
            "snapshot.json",
            "sp%20ace.json",
            "targets.json",
            "timestamp.json",
        ])
    );
    // Nothing was written outside the metadata directory.
    assert!(!env.meta_dir.parent().unwrap().join("x.json").exists());
}

#[test]
fn download_streams_verifies_and_caches() {
    let mut env = Env::new();
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let info = env.repo.add_target("targets", "fw/v1/image.bin", &content);
    env.repo.targets.get_mut("targets").unwrap().version += 1;
    env.repo.publish();
    let path = env.download("fw/v1/image.bin").expect("download");
    assert_eq!(path, env.target_dir.join("fw%2Fv1%2Fimage.bin"));
    assert_eq!(fs::read(&path).unwrap(), content);
    let target_requests: Vec<String> = env
        .server
        .requests()
        .into_iter()
        .filter(|p| p.starts_with("/targets/"))
        .collect();
    assert_eq!(
        target_requests,
        vec![format!(
            "/targets/fw/v1/{}.image.bin",
            info.hashes["sha256"]
        )]
    );
    // Only the target itself is in the target directory (no temporary files left).
    assert_eq!(fs::read_dir(&env.target_dir).unwrap().count(), 1);
    // Second download: verified copy present, no target request.
    env.server.clear_requests();
    env.download("fw/v1/image.bin").expect("cached");
    assert!(env
        .server
        .requests()
        .iter()
        .all(|p| p.starts_with("/metadata/")));
    // A corrupted local copy is downloaded again.
    fs::write(&path, b"corrupt").unwrap();
    env.server.clear_requests();
    env.download("fw/v1/image.bin").expect("re-download");
    assert_eq!(fs::read(&path).unwrap(), content);
    assert_eq!(
        env.server
            .requests()
            .iter()
            .filter(|p| p.starts_with("/targets/"))
            .count(),
        1
    );
}

#[test]
fn missing_target_is_reported() {
    let env = Env::new();
    let mut u = env.refresh().expect("refresh");
    assert!(u.target_info("nope").expect("lookup").is_none());
}

#[test]
fn lookup_before_refresh_is_an_error() {
    let env = Env::new();
    let mut u = env.updater();
    refused(u.target_info("x"), &["refresh"]);
}

fn closed_port_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/")
}

#[test]
fn next_mirror_is_tried_after_a_transport_failure() {
    let mut env = Env::new();
    let info = env.repo.add_target("targets", "t.bin", b"target bytes");
    env.repo.targets.get_mut("targets").unwrap().version += 1;
    env.repo.publish();
    // Mirror 1 refuses connections; mirror 2 (a second server on the same files) serves.
    let second = TestServer::serve(&env.repo.dir).unwrap();
    let dead = closed_port_url();
    let mirrors = vec![
        Mirror::new(&format!("{dead}metadata"), Some(&format!("{dead}targets"))).unwrap(),
        Mirror::new(&second.url("metadata"), Some(&second.url("targets"))).unwrap(),
    ];
    let mut u = Updater::new(
        &env.meta_dir,
        mirrors,
        Box::new(DefaultTransport::new(test_transport())),
        UpdaterConfig::default(),
    )
    .unwrap();
    u.refresh().expect("refresh via mirror 2");
    let t = u.target_info("t.bin").unwrap().unwrap();
    u.download_target(&t, &env.target_dir)
        .expect("download via mirror 2");
    assert!(second
        .requests()
        .contains(&format!("/targets/{}.t.bin", info.hashes["sha256"])));
    assert!(env.server.requests().is_empty());
}

#[test]
fn verification_failure_does_not_fall_back_to_another_mirror() {
    let mut env = Env::new();
    env.repo.targets.get_mut("targets").unwrap().version += 1;
    env.repo.publish();
    let second = TestServer::serve(&env.repo.dir).unwrap();
    // Mirror 1 serves a snapshot that does not match timestamp.
    env.server
        .set_fault("/metadata/2.snapshot.json", Fault::Bytes(b"{}".to_vec()));
    let mirrors = vec![
        env.mirror(),
        Mirror::new(&second.url("metadata"), None).unwrap(),
    ];
    let mut u = Updater::new(
        &env.meta_dir,
        mirrors,
        Box::new(DefaultTransport::new(test_transport())),
        UpdaterConfig::default(),
    )
    .unwrap();
    let err = refused(u.refresh(), &["snapshot"]);
    assert!(matches!(err, UpdateError::Trust(_)), "{err}");
    assert!(
        !second.requests().iter().any(|p| p.contains("snapshot")),
        "mirror 2 was asked for snapshot: {:?}",
        second.requests()
    );
}

#[test]
fn not_found_on_every_mirror_is_not_found() {
    let env = Env::new();
    env.server
        .set_fault("/metadata/timestamp.json", Fault::NotFound);
    let err = refused(env.refresh(), &["timestamp", "not found"]);
    assert!(matches!(err, UpdateError::Transport { .. }), "{err}");
}

#[test]
fn file_urls_serve_as_a_mirror() {
    let mut env = Env::new();
    env.repo
        .add_target("targets", "usb.bin", b"from a usb stick");
    env.repo.targets.get_mut("targets").unwrap().version += 1;
    env.repo.publish();
    let base = url_of_dir(&env.repo.dir);
    let mirror = Mirror::new(&format!("{base}metadata"), Some(&format!("{base}targets"))).unwrap();
    let mut u = Updater::new(
        &env.meta_dir,
        vec![mirror],
        Box::new(DefaultTransport::new(test_transport())),
        UpdaterConfig::default(),
    )
    .unwrap();
    u.refresh().expect("refresh from file://");
    let t = u.target_info("usb.bin").unwrap().unwrap();
    let path = u.download_target(&t, &env.target_dir).expect("download");
    assert_eq!(fs::read(path).unwrap(), b"from a usb stick");
    assert!(env.server.requests().is_empty());
}

fn url_of_dir(dir: &std::path::Path) -> String {
    let mut s = url::Url::from_directory_path(dir).unwrap().to_string();
    if !s.ends_with('/') {
        s.push('/');
    }
    s
}

#[test]
fn all_targets_lists_delegated_targets_only_where_a_lookup_would_trust_them() {
    let mut env = Env::new();
    env.repo.delegate("targets", "apps", &["apps/*"], false);
    env.repo.delegate("targets", "bins", &["*"], false);
    env.repo.add_target("targets", "top.img", b"top");
    env.repo.add_target("apps", "apps/a.img", b"a");
    // "apps" lists a path it was not delegated: a lookup never trusts it from there.
    env.repo.add_target("apps", "system/evil.img", b"evil");
    env.repo.add_target("bins", "b.img", b"b");
    env.repo.publish();
    let mut u = env.refresh().expect("refresh");
    let listed: Vec<(String, String)> = u
        .all_targets()
        .expect("all targets")
        .into_iter()
        .map(|t| (t.name, t.role))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("apps/a.img".to_string(), "apps".to_string()),
            ("b.img".to_string(), "bins".to_string()),
            ("top.img".to_string(), "targets".to_string()),
        ]
    );
}
