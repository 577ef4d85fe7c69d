//! The brokers one run sends its requests to (issue 17: several broker nodes on one Redis):
//! `Targets`, the `--targets` list parsed once at the command line; `RoundRobin`, the order
//! in which one logical client's requests visit them; and `failover_cause`, which failures
//! move a request on to the next target, and why. Nothing here sends a request:
//! `scenario::Ctx` does, in the order `RoundRobin::turn` gives.

use std::sync::atomic::{AtomicUsize, Ordering};

use seatbroker_client::Error;

/// One or more broker base URLs, each an http or https URL that can carry paths, none
/// listed twice, in the order given (setup goes to the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets(Vec<String>);

/// Why a `--targets` list was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetsError {
    /// Nothing but commas and spaces.
    #[error("no broker URL given (expected URL1,URL2,...)")]
    Empty,
    /// Two commas in a row, or one at either end.
    #[error("entry {0} is empty (two commas in a row, or one at an end)")]
    EmptyEntry(usize),
    /// An entry that is not a broker base URL.
    #[error("{url:?} is not a broker base URL: {reason}")]
    InvalidUrl {
        /// The entry as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The same broker twice: it would silently get twice the others' share.
    #[error("{0:?} is listed twice")]
    Duplicate(String),
}

impl Targets {
    /// Parses a comma-separated list such as `http://10.0.0.1:8080,http://10.0.0.2:8080`.
    /// Spaces around entries are dropped, and so is a trailing `/`.
    pub fn parse(list: &str) -> Result<Targets, TargetsError> {
        if list.split(',').all(|entry| entry.trim().is_empty()) {
            return Err(TargetsError::Empty);
        }
        let mut urls: Vec<String> = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        for (position, entry) in list.split(',').enumerate() {
            let entry = entry.trim();
            if entry.is_empty() {
                return Err(TargetsError::EmptyEntry(position + 1));
            }
            let same_as = base_url_key(entry)?;
            if seen.contains(&same_as) {
                return Err(TargetsError::Duplicate(entry.to_owned()));
            }
            seen.push(same_as);
            urls.push(entry.trim_end_matches('/').to_owned());
        }
        Ok(Targets(urls))
    }

    /// The first target: where setup goes.
    pub fn first(&self) -> &str {
        &self.0[0]
    }

    /// The targets after the first.
    pub fn rest(&self) -> &[String] {
        &self.0[1..]
    }

    /// Every target, in the order given.
    pub fn urls(&self) -> &[String] {
        &self.0
    }
}

/// Checks `entry` as the client library will use it (http or https, able to carry paths)
/// and returns the form two spellings of one broker share (`http://h:80/` and `http://h`).
fn base_url_key(entry: &str) -> Result<String, TargetsError> {
    let invalid = |reason: String| TargetsError::InvalidUrl {
        url: entry.to_owned(),
        reason,
    };
    let url = reqwest::Url::parse(entry).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(invalid("not an http or https base URL".to_owned()));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// One logical client's targets (its session on each broker), taken in turn: each request
/// starts at the next one, so consecutive requests spread over all of them, and a request
/// that fails over moves on through the others, each once.
#[derive(Debug)]
pub struct RoundRobin<T> {
    items: Vec<T>,
    next: AtomicUsize,
}

impl<T> RoundRobin<T> {
    /// `first` and `others` in turn, the first request going to the one at `offset` (modulo
    /// their number), so that clients numbered in a row start on different targets.
    pub fn new(first: T, others: Vec<T>, offset: usize) -> RoundRobin<T> {
        let mut items = Vec::with_capacity(1 + others.len());
        items.push(first);
        items.extend(others);
        let offset = offset % items.len();
        RoundRobin {
            items,
            next: AtomicUsize::new(offset),
        }
    }

    /// Every target, in the order given.
    pub fn all(&self) -> &[T] {
        &self.items
    }

    /// The targets of the next request: the one whose turn it is, then the others in order
    /// for it to fail over to.
    pub fn turn(&self) -> (&T, impl Iterator<Item = &T>) {
        let len = self.items.len();
        // One target (the usual run) takes no turns: nothing to count.
        let start = if len == 1 {
            0
        } else {
            self.next.fetch_add(1, Ordering::Relaxed) % len
        };
        let others = (1..len).map(move |k| &self.items[(start + k) % len]);
        (&self.items[start], others)
    }
}

/// Why a request went on to the next target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailoverCause {
    /// The target answered 503 (storage down, shutting down, the pool's owner unreachable).
    Unavailable,
    /// The target refused the connection, or the connection broke.
    Connection,
}

/// Why a request that ended with `error` goes on to the next target, if it does: the target
/// was unreachable or its connection broke (not a timeout: a slow broker is measured, not
/// avoided), or it answered 503.
pub fn failover_cause(error: &Error) -> Option<FailoverCause> {
    match error {
        Error::Unavailable { .. } => Some(FailoverCause::Unavailable),
        Error::Refused { status, .. } | Error::UnexpectedResponse { status, .. }
            if *status == 503 =>
        {
            Some(FailoverCause::Unavailable)
        }
        Error::Http(e) if e.is_connect() || (e.is_request() && !e.is_timeout()) => {
            Some(FailoverCause::Connection)
        }
        _ => None,
    }
}

