//! `Client`: one broker URL, one shared `reqwest::Client` (its keep-alive connections), a
//! retry policy and an optional session token; every API call of the library is a method
//! taking `&self`. The seat guard with its background heartbeats lives in `guard`; the
//! shapes of the answers in `model`.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::{is_transient_http, Error};
use crate::model::{
    Account, AcquireBody, AcquireRequest, Activation, Grant, Heartbeat, Invite, License, Login, Me,
    Seat,
};
use crate::retry::{retry_after, RetryPolicy};

/// How long one attempt of a request may take by default (a waiting acquire adds its wait).
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The heartbeat bodies, as static bytes so that a beat serialises nothing.
const BEAT_ACTIVE: &[u8] = br#"{"active":true}"#;
const BEAT_IDLE: &[u8] = br#"{"active":false}"#;

/// A handle on one broker. Cheap to clone: clones share the connection pool, the settings
/// and the session (the token a `login` stores); `new_session` gives a handle that shares
/// the connections but has a session of its own.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
    session: Arc<RwLock<Option<HeaderValue>>>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    /// The URL without a trailing slash; paths are appended to it.
    base: String,
    /// The same, parsed once: each request clones it and sets its path, so the host is
    /// not parsed again per request (a load tester sends tens of thousands a second).
    base_url: reqwest::Url,
    /// The path of the base URL without its trailing slash (usually empty).
    base_path: String,
    retry: RetryPolicy,
    request_timeout: Duration,
}

/// Which credential a request carries.
#[derive(Clone, Copy)]
enum Auth<'a> {
    /// None (account creation, login).
    Anonymous,
    /// The session's token, when there is one.
    Session,
    /// This token (the operator's).
    Bearer(&'a str),
}

/// Whether a request may be sent again after a connection error (it changes nothing more
/// the second time). 429 and 503 are retried for every request: the broker did nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Idempotent {
    Yes,
    No,
}

