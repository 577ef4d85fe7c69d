//! The portal without a browser: a plain HTTP client that keeps the portal's cookies and
//! posts forms, for what a browser would not show (headers, cookie attributes, forged posts).

use std::collections::BTreeMap;

/// A client of the portal holding its cookies by name.
pub struct PortalClient {
    base: String,
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
    /// `X-Forwarded-For` on every request: a client behind a trusted proxy.
    forwarded_for: Option<String>,
}

impl PortalClient {
    /// A client of the broker at `base`, with no cookies and no redirects followed.
    pub fn new(base: &str) -> PortalClient {
        PortalClient {
            base: base.to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("a client"),
            cookies: BTreeMap::new(),
            forwarded_for: None,
        }
    }

    /// The same client seen through a trusted proxy as coming from `ip`.
    pub fn behind_proxy_as(mut self, ip: &str) -> PortalClient {
        self.forwarded_for = Some(ip.to_owned());
        self
    }

    /// A request with the kept cookies (and the forwarded address, if any).
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header());
        match &self.forwarded_for {
            Some(ip) => req.header("x-forwarded-for", ip),
            None => req,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, res: &reqwest::Response) {
        for raw in res.headers().get_all(reqwest::header::SET_COOKIE) {
            let raw = raw.to_str().expect("an ASCII cookie");
            let pair = raw.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
    }

    /// GET `path` with the kept cookies.
    pub async fn get(&mut self, path: &str) -> reqwest::Response {
        let res = self
            .request(reqwest::Method::GET, path)
            .header(reqwest::header::ACCEPT, "text/html")
            .send()
            .await
            .expect("the broker answers");
        self.keep(&res);
        res
    }

    /// GET `path` as a browser that prefers `languages` (its `Accept-Language`).
    pub async fn client_get_with_language(
        &mut self,
        path: &str,
        languages: &str,
    ) -> reqwest::Response {
        let res = self
            .request(reqwest::Method::GET, path)
            .header(reqwest::header::ACCEPT_LANGUAGE, languages)
            .send()
            .await
            .expect("the broker answers");
        self.keep(&res);
        res
    }

    /// POST a form to `path` with the kept cookies, exactly the fields given.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let res = self
            .request(reqwest::Method::POST, path)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .expect("the broker answers");
        self.keep(&res);
        res
    }

    /// The CSRF token of the form on `path` (read from the page, as a browser would).
    pub async fn csrf_of(&mut self, path: &str) -> String {
        let page = self.get(path).await.text().await.expect("a page");
        let at = page
            .find("name=\"csrf\" value=\"")
            .expect("the page has a form with a CSRF token");
        let rest = &page[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').expect("a closing quote")].to_owned()
    }

    /// The value of a kept cookie.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// Forgets a cookie (a browser whose cookie was stolen keeps it; an attacker's has none).
    pub fn forget(&mut self, name: &str) {
        self.cookies.remove(name);
    }
}
