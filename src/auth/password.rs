//! A2: argon2id password hashes, computed on tokio's blocking pool behind a semaphore so a
//! burst of logins occupies at most the permitted threads and never an arbiter running seat
//! requests. The cost comes from the `auth.argon2_*` settings.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::account::Password;

/// Why hashing failed: never the password's fault.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HashError {
    /// The cost settings are unusable.
    #[error("argon2 parameters: {0}")]
    Params(String),
    /// The hashing thread went away.
    #[error("the hashing worker failed")]
    Worker,
}

/// Hashes and verifies passwords with a fixed cost.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    permits: Arc<Semaphore>,
    /// A hash of nothing anybody knows, verified for unknown emails so that they take as
    /// long as wrong passwords (A3: accounts cannot be discovered).
    decoy: Arc<String>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// A hasher with this cost, hashing at most `threads` passwords at once.
    pub fn new(m_kib: u32, t: u32, p: u32, threads: usize) -> Result<Self, HashError> {
        let params =
            Params::new(m_kib, t, p, None).map_err(|e| HashError::Params(e.to_string()))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        let decoy = argon
            .hash_password(b"decoy password nobody has")
            .map_err(|e| HashError::Params(e.to_string()))?
            .to_string();
        Ok(PasswordHasher {
            params,
            permits: Arc::new(Semaphore::new(threads.max(1))),
            decoy: Arc::new(decoy),
        })
    }

    /// The PHC string of a fresh salted hash.
    pub async fn hash(&self, password: &Password) -> Result<String, HashError> {
        let params = self.params.clone();
        let password = password.expose().to_owned();
        self.run(move || {
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| HashError::Params(e.to_string()))
        })
        .await?
    }

    /// Whether `password` matches `hash`; `None` for `hash` checks a decoy and answers false,
    /// taking as long as a real check.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, HashError> {
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.decoy.as_str().to_owned(), str::to_owned);
        let password = password.to_owned();
        let params = self.params.clone();
        let matches = self
            .run(move || match PasswordHash::new(&hash) {
                Ok(parsed) => Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok(),
                Err(_) => false,
            })
            .await?;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| HashError::Worker)?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|_| HashError::Worker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(8, 1, 1, 1).unwrap()
    }

    #[actix_rt::test]
    async fn a2_passwords_are_stored_as_salted_argon2id_hashes() {
        let h = hasher();
        let pw = Password::parse("correct horse battery").unwrap();
        let a = h.hash(&pw).await.unwrap();
        let b = h.hash(&pw).await.unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "salted: the same password hashes differently");
        assert!(!a.contains("horse"));
        assert!(h.verify("correct horse battery", Some(&a)).await.unwrap());
        assert!(!h.verify("wrong horse battery", Some(&a)).await.unwrap());
    }

    #[actix_rt::test]
    async fn a3_an_unknown_account_never_matches() {
        let h = hasher();
        assert!(!h.verify("decoy password nobody has", None).await.unwrap());
        assert!(!h.verify("anything", Some("not a hash")).await.unwrap());
    }

    #[test]
    fn unusable_costs_are_refused() {
        assert!(PasswordHasher::new(1, 1, 1, 1).is_err());
    }
}
