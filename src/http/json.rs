//! `ApiJson<T>`: the request-body extractor. It reads at most `server.max_body_bytes` (413
//! beyond), accepts JSON whatever the Content-Type says (so `curl -d` works), and turns every
//! failure into API.md's error: 400 `malformed_request` for what is not JSON, not an object,
//! a missing field or a wrong type, 422 `invalid_value` for an unknown enum value or a value
//! out of range, each naming the `field`.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::web::{self, Bytes};
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The body limit when no settings are at hand (API.md's default).
const DEFAULT_LIMIT: usize = 65_536;

/// A JSON body parsed into `T`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// The request's query string parsed into `T`; an unreadable one is 400
/// `malformed_request` in API.md's shape (actix's own `Query` extractor answers plain text).
pub fn query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, ApiError> {
    actix_web::web::Query::<T>::from_query(req.query_string())
        .map(actix_web::web::Query::into_inner)
        .map_err(|e| ApiError::malformed(format!("the query is unreadable: {e}"), None))
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload);
        Box::pin(async move { parse(&body.await?).map(ApiJson) })
    }
}

/// Like `ApiJson`, but an empty body is `T::default()` (for bodies whose fields are all
/// optional, such as a heartbeat's).
#[derive(Debug)]
pub struct ApiJsonOrEmpty<T>(pub T);

impl<T: DeserializeOwned + Default + 'static> FromRequest for ApiJsonOrEmpty<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload);
        Box::pin(async move {
            let bytes = body.await?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Ok(ApiJsonOrEmpty(T::default()));
            }
            parse(&bytes).map(ApiJsonOrEmpty)
        })
    }
}

/// Reads the body, at most `server.max_body_bytes` of it (413 beyond).
fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<Bytes, ApiError>> + 'static {
    let limit = req
        .app_data::<web::Data<super::AppState>>()
        .map_or(DEFAULT_LIMIT, |s| s.settings.server.max_body_bytes);
    let bytes = Bytes::from_request(req, payload);
    async move {
        bytes.await.map_err(|e| match e.as_error::<PayloadError>() {
            Some(PayloadError::Overflow) => ApiError::body_too_large(limit),
            _ => match e.error_response().status().as_u16() {
                413 => ApiError::body_too_large(limit),
                _ => ApiError::malformed("the request body could not be read", None),
            },
        })
    }
}

/// Parses a body, mapping serde's complaint to the API's error with the field's path.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Serde would take an array for a struct, field by position; the API takes objects.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::malformed("the body must be a JSON object", None));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize(de) {
        Ok(value) => Ok(value),
        // JSON has one number type, and JSON Schema (so /openapi.json) counts `5.0` as the
        // integer 5; serde's integers do not. Only then is the body read a second time, with
        // such numbers written as integers, so the usual body pays nothing for it.
        Err(err)
            if err
                .inner()
                .to_string()
                .starts_with("invalid type: floating point") =>
        {
            let mut value = match serde_json::from_slice::<serde_json::Value>(bytes) {
                Ok(value) => value,
                Err(_) => return Err(api_error(err)),
            };
            if integral_floats_to_integers(&mut value) {
                serde_path_to_error::deserialize(value).map_err(api_error)
            } else {
                Err(api_error(err))
            }
        }
        Err(err) => Err(api_error(err)),
    }
}

/// Writes every number with a zero fraction (`5.0`) under `value` as an integer; whether
/// there was one.
pub fn integral_floats_to_integers(value: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => match integral(n) {
            Some(whole) => {
                *value = whole;
                true
            }
            None => false,
        },
        Value::Array(items) => {
            let mut changed = false;
            for item in items {
                changed |= integral_floats_to_integers(item);
            }
            changed
        }
        Value::Object(map) => {
            let mut changed = false;
            for item in map.values_mut() {
                changed |= integral_floats_to_integers(item);
            }
            changed
        }
        _ => false,
    }
}

