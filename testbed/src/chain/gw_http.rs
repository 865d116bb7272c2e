//! The HTTP side of the chain nodes beyond the SDK's REST: gwc's TUS 1.0.0 upload endpoint
//! (`server/tus_handler.go`, tusd at `/upload/tus-stream/`) whose completion runs the
//! executor, gwc's `GET /render/{project}/{version}/{path}` (`server/http_handler.go`), and
//! the storage chains' reads it uses (`/mdsc/metastore/v1/manifest/{project}`,
//! `/fdsc/datastore/v1/fragment/{id}`). A creation must carry the session's upload token as
//! `Authorization: Bearer <hex sha256("upload_token:<sid>")>`, checked against the hash
//! init-session stored.

use super::ChainNode;
use super::sessions::{fragment_json, manifest_json};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::json;

/// Largest upload accepted (tusd's `MaxSize`; the executor's decompression limit).
pub const TUS_MAX_SIZE: u64 = 100 * 1024 * 1024;

/// One upload in the node's upload directory.
#[derive(Debug, Clone, Default)]
pub struct Upload {
    pub length: u64,
    pub data: Vec<u8>,
    pub metadata: Vec<(String, String)>,
}

impl Upload {
    fn meta(&self, key: &str) -> String {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
    }
}

pub fn routes() -> Router<ChainNode> {
    Router::new()
        .route("/upload/tus-stream", post(create).options(options))
        .route("/upload/tus-stream/", post(create).options(options))
        // tusd takes a PATCH of any size up to the upload's length (the experiment runner
        // sends the whole ZIP in one), not axum's 2 MiB default.
        .route(
            "/upload/tus-stream/{id}",
            axum::routing::head(head)
                .patch(patch)
                .options(options)
                .layer(axum::extract::DefaultBodyLimit::max(TUS_MAX_SIZE as usize)),
        )
        .route("/render/{project}/{version}/{*path}", get(render))
        .route("/mdsc/metastore/v1/manifest/{project}", get(manifest))
        .route("/fdsc/datastore/v1/fragment/{id}", get(fragment))
}

fn tus(status: StatusCode, extra: &[(header::HeaderName, String)], body: &str) -> Response {
    let mut r = (status, body.to_string()).into_response();
    let h = r.headers_mut();
    h.insert("tus-resumable", HeaderValue::from_static("1.0.0"));
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    for (k, v) in extra {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(k.clone(), v);
        }
    }
    r
}

fn hdr<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn only_gwc(node: &ChainNode) -> Option<Response> {
    (node.0.app_name != "gwc").then(|| {
        super::rest::RestError::new(super::rest::GrpcCode::Unimplemented, "Not Implemented").into_response()
    })
}

async fn options(State(node): State<ChainNode>) -> Response {
    if let Some(r) = only_gwc(&node) {
        return r;
    }
    let extra = [
        (header::HeaderName::from_static("tus-version"), "1.0.0".to_string()),
        (
            header::HeaderName::from_static("tus-extension"),
            "creation,creation-with-upload,termination,concatenation,creation-defer-length".to_string(),
        ),
        (header::HeaderName::from_static("tus-max-size"), TUS_MAX_SIZE.to_string()),
    ];
    tus(StatusCode::NO_CONTENT, &extra, "")
}

fn parse_metadata(text: &str) -> Vec<(String, String)> {
    text.split(',')
        .filter_map(|pair| {
            let mut it = pair.trim().splitn(2, ' ');
            let key = it.next()?.to_string();
            let value = it
                .next()
                .map(|v| base64::engine::general_purpose::STANDARD.decode(v.trim()).ok())
                .unwrap_or(Some(Vec::new()))?;
            Some((key, String::from_utf8_lossy(&value).into_owned()))
        })
        .collect()
}

