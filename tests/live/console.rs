//! The operator console in a real browser: Debian's Chromium, driven over WebDriver
//! (chromedriver), against the real binary on loopback with a bundled clip played at real-time
//! pace. An operator logs in with a named token, attaches the stream from the page, sees the
//! alert arrive while the clip plays, opens it, hears its evidence clip, and records a decision
//! that a second open page shows at once and that is still there after the server restarts.
//! Screenshots of the wall and of an alert's detail (in Japanese) go to
//! `$CARGO_TARGET_DIR/artefacts/console/` for people to look at.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::common;
use crate::live::serve::{clip, tempdir, Serve, PATIENCE};

const OPERATOR: &str = "aiko";
const SECRET: &str = "console-test-secret-0123456789";

/// `$CARGO_TARGET_DIR/artefacts/console/`.
fn artefacts() -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("artefacts/console");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// chromedriver on a port it picked itself (`--port=0`), read back from what it prints: no
/// port is released and bound again.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let mut child = Command::new("chromedriver")
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian chromium-driver; scripts/install-deps installs it)");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line
                    .split("started successfully on port ")
                    .nth(1)
                    .and_then(|rest| rest.trim_end_matches('.').trim().parse::<u16>().ok())
                {
                    let _ = tx.send(port);
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("chromedriver said which port it listens on within 30 s");
        Driver { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium whose preferred language is Japanese.
async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--lang=ja"],
            "prefs": {"intl.accept_languages": "ja,en"}
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session")
}

/// Runs `script` (a function body) in the page until it returns something other than null or
/// false, within [`PATIENCE`].
async fn wait_for(page: &Client, what: &str, script: &str) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let value = page.execute(script, vec![]).await.unwrap();
        if !(value.is_null() || value == Value::Bool(false)) {
            return value;
        }
        assert!(Instant::now() < deadline, "the page never showed {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Opens the console: `/` sends a browser without a login to the form; the token logs in.
async fn log_in(page: &Client, base: &str) {
    page.goto(&format!("{base}/")).await.unwrap();
    let url = page.current_url().await.unwrap();
    assert!(url.path().ends_with("/login"), "{url}");
    let field = page.find(Locator::Css("input[name=token]")).await.unwrap();
    field.send_keys(SECRET).await.unwrap();
    page.find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(
        page,
        "the console after logging in",
        "return document.getElementById('connection')?.dataset.state === 'open';",
    )
    .await;
}

async fn screenshot(page: &Client, name: &str) {
    let png = page.screenshot().await.unwrap();
    assert!(png.len() > 10_000, "{name}: {} bytes", png.len());
    std::fs::write(artefacts().join(name), png).unwrap();
}

/// The review state shown in the queue row of `alert`.
fn row_state(alert: &str) -> String {
    format!(
        "const r = document.querySelector('tr[data-alert=\"{alert}\"] .review'); return r && r.textContent;"
    )
}

#[test]
fn an_operator_reviews_a_live_alert_in_the_console() {
    let _cores = common::whisper_lock();
    let root = tempdir();
    let token = format!("{OPERATOR}={SECRET}");
    let flags = ["--allow-local-sources"];
    let serve = Serve::start_with(root.path(), Some(&token), &[], &flags, None);
    let base = serve.base_url();
    let driver = Driver::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let source = format!("file:{}?realtime", clip("ja_demo").display());

    let (first, second) = runtime.block_on(async {
        let page = browser(&driver).await;
        log_in(&page, &base).await;
        let lang = page
            .execute("return document.documentElement.lang;", vec![])
            .await
            .unwrap();
        assert_eq!(lang, "ja", "Accept-Language ja gives the Japanese console");
        // Attach from the page, as an operator would.
        let form = page.find(Locator::Css("#attach-form")).await.unwrap();
        page.execute("document.querySelector('details.attach').open = true;", vec![])
            .await
            .unwrap();
        form.find(Locator::Css("input[name=id]"))
            .await
            .unwrap()
            .send_keys("shop")
            .await
            .unwrap();
        form.find(Locator::Css("input[name=source]"))
            .await
            .unwrap()
            .send_keys(&source)
            .await
            .unwrap();
        form.find(Locator::Css("select[name=lang]"))
            .await
            .unwrap()
            .select_by_value("ja")
            .await
            .unwrap();
        form.find(Locator::Css("input[name=origin]"))
            .await
            .unwrap()
            .send_keys("CN")
            .await
            .unwrap();
        form.find(Locator::Css("button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // The false-origin claim (日本製, 12 s into the clip) arrives over SSE while it plays.
        let alert = wait_for(
            &page,
            "a false-origin alert in the queue",
            "const row = [...document.querySelectorAll('tr.alert')].find(r => r.textContent.includes('原産国の虚偽表示')); return row && row.dataset.alert;",
        )
        .await;
        let alert = alert.as_str().unwrap().to_string();
        let tile_state = page
            .execute("return document.querySelector('.tile[data-stream=shop]')?.dataset.state;", vec![])
            .await
            .unwrap();
        assert_eq!(tile_state, "up", "the alert came while the clip was still playing");
        screenshot(&page, "wall_ja.png").await;
        (page, alert)
    });
    let page = first;
    let alert = second;

    // Its evidence clip exists once the stream has gone 5 s past the words.
    let deadline = Instant::now() + PATIENCE;
    while serve.get_bytes(&format!("/alerts/{alert}/clip")).0 != 200 {
        assert!(Instant::now() < deadline, "no clip for {alert}");
        std::thread::sleep(Duration::from_millis(250));
    }
    let (_, listed) = serve.get("/alerts");
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == alert.as_str())
        .unwrap()
        .clone();
    let (start, end) = (
        row["start_s"].as_f64().unwrap(),
        row["end_s"].as_f64().unwrap(),
    );
    let want_s = (end + 5.0) - (start - 5.0).max(0.0);

    runtime.block_on(async {
        page.find(Locator::Css(&format!("tr[data-alert=\"{alert}\"]")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let duration = wait_for(
            &page,
            "the evidence clip loaded in the <audio> element",
            "const a = document.getElementById('detail-audio'); return a.readyState >= 1 && a.duration;",
        )
        .await;
        let duration = duration.as_f64().unwrap();
        assert!((duration - want_s).abs() < 0.2, "clip {duration} s, want {want_s} s");
        wait_for(
            &page,
            "the claim marked in the transcript",
            "const m = document.querySelector('#detail-transcript mark'); return m && m.textContent;",
        )
        .await;
        screenshot(&page, "alert_detail_ja.png").await;

        // A second page, open before the decision, sees it arrive.
        let other = browser(&driver).await;
        log_in(&other, &base).await;
        wait_for(&other, "the alert on the second page", &row_state(&alert)).await;

        page.find(Locator::Css("#review-form textarea[name=note]"))
            .await
            .unwrap()
            .send_keys("CN表示の商品で日本製と発言")
            .await
            .unwrap();
        page.find(Locator::Css("#review-form button[value=confirmed]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let confirmed = "違反と判断";
        let shown = wait_for(
            &other,
            "the decision on the second page",
            &format!(
                "const r = document.querySelector('tr[data-alert=\"{alert}\"] .review'); \
                 return r && r.textContent.includes('{confirmed}');"
            ),
        )
        .await;
        assert_eq!(shown, Value::Bool(true));
        other.close().await.unwrap();
    });
    let (_, listed) = serve.get("/alerts");
    let review = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == alert.as_str())
        .unwrap()["review"]
        .clone();
    assert_eq!(
        (review["state"].as_str(), review["by"].as_str()),
        (Some("confirmed"), Some(OPERATOR)),
        "{review}"
    );
    serve.stop();

    // After a restart the page, reloaded, still shows the decision.
    let serve = Serve::start_with(root.path(), Some(&token), &[], &flags, None);
    let base = serve.base_url();
    runtime.block_on(async {
        page.goto(&format!("{base}/")).await.unwrap();
        let url = page.current_url().await.unwrap();
        if url.path().ends_with("/login") {
            // A new port is a new origin for the cookie: log in again.
            log_in(&page, &base).await;
        }
        let state = wait_for(&page, "the decision after a restart", &row_state(&alert)).await;
        assert_eq!(state, "違反と判断");
        page.close().await.unwrap();
    });
    serve.stop();
}
