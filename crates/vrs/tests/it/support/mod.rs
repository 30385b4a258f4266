//! What the command-line tests share: a deployment in a temporary directory and the binary.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub use vrs_testkit::shared_testdata;

/// Rows 32–39 of a targets file of 千代田区 (131016) after 30 valid rows, each refused for its own
/// reason: My Number check digit, municipality check digit, coupon not 10 digits, impossible date,
/// missing name, coupon of line 2 again, unknown sex, date outside its era.
const BAD_ROWS: [&str; 8] = [
    "676336067701,900001,131016,9000000001,検査　一,ケンサ　イチ,1980-01-01,1",
    "389299762860,900002,131017,9000000002,検査　二,ケンサ　ニ,1980-01-01,2",
    "763047870899,900003,131016,90000003,検査　三,ケンサ　サン,1980-01-01,1",
    "664160198961,900004,131016,9000000004,検査　四,ケンサ　ヨン,令和3年2月30日,2",
    "992078972710,900005,131016,9000000005,,ケンサ　ゴ,1980-01-01,1",
    "716037489552,900006,131016,0000000001,検査　六,ケンサ　ロク,1980-01-01,2",
    "349343352665,900007,131016,9000000007,検査　七,ケンサ　ナナ,1980-01-01,5",
    "219296165362,900008,131016,9000000008,検査　八,ケンサ　ハチ,平成31年5月1日,1",
];

pub struct Deployment {
    pub dir: tempfile::TempDir,
}

impl Deployment {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vrs"));
        c.current_dir(self.dir.path())
            .env_remove("VRS_DATABASE_URL")
            .env_remove("VRS_KEY_FILE")
            .env_remove("VRS_MASTER_KEY")
            .env("VRS_LOG", "info");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// `vrs gen targets` into this deployment's directory; the file's path.
    pub fn generate(&self, file: &str, municipality: &str, count: u64, encoding: &str) -> PathBuf {
        let out = self.path(file);
        let gen = self.run(&[
            "gen",
            "targets",
            "--municipality",
            municipality,
            "--count",
            &count.to_string(),
            "--encoding",
            encoding,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(gen.status.success(), "{}", text(&gen));
        out
    }

    /// `vrs init`, then `count` targets of 西条市 (382060) generated with `seed` and imported; the
    /// targets file's path.
    pub fn with_targets(&self, count: u64, seed: u64) -> PathBuf {
        assert!(self.run(&["init"]).status.success());
        let targets = self.path("targets.csv");
        let gen = self.run(&[
            "gen",
            "targets",
            "--municipality",
            "382060",
            "--count",
            &count.to_string(),
            "--seed",
            &seed.to_string(),
            "--out",
            targets.to_str().unwrap(),
        ]);
        assert!(gen.status.success(), "{}", text(&gen));
        let import = self.run(&[
            "import",
            "targets",
            targets.to_str().unwrap(),
            "--municipality",
            "382060",
        ]);
        assert!(import.status.success(), "{}", text(&import));
        targets
    }

    /// 40 valid targets of 西条市 (382060) in CP932, 宛名番号 100000 to 100039.
    pub fn targets(&self) -> PathBuf {
        self.generate("targets-382060.csv", "382060", 40, "cp932")
    }

    /// 30 valid targets of 千代田区 (131016) in UTF-8, then 8 rows (lines 32–39) each refused.
    pub fn targets_with_errors(&self) -> PathBuf {
        let path = self.generate("targets-131016-with-errors.csv", "131016", 30, "utf-8");
        let mut file = std::fs::read_to_string(&path).unwrap();
        for row in BAD_ROWS {
            // The generated file has a ninth column, 転入前自治体コード, left empty here.
            file.push_str(&format!("{row},\r\n"));
        }
        std::fs::write(&path, file).unwrap();
        path
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The value of the hidden form field `name` in a page.
pub fn hidden(body: &str, name: &str) -> String {
    let at = body.find(&format!("name=\"{name}\"")).unwrap();
    let start = body[..at].rfind('<').unwrap();
    let tag = &body[start..at + body[at..].find('>').unwrap()];
    let v = tag.find("value=\"").unwrap() + "value=\"".len();
    tag[v..v + tag[v..].find('"').unwrap()].to_owned()
}

/// Signs in as a site tablet at `base` (changing its one-time password) and returns the tablet page's CSRF token.
pub async fn sign_in(client: &reqwest::Client, base: &str, user: &str, password: &str) -> String {
    let login = |password: String| async move {
        let page = client.get(format!("{base}/login")).send().await.unwrap();
        let csrf = hidden(&page.text().await.unwrap(), "csrf");
        let r = client
            .post(format!("{base}/login"))
            .form(&[("user_id", user), ("password", &password), ("csrf", &csrf)])
            .send()
            .await
            .unwrap();
        r.headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
    };
    assert_eq!(
        login(password.to_owned()).await.as_deref(),
        Some("/password")
    );
    let fresh = "Kiln-Harbor-2026-x";
    let page = client.get(format!("{base}/password")).send().await.unwrap();
    let csrf = hidden(&page.text().await.unwrap(), "csrf");
    client
        .post(format!("{base}/password"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("current", password),
            ("new", fresh),
            ("again", fresh),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login(fresh.to_owned()).await.as_deref(), Some("/"));
    let page = client.get(format!("{base}/tablet")).send().await.unwrap();
    let body = page.text().await.unwrap();
    let start = body.find("data-csrf=\"").unwrap() + "data-csrf=\"".len();
    body[start..start + body[start..].find('"').unwrap()].to_owned()
}