/// The integer a number with a zero fraction stands for, when one fits in 64 bits.
pub fn integral(n: &serde_json::Number) -> Option<serde_json::Value> {
    let f = n.as_f64()?;
    if f.fract() != 0.0 {
        return None;
    }
    if (0.0..18_446_744_073_709_551_616.0).contains(&f) {
        Some(serde_json::Value::from(f as u64))
    } else if (-9_223_372_036_854_775_808.0..0.0).contains(&f) {
        Some(serde_json::Value::from(f as i64))
    } else {
        None
    }
}

/// Serde's complaint as the API's error, naming the field's path.
fn api_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    let message = inner.to_string();
    if !inner.is_data() {
        return ApiError::malformed(format!("the body is not JSON: {message}"), None);
    }
    let field = if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        Some(if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        })
    } else if path == "." {
        None
    } else {
        Some(path)
    };
    let out_of_range = message.starts_with("unknown variant")
        || message.starts_with("invalid value")
        || message.starts_with("invalid length");
    match (field, out_of_range) {
        (Some(field), true) => ApiError::invalid(&field, message),
        (Some(field), false) => ApiError::malformed(message, Some(&field)),
        (None, _) => {
            ApiError::malformed(format!("the body must be a JSON object: {message}"), None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        email: String,
        kind: Kind,
        n: Option<u8>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Web,
    }

    fn code_and_field(raw: &str) -> (u16, &'static str, Option<String>) {
        let err = parse::<Body>(raw.as_bytes()).expect_err(raw);
        let status = actix_web::ResponseError::status_code(&err).as_u16();
        let field = err
            .detail("field")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        (status, err.code(), field)
    }

    #[test]
    fn bad_bodies_get_the_api_errors_naming_the_field() {
        assert_eq!(code_and_field("").1, "malformed_request");
        assert_eq!(code_and_field("{not json").1, "malformed_request");
        assert_eq!(code_and_field("[1, 2]"), (400, "malformed_request", None));
        assert_eq!(
            code_and_field(r#"{"kind": "web"}"#),
            (400, "malformed_request", Some("email".into()))
        );
        assert_eq!(
            code_and_field(r#"{"email": 5, "kind": "web"}"#),
            (400, "malformed_request", Some("email".into()))
        );
        assert_eq!(
            code_and_field(r#"{"email": "a", "kind": "fax"}"#),
            (422, "invalid_value", Some("kind".into()))
        );
        assert_eq!(
            code_and_field(r#"{"email": "a", "kind": "web", "n": 300}"#),
            (422, "invalid_value", Some("n".into()))
        );
        assert_eq!(
            code_and_field("{\"email\": \"\u{0}\", \"kind\": \"web\"}").1,
            "malformed_request"
        );
    }

    #[test]
    fn an_integer_written_with_a_zero_fraction_is_an_integer() {
        // JSON Schema, and so /openapi.json, counts 5.0 as an integer (schemathesis sends it).
        let body: Body = parse(br#"{"email": "a", "kind": "web", "n": 5.0}"#).expect("5.0 is 5");
        assert_eq!(body.n, Some(5));
        assert_eq!(
            code_and_field(r#"{"email": "a", "kind": "web", "n": 5.5}"#),
            (400, "malformed_request", Some("n".into()))
        );
        assert_eq!(
            code_and_field(r#"{"email": "a", "kind": "web", "n": 300.0}"#),
            (422, "invalid_value", Some("n".into()))
        );
        assert_eq!(
            code_and_field(r#"{"email": 1.0, "kind": "web"}"#),
            (400, "malformed_request", Some("email".into()))
        );
    }

    #[test]
    fn non_utf8_bytes_are_malformed_not_a_panic() {
        let err = parse::<Body>(b"{\"email\": \"\xff\xfe\", \"kind\": \"web\"}").unwrap_err();
        assert_eq!(err.code(), "malformed_request");
    }
}