/// Whether a request that ended with `error` goes on to the next target (`failover_cause`).
pub fn fails_over(error: &Error) -> bool {
    failover_cause(error).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_of_base_urls_parses_in_order_without_trailing_slashes_or_spaces() {
        let targets =
            Targets::parse("http://10.0.0.1:8080, http://10.0.0.2:8080/ ,https://b.example/api")
                .expect("parses");
        assert_eq!(
            targets.urls(),
            [
                "http://10.0.0.1:8080",
                "http://10.0.0.2:8080",
                "https://b.example/api"
            ]
        );
        assert_eq!(targets.first(), "http://10.0.0.1:8080");
        assert_eq!(targets.rest().len(), 2);
        let one = Targets::parse("http://127.0.0.1:8080").expect("one parses");
        assert_eq!(one.urls(), ["http://127.0.0.1:8080"]);
        assert!(one.rest().is_empty());
    }

    #[test]
    fn an_empty_list_or_entry_is_refused() {
        assert_eq!(Targets::parse(""), Err(TargetsError::Empty));
        assert_eq!(Targets::parse(" , "), Err(TargetsError::Empty));
        assert_eq!(
            Targets::parse("http://a:1,,http://b:1"),
            Err(TargetsError::EmptyEntry(2))
        );
        assert_eq!(
            Targets::parse("http://a:1,"),
            Err(TargetsError::EmptyEntry(2))
        );
    }

    #[test]
    fn an_entry_that_is_not_an_http_base_url_is_refused_by_name() {
        for bad in [
            "127.0.0.1:8080",
            "ftp://a.example",
            "mailto:ops@a.example",
            "http://",
        ] {
            let err = Targets::parse(&format!("http://ok.example,{bad}")).expect_err(bad);
            assert!(
                matches!(&err, TargetsError::InvalidUrl { url, .. } if url == bad),
                "{bad}: {err:?}"
            );
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn one_broker_listed_twice_is_refused_however_it_is_spelled() {
        assert_eq!(
            Targets::parse("http://a.example:80/,http://b.example,http://A.example"),
            Err(TargetsError::Duplicate("http://A.example".to_owned()))
        );
    }

    #[test]
    fn consecutive_requests_of_one_client_visit_every_target_in_turn() {
        let rr = RoundRobin::new("a", vec!["b", "c"], 0);
        let firsts: Vec<&str> = (0..6).map(|_| *rr.turn().0).collect();
        assert_eq!(firsts, ["a", "b", "c", "a", "b", "c"]);
    }

    #[test]
    fn clients_in_a_row_start_on_different_targets() {
        let starts: Vec<&str> = (0..4)
            .map(|index| *RoundRobin::new("a", vec!["b", "c"], index).turn().0)
            .collect();
        assert_eq!(starts, ["a", "b", "c", "a"]);
    }

    #[test]
    fn a_request_fails_over_to_every_other_target_once_starting_after_its_own() {
        let rr = RoundRobin::new("a", vec!["b", "c"], 1);
        let (first, others) = rr.turn();
        assert_eq!(*first, "b");
        assert_eq!(others.copied().collect::<Vec<_>>(), ["c", "a"]);
        // The next request starts on the next target, whatever became of this one.
        let (first, others) = rr.turn();
        assert_eq!(*first, "c");
        assert_eq!(others.copied().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn a_single_target_takes_every_request_and_has_none_to_fail_over_to() {
        let rr = RoundRobin::new("a", Vec::new(), 7);
        for _ in 0..3 {
            let (first, mut others) = rr.turn();
            assert_eq!(*first, "a");
            assert!(others.next().is_none());
        }
    }

    #[test]
    fn a_503_fails_over_and_other_answers_do_not() {
        let unavailable = Error::Unavailable {
            code: "pool_owned_elsewhere".to_owned(),
            message: "elsewhere".to_owned(),
            retry_after: None,
        };
        assert!(fails_over(&unavailable));
        assert_eq!(
            failover_cause(&unavailable),
            Some(FailoverCause::Unavailable)
        );
        let odd_503 = Error::UnexpectedResponse {
            status: 503,
            body: "<html>".to_owned(),
        };
        assert!(fails_over(&odd_503));
        let internal = Error::UnexpectedResponse {
            status: 500,
            body: "<html>".to_owned(),
        };
        assert!(!fails_over(&internal));
        let throttled = Error::Throttled {
            code: "throttled".to_owned(),
            message: "slow down".to_owned(),
            retry_after: None,
        };
        assert!(!fails_over(&throttled));
        assert!(!fails_over(&Error::InvalidToken));
    }

    #[tokio::test]
    async fn a_refused_connection_fails_over() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("address").port()
        };
        let err = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/v1/me"))
            .send()
            .await
            .expect_err("nothing listens there");
        assert_eq!(
            failover_cause(&Error::Http(err)),
            Some(FailoverCause::Connection)
        );
    }
}
