//! Start-up refuses to run without what it needs, and signs with the configured algorithm.

use portcullis::config::{RawSettings, ServerConfig};
use portcullis_store::testing::fresh_database;

use crate::support::TestServer;

#[tokio::test]
async fn a_database_sealed_with_another_master_key_refuses_to_start() {
    let server = TestServer::start().await;
    let mut env = server.env.clone();
    env.push((
        "PORTCULLIS_MASTER_KEY".into(),
        "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=".into(),
    ));
    let config = ServerConfig::from_raw(&RawSettings::from_pairs(env).unwrap()).unwrap();
    let err = portcullis::server::build_state(config).await.err().expect("must refuse");
    assert!(err.to_string().contains("different master key"), "{err}");
}

#[tokio::test]
async fn the_master_key_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestServer::start().await;
    let mode =
        std::fs::metadata(server.db.data_dir.join("master.key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn eddsa_servers_issue_eddsa_tokens() {
    let db = fresh_database().await;
    let env = vec![
        ("PORTCULLIS_DATA_DIR".to_owned(), db.data_dir.display().to_string()),
        ("PORTCULLIS_DATABASE_URL".to_owned(), db.url.clone()),
        ("PORTCULLIS_ISSUER".to_owned(), crate::support::ISSUER.to_owned()),
        ("PORTCULLIS_ACCESS_TOKEN_AUDIENCE".to_owned(), "https://api".to_owned()),
        ("PORTCULLIS_SIGNING_ALG".to_owned(), "EdDSA".to_owned()),
    ];
    let config = ServerConfig::from_raw(&RawSettings::from_pairs(env).unwrap()).unwrap();
    let state = portcullis::server::build_state(config).await.unwrap();
    let keys = state.live.keys();
    assert_eq!(keys.current.alg, portcullis_core::keys::SigningAlgorithm::EdDSA);
    assert!(keys.jwks_json.contains("\"crv\":\"Ed25519\""));
}
