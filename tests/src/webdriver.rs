//! A small W3C WebDriver client for the browser tests: Debian's chromedriver driving headless
//! Chromium over plain HTTP on 127.0.0.1. Just what the tests use: navigate, find, click, read,
//! screenshot, and the browser's console log (chromedriver's `goog:loggingPrefs`).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::Engine;
use serde_json::{json, Value};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A running chromedriver and one browser session; both end on drop.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    driver: Child,
    /// the browser's profile folder, which names its processes
    profile: std::path::PathBuf,
}

fn find_binary(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find(|n| Path::new(n).is_file())
        .map(|n| n.to_string())
}

impl Browser {
    /// Starts chromedriver on `port` and a headless Chromium that downloads into `downloads`.
    pub async fn start(port: u16, downloads: &Path) -> anyhow::Result<Self> {
        let driver_bin = std::env::var("CHROMEDRIVER")
            .ok()
            .or_else(|| find_binary(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]))
            .context(
                "chromedriver is missing: apt-get install chromium chromium-driver (CI does)",
            )?;
        let chrome = std::env::var("CHROME")
            .ok()
            .or_else(|| find_binary(&["/usr/bin/chromium", "/usr/bin/chromium-browser"]))
            .context("chromium is missing: apt-get install chromium chromium-driver")?;
        let profile = std::env::temp_dir().join(format!("datapact-chrome-{port}"));
        // a browser an earlier run left behind (its test killed outright) goes first
        end_browsers_of(&profile);
        let mut cmd = Command::new(&driver_bin);
        cmd.arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        {
            use std::os::unix::process::CommandExt;
            // its own process group, which the browser it starts joins: one signal ends both
            cmd.process_group(0);
            // SAFETY: prctl only, between fork and exec; it allocates nothing
            unsafe {
                cmd.pre_exec(|| {
                    // the driver ends when this test process does, however it ends
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        let driver = cmd
            .spawn()
            .with_context(|| format!("cannot start {driver_bin}"))?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if Instant::now() > deadline {
                bail!("chromedriver did not come up on port {port}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        std::fs::create_dir_all(downloads)?;
        let _ = std::fs::remove_dir_all(&profile);
        // as the machine's notes advise: no background networking, the network is closed
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:loggingPrefs": { "browser": "ALL" },
                    "goog:chromeOptions": {
                        "binary": chrome,
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync",
                            "--disable-dev-shm-usage", "--window-size=1300,1600",
                            format!("--user-data-dir={}", profile.display())
                        ],
                        "prefs": {
                            "download.default_directory": downloads.to_string_lossy(),
                            "download.prompt_for_download": false
                        }
                    }
                }
            }
        });
        let mut b = Self {
            http,
            base,
            session: String::new(),
            driver,
            profile,
        };
        let v = b.call("POST", "session", Some(caps)).await?;
        b.session = v["sessionId"]
            .as_str()
            .context("chromedriver gave no session id")?
            .to_string();
        // let the browser write downloads where the test looks
        let _ = b
            .call(
                "POST",
                &format!("session/{}/chromium/send_command", b.session),
                Some(json!({"cmd": "Page.setDownloadBehavior", "params": {"behavior": "allow", "downloadPath": downloads.to_string_lossy()}})),
            )
            .await;
        Ok(b)
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}/{path}", self.base);
        let req = match method {
            "GET" => self.http.get(&url),
            "DELETE" => self.http.delete(&url),
            _ => self
                .http
                .post(&url)
                .json(&body.unwrap_or_else(|| json!({}))),
        };
        let r = req
            .send()
            .await
            .with_context(|| format!("WebDriver {method} {path}"))?;
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!(
                "WebDriver {method} {path}: {status} {}",
                v["value"]["message"]
            );
        }
        Ok(v.get("value").cloned().unwrap_or(v))
    }

    fn s(&self, rest: &str) -> String {
        format!("session/{}/{rest}", self.session)
    }

    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.call("POST", &self.s("url"), Some(json!({ "url": url })))
            .await
            .map(|_| ())
    }

    pub async fn current_url(&self) -> anyhow::Result<String> {
        Ok(self
            .call("GET", &self.s("url"), None)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// Element ids matching a CSS selector.
    pub async fn find_all(&self, css: &str) -> anyhow::Result<Vec<String>> {
        let v = self
            .call(
                "POST",
                &self.s("elements"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub async fn find(&self, css: &str) -> anyhow::Result<String> {
        self.find_all(css)
            .await?
            .into_iter()
            .next()
            .with_context(|| format!("no element matches {css:?}"))
    }

    pub async fn text(&self, element: &str) -> anyhow::Result<String> {
        Ok(self
            .call("GET", &self.s(&format!("element/{element}/text")), None)
            .await?
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    pub async fn attr(&self, element: &str, name: &str) -> anyhow::Result<Option<String>> {
        Ok(self
            .call(
                "GET",
                &self.s(&format!("element/{element}/attribute/{name}")),
                None,
            )
            .await?
            .as_str()
            .map(str::to_string))
    }

    pub async fn click(&self, element: &str) -> anyhow::Result<()> {
        self.call("POST", &self.s(&format!("element/{element}/click")), None)
            .await
            .map(|_| ())
    }

    /// The page's text.
    pub async fn body_text(&self) -> anyhow::Result<String> {
        let body = self.find("body").await?;
        self.text(&body).await
    }

    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let v = self.call("GET", &self.s("screenshot"), None).await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .context("the screenshot is not base64")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    /// The browser console's messages since the last call, as (level, message).
    pub async fn console(&self) -> anyhow::Result<Vec<(String, String)>> {
        let v = self
            .call("POST", &self.s("se/log"), Some(json!({"type": "browser"})))
            .await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        (
                            e["level"].as_str().unwrap_or_default().to_string(),
                            e["message"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Runs a script in the page and returns its value.
    pub async fn eval(&self, script: &str) -> anyhow::Result<Value> {
        self.call(
            "POST",
            &self.s("execute/sync"),
            Some(json!({"script": script, "args": []})),
        )
        .await
    }
}

/// Ends every browser process started with `profile` (its `--user-data-dir`).
fn end_browsers_of(profile: &Path) {
    let _ = Command::new("pkill")
        .args([
            "-KILL",
            "-f",
            &format!("--user-data-dir={}", profile.display()),
        ])
        .status();
}

impl Drop for Browser {
    fn drop(&mut self) {
        // the driver's process group holds the browser it started: end them together, then
        // anything of this profile that left the group
        let pgid = self.driver.id() as i32;
        // SAFETY: a signal to a process group this struct created
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
        let _ = self.driver.wait();
        end_browsers_of(&self.profile);
    }
}
