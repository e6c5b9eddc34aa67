//! The page frame (header, navigation, main), the security headers every console answer
//! carries, and the two embedded assets (one stylesheet, one script).
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::viewer::Viewer;

const CSS: &[u8] = include_bytes!("assets/console.css");
const JS: &[u8] = include_bytes!("assets/console.js");
/// Changes when an asset does, so the assets can be cached for a long time.
const ASSET_VERSION: &str = env!("CARGO_PKG_VERSION");

/// No inline script or style, nothing from another origin, no framing, forms post here only.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn secure_headers(response: &mut Response, cache: &'static str) {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
}

/// An HTML answer with the console's headers; pages are never cached (they hold CSRF tokens
/// and what one user may see).
pub fn html_response(status: StatusCode, markup: Markup) -> Response {
    let mut r = (status, markup.into_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(&mut r, "no-store");
    r
}

/// A `303 See Other` to `location` (after a POST, so a reload does not post again).
pub fn redirect(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    secure_headers(&mut r, "no-store");
    r
}

fn asset(body: &'static [u8], content_type: &'static str) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    secure_headers(&mut r, "public, max-age=86400");
    r
}

pub async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

pub async fn js() -> Response {
    asset(JS, "text/javascript; charset=utf-8")
}

/// The navigation: what the viewer may open (administrators see the administrative pages).
fn nav(viewer: &Viewer, current: &str) -> Markup {
    let mut items = vec![("instances", "/ui/instances", "Registry")];
    if viewer.admin {
        items.extend([
            ("risk", "/ui/risk", "Risk"),
            ("clusters", "/ui/clusters", "Clusters"),
            ("exceptions", "/ui/exceptions", "Exceptions"),
            ("policies", "/ui/policies", "Policies"),
            ("tokens", "/ui/tokens", "API tokens"),
            ("api-keys", "/ui/api-keys", "API keys"),
            ("database", "/ui/database", "Database"),
        ]);
    }
    html! {
        nav aria-label="Main" {
            ul {
                @for (key, href, label) in items {
                    li {
                        @if key == current {
                            a href=(href) aria-current="page" { (label) }
                        } @else {
                            a href=(href) { (label) }
                        }
                    }
                }
            }
        }
    }
}

/// A whole page for a logged-in viewer.
pub fn page(viewer: &Viewer, current: &str, title: &str, body: Markup) -> Markup {
    frame(
        title,
        html! {
            header class="top" {
                a class="brand" href="/ui/" { "berth" }
                (nav(viewer, current))
                form class="logout" method="post" action="/ui/logout" {
                    input type="hidden" name="csrf" value=(viewer.csrf);
                    span class="who" { (viewer.username) @if viewer.admin { " (admin)" } }
                    button type="submit" { "Log out" }
                }
            }
            main id="main" {
                h1 { (title) }
                (body)
            }
        },
    )
}

/// The document around `body`: one stylesheet, one deferred script.
pub fn frame(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · berth" }
                link rel="stylesheet" href={ "/ui/assets/console.css?v=" (ASSET_VERSION) };
                script src={ "/ui/assets/console.js?v=" (ASSET_VERSION) } defer {}
            }
            body {
                a class="skip" href="#main" { "Skip to content" }
                (body)
            }
        }
    }
}

/// Bytes as people read them (binary units).
pub fn bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// A time in milliseconds since the epoch, as UTC.
pub fn time_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// A time in seconds since the epoch, as UTC.
pub fn time_s(s: i64) -> String {
    time_ms(s.saturating_mul(1000))
}

/// A digest shortened for display (the full one is in the link and the title).
pub fn short_digest(d: &str) -> String {
    let hex = d.split_once(':').map_or(d, |(_, h)| h);
    hex.chars().take(12).collect()
}

/// A query-string value, percent-encoded.
pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The link to an image page.
pub fn image_href(instance: &str, repo: &str, digest: &str) -> String {
    format!(
        "/ui/image?i={}&repo={}&digest={}",
        enc(instance),
        enc(repo),
        enc(digest)
    )
}

/// A hidden CSRF field for a form.
pub fn csrf_field(viewer: &Viewer) -> Markup {
    html! { input type="hidden" name="csrf" value=(viewer.csrf); }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_and_digests_read_well() {
        assert_eq!(super::bytes(512), "512 B");
        assert_eq!(super::bytes(1536), "1.5 KiB");
        assert_eq!(
            super::short_digest("sha256:0123456789abcdef"),
            "0123456789ab"
        );
        assert_eq!(super::time_ms(0), "1970-01-01 00:00 UTC");
    }
}
