//! Setting up what a scenario needs through the broker's own API, so a run works against
//! any broker given its operator token: per pool an educational license issued by the
//! operator, an owner who activates it, the pool's invite code, and members who join with
//! it, each logged in with a session of its own on the shared connections. Account names
//! carry a random run id, so runs against one broker never collide. Setup talks to one broker
//! (a run's first target); a member's token carries its session to the others (`Member`).

use std::sync::Arc;
use std::time::Duration;

use seatbroker_client::{Client, Error};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The password of every account a run creates.
const PASSWORD: &str = "load-test-password";

/// What to set up.
#[derive(Debug, Clone)]
pub struct SetupPlan {
    /// Pools.
    pub pools: usize,
    /// Members per pool (each a logical client).
    pub members: usize,
    /// Seats per pool.
    pub capacity: u64,
    /// Heartbeat timeout of each pool (`PATCH /v1/pools/{pool}`), when set.
    pub timeout_s: Option<u64>,
    /// The operator token.
    pub operator_token: String,
    /// Setup requests in flight at once.
    pub concurrency: usize,
}

/// One pool ready for a scenario.
#[derive(Debug, Clone)]
pub struct PoolSetup {
    /// `P-...`
    pub id: String,
    /// Its capacity.
    pub capacity: u64,
    /// The owner's session.
    pub owner: Client,
    /// The owner's bearer token.
    pub owner_token: String,
    /// The members.
    pub members: Vec<Member>,
}

/// One member of a pool: its session on the broker it was set up on, and the bearer token
/// of that session.
#[derive(Debug, Clone)]
pub struct Member {
    /// The session on the setup broker.
    pub client: Client,
    /// Its bearer token.
    pub token: String,
}

impl Member {
    /// This member's session on each of `others` (brokers sharing the setup broker's store
    /// and token-signing key), the same token on each, after its session on the setup broker.
    pub fn sessions_on(&self, others: &[Client]) -> Result<(Client, Vec<Client>), Error> {
        let elsewhere = others
            .iter()
            .map(|base| {
                let session = base.new_session();
                session.set_token(&self.token)?;
                Ok(session)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        Ok((self.client.clone(), elsewhere))
    }
}

/// Why setup failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A setup call was refused or failed.
    #[error("setup: {what}: {source}")]
    Call {
        /// Which call.
        what: String,
        /// What it ended with.
        source: Error,
    },
    /// `PATCH /v1/pools/{pool}` failed.
    #[error("setup: setting the pool's timeout: {0}")]
    Patch(String),
}

fn call<T>(what: impl Into<String>, r: Result<T, Error>) -> Result<T, SetupError> {
    r.map_err(|source| SetupError::Call {
        what: what.into(),
        source,
    })
}

/// A fresh random id for one run's account names.
pub fn run_id() -> String {
    format!("{:08x}", fastrand::u32(..))
}

/// An account created and logged in on `base`'s connections; its session and token.
async fn account(base: &Client, email: String) -> Result<(Client, String), SetupError> {
    let client = base.new_session();
    call(
        format!("create account {email}"),
        client.create_account(&email, PASSWORD, "Load").await,
    )?;
    let login = call(
        format!("log in {email}"),
        client.login(&email, PASSWORD).await,
    )?;
    Ok((client, login.token))
}

/// Sets up one pool: license, owner, invite code (members are added by `setup`).
async fn pool(
    base: Client,
    http: reqwest::Client,
    plan: SetupPlan,
    run: String,
    index: usize,
) -> Result<(String, Client, String, String), SetupError> {
    let license = call(
        "issue a license with the operator token",
        base.issue_license(
            &plan.operator_token,
            "educational",
            plan.capacity as u32,
            None,
        )
        .await,
    )?;
    let (owner, token) = account(&base, format!("{run}-p{index}-owner@load.example")).await?;
    let activation = call("activate the license", owner.activate(&license.key).await)?;
    let id = activation.pool.id;
    if let Some(timeout_s) = plan.timeout_s {
        let res = http
            .patch(format!("{}/v1/pools/{id}", base.base_url()))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "timeout_s": timeout_s }))
            .send()
            .await
            .map_err(|e| SetupError::Patch(e.to_string()))?;
        if !res.status().is_success() {
            return Err(SetupError::Patch(format!("answered {}", res.status())));
        }
    }
    let invite = call("get the invite code", owner.invite(&id).await)?;
    Ok((id, owner, token, invite.code))
}

/// Sets up `plan` on the broker `base` talks to (`http` are its connections).
pub async fn setup(
    base: &Client,
    http: &reqwest::Client,
    plan: &SetupPlan,
) -> Result<Vec<PoolSetup>, SetupError> {
    let run = run_id();
    let permits = Arc::new(Semaphore::new(plan.concurrency.max(1)));
    let mut owners = JoinSet::new();
    for index in 0..plan.pools {
        let (base, http, plan, run, permits) = (
            base.clone(),
            http.clone(),
            plan.clone(),
            run.clone(),
            permits.clone(),
        );
        owners.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (index, pool(base, http, plan, run, index).await)
        });
    }
    let mut pools: Vec<Option<(String, Client, String, String)>> = vec![None; plan.pools];
    while let Some(done) = owners.join_next().await {
        let (index, result) = done.map_err(|e| SetupError::Patch(format!("setup task: {e}")))?;
        pools[index] = Some(result?);
    }
    let mut members = JoinSet::new();
    for (p, entry) in pools.iter().enumerate() {
        let Some((_, _, _, code)) = entry else {
            continue;
        };
        for m in 0..plan.members {
            let (base, run, code, permits) =
                (base.clone(), run.clone(), code.clone(), permits.clone());
            members.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let result = async {
                    let (client, token) =
                        account(&base, format!("{run}-p{p}-m{m}@load.example")).await?;
                    call("join with the invite code", client.activate(&code).await)?;
                    Ok::<_, SetupError>(Member { client, token })
                }
                .await;
                (p, m, result)
            });
        }
    }
    let mut joined: Vec<Vec<Option<Member>>> = vec![vec![None; plan.members]; plan.pools];
    while let Some(done) = members.join_next().await {
        let (p, m, result) = done.map_err(|e| SetupError::Patch(format!("setup task: {e}")))?;
        joined[p][m] = Some(result?);
    }
    Ok(pools
        .into_iter()
        .zip(joined)
        .filter_map(|(pool, members)| {
            let (id, owner, owner_token, _) = pool?;
            Some(PoolSetup {
                id,
                capacity: plan.capacity,
                owner,
                owner_token,
                members: members.into_iter().flatten().collect(),
            })
        })
        .collect())
}

/// The pool's seats in use, as its owner reads them (`GET /v1/pools/{pool}`).
pub async fn in_use(http: &reqwest::Client, base: &str, pool: &PoolSetup) -> Option<u64> {
    let res = http
        .get(format!("{base}/v1/pools/{}", pool.id))
        .bearer_auth(&pool.owner_token)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    let body: serde_json::Value = res.json().await.ok()?;
    body["in_use"].as_u64()
}
