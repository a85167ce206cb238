//! HTTP probe: `GET` a URL and compare the status with the expected one.

use super::ProbeError;
use std::time::{Duration, Instant};

/// Fetches `url` with `client` and checks the status; returns the time to the response head.
pub async fn probe(
    client: &reqwest::Client,
    url: &str,
    expect: u16,
    timeout: Duration,
) -> Result<Duration, ProbeError> {
    let t0 = Instant::now();
    let resp = client.get(url).timeout(timeout).send().await.map_err(|e| {
        if e.is_timeout() {
            ProbeError::Timeout(timeout.as_millis())
        } else {
            ProbeError::Io(format!("GET {url}: {e}"))
        }
    })?;
    let elapsed = t0.elapsed();
    let status = resp.status().as_u16();
    if status == expect {
        Ok(elapsed)
    } else {
        Err(ProbeError::Unexpected(format!(
            "GET {url} answered {status}, expected {expect}"
        )))
    }
}