impl Client {
    /// A client for the broker at `url` (such as `http://127.0.0.1:8080`), with its own
    /// connection pool.
    pub fn new(url: &str) -> Result<Client, Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        Client::with_http(url, http)
    }

    /// A client for the broker at `url` that sends through `http` (and its connections).
    pub fn with_http(url: &str, http: reqwest::Client) -> Result<Client, Error> {
        let parsed = reqwest::Url::parse(url).map_err(|e| Error::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.cannot_be_a_base() {
            return Err(Error::InvalidUrl {
                url: url.to_owned(),
                reason: "not an http or https base URL".into(),
            });
        }
        let mut parsed = parsed;
        parsed.set_query(None);
        parsed.set_fragment(None);
        let base_path = parsed.path().trim_end_matches('/').to_owned();
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base: url.trim_end_matches('/').to_owned(),
                base_url: parsed,
                base_path,
                retry: RetryPolicy::default(),
                request_timeout: DEFAULT_REQUEST_TIMEOUT,
            }),
            session: Arc::new(RwLock::new(None)),
        })
    }

    /// The same client with another retry policy (the session is still shared).
    pub fn with_retry_policy(&self, retry: RetryPolicy) -> Client {
        self.with_inner(|inner| inner.retry = retry)
    }

    /// The same client with another timeout for one attempt of a request.
    pub fn with_request_timeout(&self, timeout: Duration) -> Client {
        self.with_inner(|inner| inner.request_timeout = timeout)
    }

    fn with_inner(&self, change: impl FnOnce(&mut Inner)) -> Client {
        let mut inner = Inner {
            http: self.inner.http.clone(),
            base: self.inner.base.clone(),
            base_url: self.inner.base_url.clone(),
            base_path: self.inner.base_path.clone(),
            retry: self.inner.retry,
            request_timeout: self.inner.request_timeout,
        };
        change(&mut inner);
        Client {
            inner: Arc::new(inner),
            session: self.session.clone(),
        }
    }

    /// A client sharing this one's connections and settings, with a session of its own
    /// (not logged in): one per logical user of a load test.
    pub fn new_session(&self) -> Client {
        Client {
            inner: self.inner.clone(),
            session: Arc::new(RwLock::new(None)),
        }
    }

    /// Uses `token` (from an earlier login) for this session's later calls.
    pub fn set_token(&self, token: &str) -> Result<(), Error> {
        let mut value =
            HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| Error::InvalidToken)?;
        value.set_sensitive(true);
        *self.session.write().unwrap_or_else(|e| e.into_inner()) = Some(value);
        Ok(())
    }

    /// The broker's URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// The retry policy of this client.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    fn request(
        &self,
        method: Method,
        path: std::fmt::Arguments<'_>,
        auth: Auth<'_>,
    ) -> RequestBuilder {
        let mut url = self.inner.base_url.clone();
        url.set_path(&format!("{}{}", self.inner.base_path, path));
        let builder = self
            .inner
            .http
            .request(method, url)
            .timeout(self.inner.request_timeout);
        match auth {
            Auth::Anonymous => builder,
            Auth::Session => {
                let token = self
                    .session
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                match token {
                    Some(value) => builder.header(AUTHORIZATION, value),
                    None => builder,
                }
            }
            Auth::Bearer(token) => builder.bearer_auth(token),
        }
    }

    /// Sends `builder` under `policy`: 429 and 503 are retried, connection errors too when
    /// the request is idempotent; the success answer, or the error of the last attempt.
    async fn send(
        &self,
        builder: RequestBuilder,
        idempotent: Idempotent,
        policy: RetryPolicy,
    ) -> Result<Response, Error> {
        let started = Instant::now();
        let mut request = builder.build()?;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let copy = if attempt < policy.max_attempts {
                request.try_clone()
            } else {
                None
            };
            let (err, asked) = match self.inner.http.execute(request).await {
                Ok(res) if res.status().is_success() => return Ok(res),
                Ok(res) => {
                    let status = res.status().as_u16();
                    let asked = retry_after(res.headers());
                    let body = res.bytes().await?;
                    let err = Error::from_answer(status, asked, &body);
                    if status != 429 && status != 503 {
                        return Err(err);
                    }
                    (err, asked)
                }
                Err(e) if idempotent == Idempotent::Yes && is_transient_http(&e) => {
                    (Error::Http(e), None)
                }
                Err(e) => return Err(Error::Http(e)),
            };
            let delay = copy.as_ref().and_then(|_| {
                policy.delay_after(attempt, started.elapsed(), asked, fastrand::f64())
            });
            match (delay, copy) {
                (Some(delay), Some(copy)) => {
                    tokio::time::sleep(delay).await;
                    request = copy;
                }
                _ => return Err(err),
            }
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        builder: RequestBuilder,
        idempotent: Idempotent,
    ) -> Result<T, Error> {
        let res = self.send(builder, idempotent, self.inner.retry).await?;
        let body = res.bytes().await?;
        Ok(serde_json::from_slice(&body)?)
    }

    async fn empty(&self, builder: RequestBuilder, idempotent: Idempotent) -> Result<(), Error> {
        let res = self.send(builder, idempotent, self.inner.retry).await?;
        // Reading the (empty) body returns the connection to the pool.
        res.bytes().await?;
        Ok(())
    }

    fn with_json<B: Serialize>(builder: RequestBuilder, body: &B) -> Result<RequestBuilder, Error> {
        Ok(builder
            .header(CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(body)?))
    }

    /// `POST /v1/accounts`: creates an account (A1).
    pub async fn create_account(
        &self,
        email: &str,
        password: &str,
        name: &str,
    ) -> Result<Account, Error> {
        #[derive(Serialize)]
        struct Body<'a> {
            email: &'a str,
            password: &'a str,
            name: &'a str,
        }
        let req = self.request(Method::POST, format_args!("/v1/accounts"), Auth::Anonymous);
        let req = Self::with_json(
            req,
            &Body {
                email,
                password,
                name,
            },
        )?;
        self.json(req, Idempotent::No).await
    }

    /// `POST /v1/auth/login`: logs in and keeps the token for this session's later calls.
    pub async fn login(&self, email: &str, password: &str) -> Result<Login, Error> {
        #[derive(Serialize)]
        struct Body<'a> {
            email: &'a str,
            password: &'a str,
        }
        let req = self.request(
            Method::POST,
            format_args!("/v1/auth/login"),
            Auth::Anonymous,
        );
        let req = Self::with_json(req, &Body { email, password })?;
        let login: Login = self.json(req, Idempotent::No).await?;
        self.set_token(&login.token)?;
        Ok(login)
    }

    /// `GET /v1/me`: the account, its own pool, its memberships and its seats.
    pub async fn me(&self) -> Result<Me, Error> {
        let req = self.request(Method::GET, format_args!("/v1/me"), Auth::Session);
        self.json(req, Idempotent::Yes).await
    }

    /// `GET /v1/me/seats`: every seat the account holds.
    pub async fn my_seats(&self) -> Result<Vec<Seat>, Error> {
        let req = self.request(Method::GET, format_args!("/v1/me/seats"), Auth::Session);
        self.json(req, Idempotent::Yes).await
    }

    /// `POST /v1/activations`: activates a license key or joins a pool with an invite code.
    pub async fn activate(&self, code: &str) -> Result<Activation, Error> {
        #[derive(Serialize)]
        struct Body<'a> {
            code: &'a str,
        }
        let req = self.request(Method::POST, format_args!("/v1/activations"), Auth::Session);
        let req = Self::with_json(req, &Body { code })?;
        // Repeating an activation is harmless (`already_active`), so a lost answer is retried.
        self.json(req, Idempotent::Yes).await
    }

    /// `GET /v1/pools/{pool}/invite`: the pool's invite code and URL (owner only).
    pub async fn invite(&self, pool: &str) -> Result<Invite, Error> {
        let req = self.request(
            Method::GET,
            format_args!("/v1/pools/{}/invite", Segment(pool)),
            Auth::Session,
        );
        self.json(req, Idempotent::Yes).await
    }

    /// `POST /v1/operator/licenses` with the operator token: issues a license (L7).
    pub async fn issue_license(
        &self,
        operator_token: &str,
        kind: &str,
        seats: u32,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<License, Error> {
        #[derive(Serialize)]
        struct Body<'a> {
            #[serde(rename = "type")]
            kind: &'a str,
            seats: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            expires_at: Option<String>,
        }
        let expires_at = match expires_at {
            Some(t) => Some(rfc3339(t)?),
            None => None,
        };
        let req = self.request(
            Method::POST,
            format_args!("/v1/operator/licenses"),
            Auth::Bearer(operator_token),
        );
        let req = Self::with_json(
            req,
            &Body {
                kind,
                seats,
                expires_at,
            },
        )?;
        self.json(req, Idempotent::No).await
    }

    /// `POST /v1/seats`: takes a seat (S2, S8, W1) and returns it without any background
    /// task; 429 and 503 are retried, connection errors too (S2 answers the same seat).
    pub async fn take_seat(&self, request: &AcquireRequest) -> Result<Grant, Error> {
        let wait_s = request.wait.map(|w| w.as_secs()).filter(|&s| s > 0);
        let body = AcquireBody {
            device_id: &request.device_id,
            platform: request.platform,
            pool: request.pool.as_deref(),
            wait_s,
        };
        let req = self
            .request(Method::POST, format_args!("/v1/seats"), Auth::Session)
            .timeout(self.inner.request_timeout + Duration::from_secs(wait_s.unwrap_or(0)));
        let req = Self::with_json(req, &body)?;
        let res = self.send(req, Idempotent::Yes, self.inner.retry).await?;
        let reused = res.status() == reqwest::StatusCode::OK;
        let body = res.bytes().await?;
        Ok(Grant {
            seat: serde_json::from_slice(&body)?,
            reused,
        })
    }

    /// `POST /v1/seats/{seat}/heartbeat` (S4), reporting whether the user is active (W2).
    pub async fn heartbeat(&self, seat_id: &str, active: bool) -> Result<Heartbeat, Error> {
        self.heartbeat_with(seat_id, active, self.inner.retry).await
    }

    /// A heartbeat under `policy` (the guard retries on its own schedule).
    pub(crate) async fn heartbeat_with(
        &self,
        seat_id: &str,
        active: bool,
        policy: RetryPolicy,
    ) -> Result<Heartbeat, Error> {
        let req = self
            .request(
                Method::POST,
                format_args!("/v1/seats/{}/heartbeat", Segment(seat_id)),
                Auth::Session,
            )
            .header(CONTENT_TYPE, "application/json")
            .body(if active { BEAT_ACTIVE } else { BEAT_IDLE });
        let res = self.send(req, Idempotent::Yes, policy).await?;
        let body = res.bytes().await?;
        Ok(serde_json::from_slice(&body)?)
    }

    /// `POST /v1/seats/{seat}/close`: the application closes (S5: a member's seat is freed,
    /// the owner's desktop seat and an offline reservation are kept).
    pub async fn close(&self, seat_id: &str) -> Result<(), Error> {
        let req = self.request(
            Method::POST,
            format_args!("/v1/seats/{}/close", Segment(seat_id)),
            Auth::Session,
        );
        self.empty(req, Idempotent::Yes).await
    }

    /// `DELETE /v1/seats/{seat}`: logs out on that device, freeing its seat (S6).
    pub async fn logout(&self, seat_id: &str) -> Result<(), Error> {
        let req = self.request(
            Method::DELETE,
            format_args!("/v1/seats/{}", Segment(seat_id)),
            Auth::Session,
        );
        self.empty(req, Idempotent::Yes).await
    }

    /// `POST /v1/seats/{seat}/offline`: reserves the seat for offline use until `until` (S11).
    pub async fn reserve_offline(
        &self,
        seat_id: &str,
        until: OffsetDateTime,
    ) -> Result<Seat, Error> {
        #[derive(Serialize)]
        struct Body {
            until: String,
        }
        let until = rfc3339(until)?;
        let req = self.request(
            Method::POST,
            format_args!("/v1/seats/{}/offline", Segment(seat_id)),
            Auth::Session,
        );
        let req = Self::with_json(req, &Body { until })?;
        self.json(req, Idempotent::Yes).await
    }

    /// `POST /v1/me/seats/release`: "free up my seats" on every device (S7); how many went.
    pub async fn release_all(&self) -> Result<u64, Error> {
        let req = self.request(
            Method::POST,
            format_args!("/v1/me/seats/release"),
            Auth::Session,
        );
        let released: seatbroker_api::Released = self.json(req, Idempotent::Yes).await?;
        Ok(released.released as u64)
    }
}