/// Creation (`POST`): 401 unless the bearer token hashes to the session's stored hash.
async fn create(State(node): State<ChainNode>, headers: HeaderMap) -> Response {
    use sha2::Digest as _;
    if let Some(r) = only_gwc(&node) {
        return r;
    }
    if hdr(&headers, "tus-resumable") != Some("1.0.0") {
        return tus(
            StatusCode::PRECONDITION_FAILED,
            &[],
            "ERR_UNSUPPORTED_VERSION: missing, invalid or unsupported Tus-Resumable header\n",
        );
    }
    let Some(length) = hdr(&headers, "upload-length").and_then(|l| l.parse::<u64>().ok()) else {
        return tus(
            StatusCode::BAD_REQUEST,
            &[],
            "ERR_INVALID_UPLOAD_LENGTH: missing or invalid Upload-Length header\n",
        );
    };
    if length > TUS_MAX_SIZE {
        return tus(StatusCode::PAYLOAD_TOO_LARGE, &[], "ERR_MAX_SIZE_EXCEEDED: maximum size exceeded\n");
    }
    let metadata = parse_metadata(hdr(&headers, "upload-metadata").unwrap_or_default());
    let upload = Upload { length, data: Vec::new(), metadata };
    let sid = upload.meta("session_id");
    let token = hdr(&headers, "authorization").and_then(|a| a.strip_prefix("Bearer ")).unwrap_or_default();
    let presented: [u8; 32] = sha2::Sha256::digest(token.trim().as_bytes()).into();
    let stored = node.read_state(|l| l.gateway().upload_token_hashes.get(&sid).copied());
    if sid.is_empty() || stored != Some(presented) {
        return tus(StatusCode::UNAUTHORIZED, &[], "invalid or missing upload token\n");
    }
    let id = hex::encode(rand::random::<[u8; 16]>());
    node.0.uploads.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), upload);
    let location = (header::LOCATION, format!("/upload/tus-stream/{id}"));
    tus(StatusCode::CREATED, &[location, (header::HeaderName::from_static("upload-offset"), "0".into())], "")
}

async fn head(State(node): State<ChainNode>, Path(id): Path<String>) -> Response {
    let uploads = node.0.uploads.lock().unwrap_or_else(|e| e.into_inner());
    match uploads.get(&id) {
        Some(u) => tus(
            StatusCode::OK,
            &[
                (header::HeaderName::from_static("upload-offset"), u.data.len().to_string()),
                (header::HeaderName::from_static("upload-length"), u.length.to_string()),
                (header::CACHE_CONTROL, "no-store".into()),
            ],
            "",
        ),
        None => tus(StatusCode::NOT_FOUND, &[], ""),
    }
}

