//! The shared rate limiter: two instances on one database and one Redis
//! (`PORTCULLIS_TEST_REDIS_URL`, default the local server) never let a key past its limit plus
//! its burst between them.

use std::time::Duration;

use serde_json::json;

use crate::api_keys::{reason, Fixture, KeySpec};
use crate::support::TestServer;

fn redis_url() -> String {
    std::env::var("PORTCULLIS_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A fresh key prefix per test, so runs never see each other's counters.
fn prefix() -> String {
    format!("pc_test_{}", portcullis_core::secret::random_id())
}

#[tokio::test]
async fn two_instances_sharing_redis_never_exceed_limit_plus_burst() {
    let url = redis_url();
    let prefix = prefix();
    let settings = [("PORTCULLIS_REDIS_URL", url.as_str()), ("PORTCULLIS_REDIS_PREFIX", &prefix)];
    let first = Fixture::on(TestServer::start_with(&settings).await).await;
    let second = Fixture {
        server: TestServer::start_configured(first.server.db.share(), &settings).await,
        owner: first.owner.clone(),
        gateway: first.gateway.clone(),
    };
    let issued =
        first.issue(KeySpec { per_minute: 10, burst: Some(5), ..KeySpec::default() }).await;
    second.wait_for_key(&issued.key).await;

    let body = json!({ "key": issued.key });
    let calls = (0..60).map(|i| {
        let body = body.clone();
        let (first, second) = (&first, &second);
        async move {
            let instance = if i % 2 == 0 { first } else { second };
            reason(&instance.verify(body).await)
        }
    });
    let outcomes = futures::future::join_all(calls).await;
    let valid = outcomes.iter().filter(|o| *o == "valid").count();
    assert_eq!(valid, 6, "one plus the burst of 5 across both instances: {outcomes:?}");
    assert!(outcomes.iter().all(|o| o == "valid" || o == "rate_limited"));

    // One unit comes back every 6 s, for either instance to spend.
    tokio::time::sleep(Duration::from_millis(6100)).await;
    assert_eq!(reason(&second.verify(body.clone()).await), "valid");
    assert_eq!(reason(&first.verify(body).await), "rate_limited");
}

#[tokio::test]
async fn an_unreachable_redis_stops_the_server_from_starting() {
    let db = portcullis_store::testing::fresh_database().await;
    let env = vec![
        ("PORTCULLIS_DATA_DIR".to_owned(), db.data_dir.display().to_string()),
        ("PORTCULLIS_DATABASE_URL".to_owned(), db.url.clone()),
        ("PORTCULLIS_ISSUER".to_owned(), crate::support::ISSUER.to_owned()),
        ("PORTCULLIS_ACCESS_TOKEN_AUDIENCE".to_owned(), crate::support::AUDIENCE.to_owned()),
        ("PORTCULLIS_REDIS_URL".to_owned(), "redis://127.0.0.1:1".to_owned()),
    ];
    let raw = portcullis::config::RawSettings::from_pairs(env).unwrap();
    let config = portcullis::config::ServerConfig::from_raw(&raw).unwrap();
    let Err(err) = portcullis::server::build_state(config).await else {
        panic!("started without its rate limiter");
    };
    assert!(err.to_string().contains("PORTCULLIS_REDIS_URL"), "{err}");
}
