//! The `/api/v1` routes and their OpenAPI description, generated from the handlers.

mod catalogue;
mod delivery;
mod network;
pub(crate) mod orders;
mod production;
mod service;
mod stock;
mod stops;
mod tokens;
mod webhooks;

use crate::AppState;
use crate::contract;
use crate::error::{ApiError, Problem};
use axum::Router;
use rendan_domain::topology::Topology;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "rendan", description = "Order-to-door operations: orders, stock, make-to-order fulfilment, delivery and installation."),
    servers((url = "/api/v1")),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    components(schemas(Problem, crate::error::FieldProblem, orders::LineBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(orders::create, orders::list))
        .routes(routes!(orders::get_one))
        .routes(routes!(orders::cancel))
        .routes(routes!(stock::receive))
        .routes(routes!(stock::balances))
        .routes(routes!(production::list))
        .routes(routes!(production::complete))
        .routes(routes!(tokens::create, tokens::list))
        .routes(routes!(tokens::revoke))
        .routes(routes!(catalogue::products))
        .routes(routes!(catalogue::sites))
        .routes(routes!(catalogue::nodes))
        .routes(routes!(delivery::create_crew, delivery::list_crews))
        .routes(routes!(delivery::depot_crews))
        .routes(routes!(delivery::crew_route))
        .routes(routes!(delivery::slots))
        .routes(routes!(
            delivery::book,
            delivery::appointment,
            delivery::unbook
        ))
        .routes(routes!(delivery::plan))
        .routes(routes!(delivery::optimise))
        .routes(routes!(delivery::publish))
        .routes(routes!(delivery::problem_json))
        .routes(routes!(delivery::solution_json))
        .routes(routes!(stops::report))
        .routes(routes!(stops::visits))
        .routes(routes!(service::levels))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::deliveries))
        .routes(routes!(network::network_state))
        .routes(routes!(network::availability))
        .routes(routes!(network::incidents))
        .routes(routes!(network::sla))
        .routes(routes!(
            network::list_maintenance,
            network::create_maintenance
        ))
        .routes(routes!(
            network::change_maintenance,
            network::delete_maintenance
        ))
        .routes(routes!(network::maintenance_versions))
}

/// The API router (paths relative to `/api/v1`) and its OpenAPI document, completed by
/// [`contract::complete`] for the topology `state` serves.
pub fn api(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let topology = state.cases().topology().clone();
    let (router, mut doc) = router().with_state(state).split_for_parts();
    contract::complete(&mut doc, &topology);
    (router, doc)
}

/// The OpenAPI document of the API serving `topology`, without a running API.
pub fn openapi(topology: &Topology) -> utoipa::openapi::OpenApi {
    let mut doc = router().into_openapi();
    contract::complete(&mut doc, topology);
    doc
}

/// 404 for any path that is not a route.
pub async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no route for {}", uri.path()))
}

/// 405 for a known path with another method.
pub async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        format!("{method} is not allowed on this path"),
    )
}