/// `PATCH` at the current offset; the last byte hands the file to the executor.
async fn patch(
    State(node): State<ChainNode>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if hdr(&headers, "content-type") != Some("application/offset+octet-stream") {
        return tus(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &[],
            "ERR_INVALID_CONTENT_TYPE: missing or invalid Content-Type header\n",
        );
    }
    let offset = hdr(&headers, "upload-offset").and_then(|o| o.parse::<u64>().ok());
    let done = {
        let mut uploads = node.0.uploads.lock().unwrap_or_else(|e| e.into_inner());
        let Some(u) = uploads.get_mut(&id) else {
            return tus(StatusCode::NOT_FOUND, &[], "ERR_UPLOAD_NOT_FOUND: upload not found\n");
        };
        if offset != Some(u.data.len() as u64) {
            return tus(StatusCode::CONFLICT, &[], "ERR_MISMATCHED_OFFSET: mismatched offset\n");
        }
        if u.data.len() as u64 + body.len() as u64 > u.length {
            return tus(
                StatusCode::PAYLOAD_TOO_LARGE,
                &[],
                "ERR_UPLOAD_SIZE_EXCEEDED: upload's size exceeded\n",
            );
        }
        u.data.extend_from_slice(&body);
        let offset = u.data.len();
        (offset as u64 == u.length).then(|| u.clone()).map(|u| (u, offset)).ok_or(offset)
    };
    let offset = match done {
        Ok((u, offset)) => {
            let (sid, project, version) = (u.meta("session_id"), u.meta("project_name"), u.meta("version"));
            tokio::spawn(super::gw_executor::execute(node.clone(), sid, u.data, project, version));
            offset
        }
        Err(offset) => offset,
    };
    tus(StatusCode::NO_CONTENT, &[(header::HeaderName::from_static("upload-offset"), offset.to_string())], "")
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// `handleRender`: the manifest from the registered mdsc, each fragment from the fdsc the
/// manifest names, concatenated.
async fn render(
    State(node): State<ChainNode>,
    Path((project, version, path)): Path<(String, String, String)>,
) -> Response {
    if let Some(r) = only_gwc(&node) {
        return r;
    }
    let path = if path.is_empty() { "index.html".to_string() } else { path };
    let infos = node.storage_endpoints();
    let Some(peers) = node.0.peers.get().cloned() else {
        return text(StatusCode::SERVICE_UNAVAILABLE, "no peers\n".into());
    };
    let mdsc = infos.iter().find(|i| i.chain_id == "mdsc" && !i.api_endpoint.is_empty());
    let Some(mdsc) = mdsc else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "MDSC endpoint is not registered in chain state\n".into(),
        );
    };
    let Some(mdsc_node) = peers.serving(&mdsc.chain_id) else {
        return text(
            StatusCode::BAD_GATEWAY,
            format!("Failed to connect to MDSC: {} refused\n", mdsc.api_endpoint),
        );
    };
    let manifest = mdsc_node.read_state(|l| l.gateway().manifests.get(&project).cloned());
    let Some(manifest) = manifest.filter(|m| m.version == version) else {
        return text(StatusCode::NOT_FOUND, format!("Manifest not found for {project}@{version}\n"));
    };
    let Some(file) = manifest.files.iter().find(|f| f.path == path) else {
        return text(StatusCode::NOT_FOUND, format!("File '{path}' not found in manifest\n"));
    };
    let md = file.metadata.clone().unwrap_or_default();
    let mut out = Vec::new();
    for frag in &md.fragments {
        let endpoint = infos.iter().find(|i| {
            i.chain_id != "mdsc"
                && (i.chain_id == frag.fdsc_id || i.channel_id == frag.fdsc_id)
                && !i.api_endpoint.is_empty()
        });
        let data = endpoint.and_then(|e| peers.serving(&e.chain_id)).and_then(|n| {
            n.read_state(|l| l.gateway().fragments.get(&frag.fragment_id).map(|f| f.data.clone()))
        });
        match data {
            Some(d) => out.extend_from_slice(&d),
            None => {
                return text(
                    StatusCode::BAD_GATEWAY,
                    format!("Failed to fetch fragments: fragment {} on {}\n", frag.fragment_id, frag.fdsc_id),
                );
            }
        }
    }
    let mut r = (StatusCode::OK, out).into_response();
    if let Ok(v) = HeaderValue::from_str(&md.mime_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store, must-revalidate"));
    r
}

async fn manifest(State(node): State<ChainNode>, Path(project): Path<String>) -> Response {
    match node.read_state(|l| l.gateway().manifests.get(&project).cloned()) {
        Some(m) if node.0.app_name == "mdsc" => super::rest::ok(json!({"manifest": manifest_json(&m)})),
        _ => super::rest::RestError::new(super::rest::GrpcCode::NotFound, "not found").into_response(),
    }
}

async fn fragment(State(node): State<ChainNode>, Path(id): Path<String>) -> Response {
    match node.read_state(|l| l.gateway().fragments.get(&id).cloned()) {
        Some(f) if node.0.app_name == "fdsc" => super::rest::ok(json!({"fragment": fragment_json(&f)})),
        _ => super::rest::RestError::new(super::rest::GrpcCode::NotFound, "not found").into_response(),
    }
}
