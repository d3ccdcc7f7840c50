//! The operator console at `/`: one page, rendered on the server from a template, with a small
//! script that keeps it live over the same API and SSE every other client uses.
//!
//! Input: the request's language choice (`?lang=`, the `claimwatch_lang` cookie,
//! `Accept-Language`) and, when the server has a token, the operator's login. Output: the page,
//! its script and stylesheet — every asset compiled into the binary, nothing from a CDN — and the
//! login form that turns a token into a `claimwatch_token` cookie (HttpOnly, SameSite=Strict),
//! since a browser's `EventSource` cannot send an `Authorization` header.

pub mod lang;

use std::sync::OnceLock;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Form;
use minijinja::{context, Environment};
use serde::Deserialize;

use super::app::{cookie, AppState};
use super::operators::Operator;
use lang::{labels, negotiate, UiLang};

/// The cookie that carries the token for the console's requests.
pub const TOKEN_COOKIE: &str = "claimwatch_token";
/// The cookie that remembers the operator's language.
const LANG_COOKIE: &str = "claimwatch_lang";

const PAGE: &str = include_str!("console.html");
const LOGIN: &str = include_str!("login.html");
const SCRIPT: &str = include_str!("console.js");
const STYLE: &str = include_str!("console.css");

fn templates() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Compiled in: a broken template is a build-time mistake the tests catch at once.
        env.add_template("console.html", PAGE)
            .expect("console.html parses");
        env.add_template("login.html", LOGIN)
            .expect("login.html parses");
        env
    })
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
}

fn ui_lang(query: &PageQuery, headers: &HeaderMap) -> UiLang {
    negotiate(
        query.lang.as_deref(),
        cookie(headers, LANG_COOKIE),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

fn html(status: StatusCode, body: String, lang: UiLang, remember: bool) -> Response {
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response();
    if remember {
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/; SameSite=Strict; Max-Age=31536000",
            lang.code()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

fn render(name: &str, lang: UiLang, extra: minijinja::Value) -> Result<String, StatusCode> {
    let template = templates()
        .get_template(name)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    template
        .render(context! {
            lang => lang.code(),
            other_lang => match lang { UiLang::Ja => "en", UiLang::En => "ja" },
            l => minijinja::Value::from(minijinja::value::Serde(labels(lang))),
            ..extra
        })
        .map_err(|e| {
            eprintln!("claimwatch: console template {name}: {e:#}");
            StatusCode::INTERNAL_SERVER_ERROR
        })
}

/// `GET /`: the console (behind the same auth as the API; the middleware sends a browser
/// without a login to `/login`).
pub async fn page(
    State(state): State<AppState>,
    Extension(operator): Extension<Operator>,
    headers: HeaderMap,
    Query(query): Query<PageQuery>,
) -> Response {
    let lang = ui_lang(&query, &headers);
    let context = context! {
        logout => !state.operators.is_empty(),
        operator => operator.name.clone(),
        role => operator.role.as_str(),
    };
    match render("console.html", lang, context) {
        Ok(body) => html(StatusCode::OK, body, lang, query.lang.is_some()),
        Err(status) => status.into_response(),
    }
}

/// `GET /login`: the token form.
pub async fn login_form(headers: HeaderMap, Query(query): Query<PageQuery>) -> Response {
    let lang = ui_lang(&query, &headers);
    match render("login.html", lang, context! { wrong => false }) {
        Ok(body) => html(StatusCode::OK, body, lang, query.lang.is_some()),
        Err(status) => status.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    token: String,
}

/// `POST /login`: a right token sets the cookie and goes to the console; a wrong one shows the
/// form again (401). Without a server token there is nothing to log in to.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = ui_lang(&PageQuery { lang: None }, &headers);
    let right =
        state.operators.is_empty() || state.operators.authenticate(form.token.trim()).is_some();
    if !right {
        return match render("login.html", lang, context! { wrong => true }) {
            Ok(body) => html(StatusCode::UNAUTHORIZED, body, lang, false),
            Err(status) => status.into_response(),
        };
    }
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    if !state.operators.is_empty() {
        // The token is visible ASCII (checked at startup), so it is a valid cookie value.
        let cookie = format!(
            "{TOKEN_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
            form.token.trim()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// `POST /logout`: forgets the cookie.
pub async fn logout() -> Response {
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response();
    let cookie = format!("{TOKEN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /console/console.js`.
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// `GET /console/console.css`.
pub async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_pages_render_in_both_languages() {
        for lang in [UiLang::Ja, UiLang::En] {
            let context = context! { logout => true, operator => "aiko", role => "reviewer" };
            let page = render("console.html", lang, context).unwrap();
            assert!(page.contains("aiko"));
            assert!(page.contains(&format!("<html lang=\"{}\">", lang.code())));
            assert!(page.contains(labels(lang)["alerts"].as_str().unwrap()));
            let login = render("login.html", lang, context! { wrong => true }).unwrap();
            assert!(login.contains(labels(lang)["wrong_token"].as_str().unwrap()));
        }
    }
}
