//! `POST /v1/trials` (L6): starts a trial through `service::trials`.

use actix_web::{web, HttpResponse};

use super::auth::Authenticated;
use super::error::ApiError;
use super::views::{self, TrialJson};
use crate::domain::time;
use crate::service::trials;
use crate::service::AppState;

/// POST /v1/trials: 201 `{license, pool, active_days_left, valid_until}`.
#[utoipa::path(
    post,
    path = "/v1/trials",
    tag = "licenses",
    responses(
        (status = 201, description = "{license, pool, active_days_left: 5, valid_until}", body = TrialJson),
        (status = 409, description = "trial_not_allowed with reason: licensed, trial_active or recent_trial")
    ),
    security(("bearer" = []))
)]
pub async fn start(
    who: Authenticated,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let trial = trials::start(&state, who.0).await?;
    Ok(HttpResponse::Created().json(TrialJson {
        license: views::license(&trial.license),
        pool: views::pool(&trial.pool),
        active_days_left: trial.active_days_left,
        valid_until: time::format(trial.valid_until),
    }))
}