/// Every byte but RFC 3986's unreserved characters is percent-encoded in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A path segment, percent-encoded by the `percent-encoding` crate (the one `url` uses) when
/// it holds anything but unreserved characters. Ids never do, so they are written as they
/// are; either way nothing is allocated, which the load tester's request rate wants (a
/// `Url::path_segments_mut` would parse and allocate a URL per request).
struct Segment<'a>(&'a str);

impl std::fmt::Display for Segment<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        utf8_percent_encode(self.0, SEGMENT).fmt(f)
    }
}

/// A time as the API writes it.
fn rfc3339(t: OffsetDateTime) -> Result<String, Error> {
    t.format(&Rfc3339)
        .map_err(|e| Error::InvalidTime(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_base_urls_are_accepted() {
        assert!(Client::new("http://127.0.0.1:8080/").is_ok());
        assert!(matches!(
            Client::new("not a url"),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(matches!(
            Client::new("mailto:x@y.z"),
            Err(Error::InvalidUrl { .. })
        ));
        let c = Client::new("http://127.0.0.1:8080/").expect("client");
        assert_eq!(c.base_url(), "http://127.0.0.1:8080");
    }

    #[test]
    fn request_urls_keep_the_base_path_and_append_the_route() {
        let c = Client::new("http://127.0.0.1:8080/broker/").expect("client");
        let req = c
            .request(
                Method::GET,
                format_args!("/v1/seats/{}", Segment("S-1")),
                Auth::Anonymous,
            )
            .build()
            .expect("request");
        assert_eq!(
            req.url().as_str(),
            "http://127.0.0.1:8080/broker/v1/seats/S-1"
        );
        let plain = Client::new("http://127.0.0.1:8080").expect("client");
        let req = plain
            .request(Method::GET, format_args!("/v1/me"), Auth::Anonymous)
            .build()
            .expect("request");
        assert_eq!(req.url().as_str(), "http://127.0.0.1:8080/v1/me");
    }

    #[test]
    fn ids_go_into_paths_as_they_are_and_anything_else_is_encoded() {
        assert_eq!(Segment("S-3F9-C21").to_string(), "S-3F9-C21");
        assert_eq!(Segment("a/b?c d").to_string(), "a%2Fb%3Fc%20d");
        assert_eq!(Segment("é").to_string(), "%C3%A9");
    }

    #[test]
    fn clones_share_the_session_and_new_sessions_do_not() {
        let c = Client::new("http://127.0.0.1:1").expect("client");
        let clone = c.clone();
        let other = c.new_session();
        c.set_token("abc").expect("token");
        assert!(clone.session.read().expect("lock").is_some());
        assert!(other.session.read().expect("lock").is_none());
        assert!(matches!(c.set_token("a\nb"), Err(Error::InvalidToken)));
    }
}
