//! The JSON endpoints over TCP: stream control, queries, the token, the body limit and JSON
//! errors.

use claimwatch::events::SourceState;
use claimwatch::live::StreamInfo;
use serde_json::{json, Value};

use super::{alert, as_listed, transcript, Options, Server, PATIENCE};
use crate::source::bounded::join_within;

async fn send(
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (u16, Value) {
    let mut request = super::http().request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {text}"))
    };
    (status, value)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_can_be_attached_relabelled_listed_and_detached() {
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Options::default()).await;
    let attach =
        json!({"id": "shop-1", "source": "file:samples/ja_demo.wav", "origin": "CN", "lang": "ja"});
    let (status, body) = send(
        Method::POST,
        &server.url("/streams"),
        None,
        Some(attach.to_string()),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let info: StreamInfo = serde_json::from_value(body).unwrap();
    assert_eq!(
        (info.id.as_str(), info.state),
        ("shop-1", SourceState::Starting)
    );

    // (method, path, body, status, expected error words or "")
    let cases = [
        (
            Method::POST,
            "/streams",
            Some(attach.to_string()),
            409,
            "exists",
        ),
        (
            Method::PUT,
            "/streams/shop-1/product",
            Some(r#"{"name":"serum","origin":"JP"}"#.into()),
            200,
            "",
        ),
        (
            Method::PUT,
            "/streams/shop-9/product",
            Some("{}".into()),
            404,
            "no stream shop-9",
        ),
        (Method::GET, "/streams", None, 200, ""),
        (Method::DELETE, "/streams/shop-1", None, 204, ""),
        (
            Method::DELETE,
            "/streams/shop-1",
            None,
            404,
            "no stream shop-1",
        ),
    ];
    for (method, path, body, want, words) in cases {
        let (status, value) = send(method.clone(), &server.url(path), None, body).await;
        assert_eq!(status, want, "{method} {path}: {value}");
        if !words.is_empty() {
            assert!(value["error"].as_str().unwrap().contains(words), "{value}");
        }
        if path == "/streams" && method == Method::GET {
            assert_eq!(value[0]["product"], "serum");
            assert_eq!(value[0]["origin"], "JP");
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_and_transcript_queries() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Options::default()).await;
    let mut published = Vec::new();
    for i in 0..6 {
        let stream = if i < 3 { "shop-1" } else { "shop-2" };
        published.push(server.hub.publish(stream, alert(i)).unwrap());
        server
            .hub
            .publish(stream, transcript(&format!("segment {i}")))
            .unwrap();
    }
    let get = |path: &str| {
        let url = server.url(path);
        async move {
            super::http()
                .get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let all = get("/alerts").await;
    assert_eq!(all, Value::Array(published.iter().map(as_listed).collect()));
    let since = get(&format!("/alerts?since={}", published[3].id)).await;
    assert_eq!(since.as_array().unwrap().len(), 2);
    let shop2 = get("/alerts?stream=shop-2").await;
    assert!(shop2
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["stream"] == "shop-2"));
    assert_eq!(shop2.as_array().unwrap().len(), 3);
    let category = published[0].alert().unwrap().category.as_str();
    let by_category = get(&format!("/alerts?category={category}")).await;
    assert!(!by_category.as_array().unwrap().is_empty());
    assert!(by_category
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["category"] == category));
    let text = get("/streams/shop-1/transcript").await;
    let texts: Vec<&str> = text
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["segment 0", "segment 1", "segment 2"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_required_on_every_endpoint_when_set() {
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let token = "correct-horse-battery-staple";
    let options = Options {
        token: Some(token.into()),
        ..Options::default()
    };
    let server = Server::start(dir.path(), options).await;
    for path in [
        "/healthz",
        "/alerts",
        "/streams",
        "/metrics",
        "/events",
        "/streams/x/events",
        "/nope",
    ] {
        for wrong in [None, Some("nope"), Some("correct-horse-battery-stapl")] {
            let (status, value) = send(Method::GET, &server.url(path), wrong, None).await;
            assert_eq!(status, 401, "{path} {wrong:?}");
            assert!(value["error"].as_str().unwrap().contains("bearer token"));
        }
    }
    let (status, value) = send(Method::GET, &server.url("/healthz"), Some(token), None).await;
    assert_eq!((status, value["status"].as_str()), (200, Some("ok")));
    let (status, _) = send(
        Method::POST,
        &server.url("/streams"),
        None,
        Some("{}".into()),
    )
    .await;
    assert_eq!(status, 401, "auth comes before parsing the body");
    let events = super::http()
        .get(server.url("/events"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    drop(events);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_and_bad_requests_get_json_errors() {
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Options::default()).await;
    let huge = json!({"id": "x", "source": "a".repeat(100 * 1024)}).to_string();
    // (method, path, body, status, words in the error)
    let cases = [
        (Method::POST, "/streams", Some(huge), 413, "length limit"),
        (
            Method::POST,
            "/streams",
            Some("{\"id\":".into()),
            400,
            "EOF",
        ),
        (
            Method::POST,
            "/streams",
            Some(r#"{"id":"x","source":"file:a","extra":1}"#.into()),
            422,
            "unknown field `extra`",
        ),
        (
            Method::POST,
            "/streams",
            Some(r#"{"id":"x","source":"rtmp://a"}"#.into()),
            400,
            "unknown source",
        ),
        (Method::GET, "/alerts?since=-1", None, 400, "since"),
        (
            Method::GET,
            "/events?last_event_id=x",
            None,
            400,
            "last_event_id",
        ),
        (Method::GET, "/no/such/thing", None, 404, "no such endpoint"),
        (Method::DELETE, "/alerts", None, 405, "method not allowed"),
    ];
    for (method, path, body, want, words) in cases {
        let (status, value) = send(method.clone(), &server.url(path), None, body).await;
        assert_eq!(status, want, "{method} {path}: {value}");
        let message = value["error"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{method} {path}: {message}");
    }
    server.stop().await;
}

/// `GET /alerts` in pages: `limit` (default 100, at most 1000) alerts in id order, and while more
/// remain a `Link: <…>; rel="next"` header whose URL keeps the filters; following the links
/// gives every alert once. The body stays the JSON array it always was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_come_in_pages_with_a_next_link() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Options::default()).await;
    let hub = server.hub.clone();
    let published = std::thread::spawn(move || {
        (0..230)
            .map(|i| {
                let stream = if i % 3 == 0 { "shop-2" } else { "shop-1" };
                as_listed(&hub.publish(stream, alert(i)).unwrap())
            })
            .collect::<Vec<Value>>()
    });
    let published = join_within(published, PATIENCE, "publishing 230 alerts");
    let client = super::http();
    // Every page from `first`, following Link headers; also the page sizes seen.
    let walk = |first: String| {
        let client = client.clone();
        let base = server.url("");
        async move {
            let (mut all, mut sizes, mut next) = (Vec::new(), Vec::new(), Some(first));
            while let Some(path) = next.take() {
                let response = client.get(format!("{base}{path}")).send().await.unwrap();
                assert_eq!(response.status(), 200, "{path}");
                next = response.headers().get("link").map(|link| {
                    let link = link.to_str().unwrap();
                    let url = link.strip_prefix('<').unwrap().split_once('>').unwrap();
                    assert_eq!(url.1, "; rel=\"next\"", "{link}");
                    url.0.to_string()
                });
                let page: Vec<Value> = response.json().await.unwrap();
                sizes.push(page.len());
                all.extend(page);
            }
            (all, sizes)
        }
    };

    let (all, sizes) = walk("/alerts".into()).await;
    assert_eq!(sizes, [100, 100, 30], "default limit 100");
    assert_eq!(all, published);
    let (all, sizes) = walk("/alerts?limit=1000".into()).await;
    assert_eq!((sizes, all.len()), (vec![230], 230));
    let (shop2, sizes) = walk("/alerts?stream=shop-2&limit=25".into()).await;
    let want: Vec<Value> = published
        .iter()
        .filter(|a| a["stream"] == "shop-2")
        .cloned()
        .collect();
    assert_eq!(sizes, [25, 25, 25, 2]);
    assert_eq!(shop2, want, "the stream filter carries over to every page");
    // `after` is the paging name of `since`: alerts after that event id.
    let after = published[199]["event_id"].as_u64().unwrap();
    let (tail, sizes) = walk(format!("/alerts?after={after}&limit=20")).await;
    assert_eq!((sizes, tail), (vec![20, 10], published[200..].to_vec()));

    // (query, status, words in the error)
    for (query, status, words) in [
        ("limit=0", 400, "limit 0: use 1 to 1000"),
        ("limit=1001", 400, "limit 1001: use 1 to 1000"),
        ("since=3&after=4", 400, "same cursor"),
        ("since=3&after=3&limit=2", 200, ""),
    ] {
        let (got, value) = send(
            reqwest::Method::GET,
            &server.url(&format!("/alerts?{query}")),
            None,
            None,
        )
        .await;
        assert_eq!(got, status, "{query}: {value}");
        if !words.is_empty() {
            let error = value["error"].as_str().unwrap();
            assert!(error.contains(words), "{query}: {error}");
        }
    }
    server.stop().await;
}
