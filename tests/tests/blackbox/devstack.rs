//! The local stack itself: a start that fails after the emulators came up leaves nothing
//! running, and an emulator port someone else holds is refused rather than silently shared.

use mostrador_devstack::emulators::free_port;
use mostrador_devstack::{Stack, StackOptions};
use mostrador_tests::repo_root;
use std::time::Duration;

/// A root whose template.yaml fails only once functions are wired (after the emulators start).
fn broken_root() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mostrador-broken-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let template = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let broken = template.replacen(
        "LOG_LEVEL: !Ref LogLevel",
        "LOG_LEVEL: !Ref NoSuchParameter",
        1,
    );
    assert_ne!(broken, template);
    std::fs::write(dir.join("template.yaml"), broken).unwrap();
    std::os::unix::fs::symlink(repo_root().join(".tools"), dir.join(".tools")).unwrap();
    dir
}

async fn listening(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
}

#[tokio::test]
async fn a_failed_start_leaves_no_emulator_behind() {
    let root = broken_root();
    let mut options = StackOptions::ephemeral(root.clone());
    (options.dynamodb_port, options.moto_port) = (free_port().unwrap(), free_port().unwrap());
    let err = Stack::start(options.clone())
        .await
        .err()
        .expect("must fail");
    assert!(err.to_string().contains("NoSuchParameter"), "{err}");
    for _ in 0..100 {
        if !listening(options.dynamodb_port).await && !listening(options.moto_port).await {
            let _ = std::fs::remove_dir_all(&root);
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("an emulator still listens after the failed start");
}

#[tokio::test]
async fn an_emulator_port_held_by_someone_else_is_refused() {
    let squatter = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let mut options = StackOptions::ephemeral(repo_root());
    options.moto_port = squatter.local_addr().unwrap().port();
    let err = Stack::start(options).await.err().expect("must refuse");
    assert!(err.to_string().contains("already taken"), "{err}");
}
