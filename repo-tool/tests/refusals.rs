//! A refusal leaves the published repository byte-identical: every file under metadata/ and
//! targets/ is compared before and after each refused command (real processes, real files).

mod common;

use common::*;

#[test]
fn refused_commands_change_no_published_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, keys) = new_repo(dir.path());
    let r = s(&repo);
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("a.img"), b"image a").unwrap();
    run_ok(&["add", r, s(&files.join("a.img")), "--name", "a.img"]);
    run_ok(&with(&["publish", r, "--key"], &keys.online()));
    // Changes staged (with consistent snapshots the new file already sits in targets/ under
    // its content-addressed name, listed by no signed metadata), then refused publishes.
    std::fs::write(files.join("b.img"), b"image b").unwrap();
    run_ok(&["add", r, s(&files.join("b.img")), "--name", "dir/b.img"]);
    let before = published_tree(&repo);
    assert!(before.len() >= 7, "{before:?}");

    // A wrong key: a valid key root does not list for targets.
    let (stranger, _) = key(dir.path(), "stranger", "ed25519");
    let err = stderr_of(
        &[
            "publish",
            r,
            "--key",
            &stranger,
            &keys.snapshot.0,
            &keys.timestamp.0,
        ],
        1,
    );
    assert!(
        err.contains("targets") && err.contains("threshold is 1"),
        "{err}"
    );
    assert_eq!(
        published_tree(&repo),
        before,
        "wrong key changed the repository"
    );

    // A missing signature: no timestamp key.
    let err = stderr_of(
        &["publish", r, "--key", &keys.targets.0, &keys.snapshot.0],
        1,
    );
    assert!(err.contains("timestamp"), "{err}");
    assert_eq!(
        published_tree(&repo),
        before,
        "missing signature changed the repository"
    );

    // An offline (public-only) key cannot sign: the threshold is not met.
    let err = stderr_of(
        &[
            "publish",
            r,
            "--key",
            &keys.targets.1,
            &keys.snapshot.0,
            &keys.timestamp.0,
        ],
        1,
    );
    assert!(err.contains("targets"), "{err}");
    assert_eq!(published_tree(&repo), before);

    // An unreadable file: exit 3, names the file.
    let missing = files.join("missing.img");
    let err = stderr_of(&["add", r, s(&missing), "--name", "m.img"], 3);
    assert!(err.contains("missing.img"), "{err}");
    // In a batch, the files already placed are taken back out.
    std::fs::write(files.join("c.img"), b"image c").unwrap();
    let ok_pair = format!("{}=c.img", s(&files.join("c.img")));
    let missing_pair = format!("{}=m.img", s(&missing));
    stderr_of(&["add", r, &ok_pair, &missing_pair, "--copy"], 3);
    stderr_of(&["add", r, &ok_pair, &missing_pair], 3);
    assert_eq!(published_tree(&repo), before);

    // Names that would escape targets/ or mean different files to different clients.
    for bad in [
        "../escape.img",
        "/abs.img",
        "a//b.img",
        "a\\b.img",
        "dir/../../x",
        "",
        "a/./b",
        "dir/",
    ] {
        let err = stderr_of(&["add", r, s(&files.join("a.img")), "--name", bad], 1);
        assert!(err.contains("refused"), "{bad:?}: {err}");
        let pair = format!("{}={bad}", s(&files.join("a.img")));
        stderr_of(&["add", r, &pair], 1);
    }
    assert_eq!(
        published_tree(&repo),
        before,
        "bad names changed the repository"
    );

    // A failing external signer: exit 4, nothing written.
    let signer = format!("cmd:{}:false", keys.timestamp.1);
    let err = stderr_of(
        &[
            "publish",
            r,
            "--key",
            &keys.targets.0,
            &keys.snapshot.0,
            &signer,
        ],
        4,
    );
    assert!(err.contains("false"), "{err}");
    assert_eq!(published_tree(&repo), before);

    // After all that, the staged change still publishes and verifies.
    run_ok(&with(&["publish", r, "--key"], &keys.online()));
    assert_ne!(published_tree(&repo), before);
    run_ok(&["verify", r]);
}

#[test]
fn root_publish_below_threshold_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, keys) = new_repo(dir.path());
    let r = s(&repo);
    let before = published_tree(&repo);
    run_ok(&["root", "expires", r, "400d"]);
    // Not staged-signed at all.
    let err = stderr_of(&["root", "publish", r], 1);
    assert!(
        err.contains("root 2") && err.contains("threshold is 2"),
        "{err}"
    );
    // One signature of two.
    let err = stderr_of(&["root", "publish", r, "--key", &keys.root[0].0], 1);
    assert!(err.contains("1 valid signature"), "{err}");
    assert_eq!(published_tree(&repo), before);
    // Two of two: published.
    run_ok(&[
        "root",
        "publish",
        r,
        "--key",
        &keys.root[0].0,
        &keys.root[1].0,
    ]);
    assert!(repo.join("metadata/2.root.json").is_file());
    run_ok(&["verify", r]);
}

/// A draft in staged/ is unsigned and can be edited by hand: one that names a target or a
/// delegated role with `..` is refused when it is read (staged-document reader,
/// `editor::parse_draft`), before publish joins the name to a path under the repository.
#[test]
fn a_hand_edited_draft_with_an_escaping_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, keys) = new_repo(dir.path());
    let r = s(&repo);
    let files = dir.path().join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("a.img"), b"image a").unwrap();
    let (apps, apps_pub) = key(dir.path(), "apps", "ed25519");
    run_ok(&[
        "delegate", r, "--to", "apps", "--key", &apps_pub, "--paths", "apps/*",
    ]);
    run_ok(&["add", r, s(&files.join("a.img")), "--name", "a.img"]);
    let draft_path = repo.join("staged/targets.json");
    let draft: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&draft_path).unwrap()).unwrap();
    let before = published_tree(&repo);
    let publish = with(&["publish", r, "--key", &apps], &keys.online());

    let mut escaping_target = draft.clone();
    let targets = escaping_target["signed"]["targets"]
        .as_object_mut()
        .unwrap();
    let entry = targets.remove("a.img").unwrap();
    targets.insert("../escape.img".into(), entry);
    std::fs::write(&draft_path, serde_json::to_vec(&escaping_target).unwrap()).unwrap();
    let err = stderr_of(&publish, 1);
    assert!(
        err.contains("staged/targets.json") && err.contains("\"../escape.img\""),
        "{err}"
    );
    assert_eq!(published_tree(&repo), before);

    let mut escaping_role = draft.clone();
    escaping_role["signed"]["delegations"]["roles"][0]["name"] = "../evil".into();
    std::fs::write(&draft_path, serde_json::to_vec(&escaping_role).unwrap()).unwrap();
    let err = stderr_of(&publish, 1);
    assert!(
        err.contains("staged/targets.json") && err.contains("\"../evil\""),
        "{err}"
    );
    assert_eq!(published_tree(&repo), before);

    // The draft as repo-tool wrote it still publishes.
    std::fs::write(&draft_path, serde_json::to_vec(&draft).unwrap()).unwrap();
    run_ok(&publish);
    run_ok(&["verify", r]);
}
