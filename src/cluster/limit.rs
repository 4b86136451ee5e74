//! The client-side rate limit of every request tierplan sends to an API server: a token
//! bucket.
//!
//! Default: 5 requests per second with a burst of 10, the defaults of client-go's
//! `rest.Config` (`DefaultQPS`, `DefaultBurst`) that kubectl and most controllers run with,
//! so that API Priority and Fairness treats tierplan like any other well-behaved client. A
//! read of a large cluster is a few dozen paginated lists, so the limit costs seconds, and
//! a whole burst of lists never lands on the API server at once.

use std::time::{Duration, Instant};

/// A rate limit: a sustained rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second (> 0).
    pub per_second: f64,
    /// Requests that may go at once after a quiet spell (>= 1).
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            per_second: 5.0,
            burst: 10,
        }
    }
}

/// A token bucket: starts full, refills at `per_second`, holds at most `burst` tokens.
#[derive(Debug)]
pub struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(limit: RateLimit, now: Instant) -> Self {
        let limit = RateLimit {
            per_second: if limit.per_second > 0.0 {
                limit.per_second
            } else {
                RateLimit::default().per_second
            },
            burst: limit.burst.max(1),
        };
        TokenBucket {
            tokens: f64::from(limit.burst),
            limit,
            last: now,
        }
    }

    /// Takes a token at `now`: how long to wait before sending. The token is reserved even
    /// when the caller must wait, so concurrent callers queue up fairly.
    pub fn take(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens =
            (self.tokens + elapsed * self.limit.per_second).min(f64::from(self.limit.burst));
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.limit.per_second)
        }
    }
}

/// A token bucket shared by the tasks of one read or apply.
#[derive(Debug)]
pub struct Limiter(tokio::sync::Mutex<TokenBucket>);

impl Limiter {
    /// A limiter of `limit`, full now.
    pub fn new(limit: RateLimit) -> Self {
        Limiter(tokio::sync::Mutex::new(TokenBucket::new(
            limit,
            Instant::now(),
        )))
    }

    /// Waits until one more request may go.
    pub async fn acquire(&self) {
        let wait = self.0.lock().await.take(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_goes_at_once_then_requests_wait_for_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(
            RateLimit {
                per_second: 5.0,
                burst: 3,
            },
            t0,
        );
        for _ in 0..3 {
            assert_eq!(b.take(t0), Duration::ZERO);
        }
        // The fourth waits one token's time (200 ms), the fifth two.
        assert_eq!(b.take(t0), Duration::from_millis(200));
        assert_eq!(b.take(t0), Duration::from_millis(400));
        // After a quiet second the bucket is full again, never fuller.
        let t1 = t0 + Duration::from_secs(10);
        for _ in 0..3 {
            assert_eq!(b.take(t1), Duration::ZERO);
        }
        assert!(b.take(t1) > Duration::ZERO);
    }
}
