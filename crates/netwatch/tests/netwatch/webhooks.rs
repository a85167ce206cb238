//! Webhook deliveries: signed with HMAC-SHA256 over the exact body, retried with back-off.

use crate::helpers::Receiver;
use rendan_netwatch::config::WebhookSpec;
use rendan_netwatch::webhook::{deliver, sign};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

fn spec(r: &Receiver, retries: u32) -> WebhookSpec {
    WebhookSpec {
        url: format!("http://{}/hook", r.addr),
        secret: "s3cret".into(),
        retries,
        backoff: Duration::from_millis(50),
    }
}

#[tokio::test]
async fn retries_with_exponential_back_off() {
    let r = Receiver::start(2).await;
    let client = reqwest::Client::new();
    let t0 = Instant::now();
    let attempts = deliver(&client, &spec(&r, 5), b"{\"event\":\"x\"}".to_vec())
        .await
        .unwrap();
    assert_eq!(attempts, 3);
    // Waited 50 ms, then 100 ms.
    assert!(t0.elapsed() >= Duration::from_millis(150));
    let got = r.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, sign(b"s3cret", &got[0].1));
    r.stop();
}

#[tokio::test]
async fn gives_up_after_the_retries() {
    let r = Receiver::start(100).await;
    let client = reqwest::Client::new();
    let err = deliver(&client, &spec(&r, 2), b"{}".to_vec())
        .await
        .unwrap_err();
    assert!(err.contains("503"), "{err}");
    assert_eq!(r.attempts.load(Ordering::SeqCst), 3);
    r.stop();
}
