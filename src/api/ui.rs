//! The dashboard: `GET /` and `GET /ui/` serve one page, `/ui/<asset>` its stylesheet and
//! scripts. The files live in `src/ui/` (plain HTML, CSS and ES modules, no build step) and
//! are embedded in the binary, so the page works offline and on a closed network. It reads
//! and acts only through the public `/api/v1` routes, like any other client; its routes stay
//! out of the OpenAPI document because they are not part of the API.

use crate::api::error::ApiError;
use crate::app::AppState;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// One embedded file: its name under `/ui/`, media type and bytes.
struct Asset {
    name: &'static str,
    media_type: &'static str,
    body: &'static str,
}

const JS: &str = "text/javascript; charset=utf-8";

/// Everything the page loads; `index.html` names each of them.
const ASSETS: &[Asset] = &[
    Asset {
        name: "index.html",
        media_type: "text/html; charset=utf-8",
        body: include_str!("../ui/index.html"),
    },
    Asset { name: "app.css", media_type: "text/css; charset=utf-8", body: include_str!("../ui/app.css") },
    Asset { name: "favicon.svg", media_type: "image/svg+xml", body: include_str!("../ui/favicon.svg") },
    Asset { name: "js/main.js", media_type: JS, body: include_str!("../ui/js/main.js") },
    Asset { name: "js/api.js", media_type: JS, body: include_str!("../ui/js/api.js") },
    Asset { name: "js/dom.js", media_type: JS, body: include_str!("../ui/js/dom.js") },
    Asset { name: "js/charts.js", media_type: JS, body: include_str!("../ui/js/charts.js") },
    Asset { name: "js/overview.js", media_type: JS, body: include_str!("../ui/js/overview.js") },
    Asset { name: "js/operations.js", media_type: JS, body: include_str!("../ui/js/operations.js") },
    Asset { name: "js/measurements.js", media_type: JS, body: include_str!("../ui/js/measurements.js") },
    Asset { name: "js/experiments.js", media_type: JS, body: include_str!("../ui/js/experiments.js") },
    Asset { name: "js/ibc.js", media_type: JS, body: include_str!("../ui/js/ibc.js") },
];

/// The browser may load and call only this origin: a CDN reference or an injected script
/// would be refused, not merely unused.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/ui", get(|| async { Redirect::permanent("/ui/") }))
        .route("/ui/", get(index))
        .route("/ui/{*name}", get(asset))
}

async fn index() -> Response {
    serve(&ASSETS[0])
}

async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == name) {
        Some(asset) => serve(asset),
        None => ApiError::route_not_found().into_response(),
    }
}

fn serve(asset: &Asset) -> Response {
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.media_type));
    // Assets change with the binary; a reload after an upgrade must not run stale scripts.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_embedded_asset_and_nothing_off_origin() {
        let page = ASSETS[0].body;
        let scripts: String = ASSETS.iter().filter(|a| a.name.ends_with(".js")).map(|a| a.body).collect();
        for asset in &ASSETS[1..] {
            let path = format!("/ui/{}", asset.name);
            let file = asset.name.rsplit('/').next().unwrap_or(asset.name);
            assert!(
                page.contains(&path) || scripts.contains(&format!("./{file}")),
                "{} is embedded but never loaded",
                asset.name
            );
        }
        // Only the SVG namespace name may look like a URL; it is never fetched.
        for asset in ASSETS {
            let body = asset.body.replace("http://www.w3.org/2000/svg", "");
            for scheme in ["http://", "https://", "//cdn", "@import", "url("] {
                assert!(!body.contains(scheme), "{} refers to {scheme}", asset.name);
            }
        }
    }
}
