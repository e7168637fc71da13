//! tough (AWS's TUF client, used by Bottlerocket) loads a repository built by repo-tool —
//! ed25519 and ecdsa keys, 2-of-3 root rotated to 3-of-4, a paths delegation and a hash-bin
//! delegation — from 1.root.json, follows the rotation, and reads every target through its
//! own hash and length checks.
//!
//! One known difference: for a target path with directories, tough fetches
//! `HASH.dir/name` where the TUF spec, python-tuf and go-tuf (and repo-tool) publish
//! `dir/HASH.name`. So tough reads the root-level targets through `read_target`, and for
//! the others the test checks that tough's verified metadata (length, sha256) matches the
//! bytes repo-tool published at the spec's path.

mod repo_tool_scenario;

use tough::{IntoVec, RepositoryLoader, TargetName};
use url::Url;

#[test]
fn tough_loads_repository_and_reads_every_target() {
    let scenario = repo_tool_scenario::build();
    let root = std::fs::read(scenario.repo.join("metadata/1.root.json")).unwrap();
    let metadata_url = Url::from_directory_path(scenario.repo.join("metadata")).unwrap();
    let targets_url = Url::from_directory_path(scenario.repo.join("targets")).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let repository = RepositoryLoader::new(&root, metadata_url, targets_url)
            .load()
            .await
            .unwrap();
        assert_eq!(repository.root().signed.version.get(), 2);
        let listed: Vec<String> = repository
            .all_targets()
            .map(|(name, _)| name.raw().to_string())
            .collect();
        assert_eq!(listed.len(), scenario.targets.len(), "{listed:?}");
        let mut read_through_tough = 0;
        for (name, bytes) in &scenario.targets {
            let target = TargetName::new(name.clone()).unwrap();
            // tough's own delegation search (§5.6.7) must find every target.
            let info = repository
                .targets()
                .signed
                .find_target(&target, false)
                .unwrap_or_else(|e| panic!("tough's search does not find {name}: {e}"));
            if name.contains('/') {
                assert_eq!(info.length, bytes.len() as u64, "{name}");
                let sha = hex::encode(info.hashes.sha256.clone().into_vec());
                let (dir, base) = name.rsplit_once('/').unwrap();
                let published = scenario.repo.join(format!("targets/{dir}/{sha}.{base}"));
                assert_eq!(&std::fs::read(published).unwrap(), bytes, "{name}");
                continue;
            }
            read_through_tough += 1;
            let stream = repository
                .read_target(&target)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("tough does not find {name}"));
            let read = stream.into_vec().await.unwrap();
            assert_eq!(&read, bytes, "{name}");
        }
        assert_eq!(read_through_tough, 4);
    });
}
