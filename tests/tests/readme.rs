//! Every command block of README.md runs, in order, against a stack of its own (issue 13: the
//! README's snippets must not rot). `cargo test -p mostrador-tests --test readme`.
//!
//! The rules (also stated at the top of README.md):
//! - A fenced block whose info string starts with `sh` or `bash` runs in bash (`set -euo
//!   pipefail`, every variable exported); one starting with `php` is saved to a file and run with
//!   `php`. Anything else (`text`, `console`, `js`, `python`, no info string) is not run.
//! - Blocks run one after another from a scratch directory laid out like a checkout after
//!   `make dev` (`.dev/demo.json`, `.dev/operator-token`, and `sdks/` linked to the repo's), and
//!   share their variables: what one block sets, the next sees (PHP reads them with `getenv`).
//! - The `make dev` default URLs (`http://127.0.0.1:3100` … `:3105`) are replaced with the test
//!   stack's, and `API`, `K`, `KEY`, `PRJ`, `OPERATOR`, `MP`, `WA`, `RECEIVER` are preset.
//! - `curl` fails the block on any HTTP status of 400 or more; a `→ NNN` written in a block
//!   (e.g. `# → 201 {…}`) must be among the statuses its curls got.
//! - [`NOT_RUN`] lists the few blocks that cannot run here, each with its reason.
//! - A `console` block that starts with `$ make dev` is a transcript of the banner: each of its
//!   lines must be a line of what `make dev` prints for this stack (`mostrador_devstack::banner`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

/// Blocks that are not run, by a line they contain, and why.
const NOT_RUN: &[(&str, &str)] = &[
    (
        "make dev    # start the whole stack",
        "`make dev` blocks until Ctrl-C and `make test` is the whole suite; the stack they start is this test's",
    ),
    (
        "cargo lambda watch",
        "builds and serves one function under cargo-lambda: minutes of release build per function",
    ),
    (
        "alias mostrador-admin=",
        "the admin CLI is `cargo run` from a checkout with `.dev/env` from `make dev`; its commands are the admin API's, which the black-box suite covers",
    ),
    (
        "sam deploy",
        "deploys to AWS: needs an account and the network",
    ),
    (
        "composer require standard-webhooks/standard-webhooks",
        "a request-handler fragment for a Composer package (Packagist is unreachable offline); the SDK's verifier runs in the 'Integrate a shop' blocks",
    ),
    (
        "$event = $verifier->verify(file_get_contents('php://input'), getallheaders());",
        "a request-handler fragment (php://input, getallheaders() exist only under a web server); the next block, verify.php, runs the same verification",
    ),
];

struct Block {
    line: usize,
    lang: String,
    text: String,
}

fn blocks(readme: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String, String)> = None;
    for (i, line) in readme.lines().enumerate() {
        if let Some(rest) = line.trim_start().strip_prefix("```") {
            match open.take() {
                None => open = Some((i + 1, rest.trim().to_owned(), String::new())),
                Some((start, lang, text)) => out.push(Block {
                    line: start,
                    lang,
                    text,
                }),
            }
        } else if let Some((_, _, text)) = open.as_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    assert!(open.is_none(), "README.md has an unclosed ``` block");
    out
}

fn runs(lang: &str) -> Option<&'static str> {
    let word = lang.split_whitespace().next().unwrap_or("");
    match word {
        "sh" | "bash" => Some("sh"),
        "php" => Some("php"),
        _ => None,
    }
}

/// A `curl` that fails on HTTP errors and logs each status to `$README_STATUS_LOG`.
fn curl_shim(bin: &Path) {
    let real = ["/usr/bin/curl", "/bin/curl", "/usr/local/bin/curl"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("curl is installed");
    let script = format!(
        "#!/usr/bin/env bash\n\
         # README test: fail on HTTP >= 400 (the body is still printed) and log the status.\n\
         err=$(mktemp)\n\
         {real} --fail-with-body -w '%{{stderr}}[http %{{http_code}}]\\n' \"$@\" 2>\"$err\"; rc=$?\n\
         cat \"$err\" >&2; cat \"$err\" >>\"$README_STATUS_LOG\"; rm -f \"$err\"; exit $rc\n"
    );
    let path = bin.join("curl");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn stated_statuses(text: &str) -> Vec<String> {
    text.split('→')
        .skip(1)
        .filter_map(|after| {
            let code: String = after.trim_start().chars().take(3).collect();
            (code.len() == 3 && code.chars().all(|c| c.is_ascii_digit())).then_some(code)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_readme_command_block_runs() {
    // This file's own checkout (not the harness's `repo_root`, which may come from another
    // checkout's build when target directories are shared).
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let all = blocks(&readme);
    for (needle, _) in NOT_RUN {
        assert!(
            all.iter().any(|b| b.text.contains(needle)),
            "NOT_RUN names a block that no longer exists: {needle:?}"
        );
    }

    let stack = mostrador_tests::dedicated().await;
    let work = std::env::temp_dir().join(format!("mostrador-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join(".dev")).unwrap();
    std::fs::create_dir_all(work.join("bin")).unwrap();
    std::os::unix::fs::symlink(root.join("sdks"), work.join("sdks")).unwrap();
    std::fs::write(work.join(".dev/operator-token"), stack.operator_token()).unwrap();
    let demo = mostrador_devstack::demo::ensure(&stack, &work)
        .await
        .unwrap();
    curl_shim(&work.join("bin"));

    let urls: Vec<(String, String)> = [
        ("3100", stack.api_url.clone()),
        ("3101", stack.dynamodb_endpoint.clone()),
        ("3102", stack.moto_endpoint.clone()),
        ("3103", stack.mercadopago.base_url.clone()),
        ("3104", stack.whatsapp.base_url.clone()),
        ("3105", stack.receiver.base_url.clone()),
    ]
    .into_iter()
    .map(|(port, url)| (format!("http://127.0.0.1:{port}"), url))
    .collect();
    let state = work.join("state.sh");
    let preset = format!(
        "export API='{api}' K='{k}' KEY='{k}' PRJ='{prj}' OPERATOR='{op}' MP='{mp}' WA='{wa}' RECEIVER='{rc}'\n",
        api = stack.api_url,
        k = demo.api_key,
        prj = demo.project_id,
        op = stack.operator_token(),
        mp = stack.mercadopago.base_url,
        wa = stack.whatsapp.base_url,
        rc = stack.receiver.base_url,
    );
    std::fs::write(&state, preset).unwrap();

    let banner = mostrador_devstack::banner::render(&stack, &demo);
    let mut ran = 0;
    let mut failures = Vec::new();
    for (n, block) in all.iter().enumerate() {
        if block.lang.starts_with("console") && block.text.starts_with("$ make dev\n") {
            let mut text = block.text.clone();
            for (from, to) in &urls {
                text = text.replace(from.as_str(), to);
            }
            let missing: Vec<&str> = text
                .lines()
                .skip(1)
                .filter(|line| !banner.lines().any(|b| b == *line))
                .collect();
            if !missing.is_empty() {
                failures.push(format!(
                    "README.md:{}: `make dev` prints no such lines: {missing:#?}\n--- make dev prints\n{banner}",
                    block.line
                ));
            }
            ran += 1;
            continue;
        }
        let Some(kind) = runs(&block.lang) else {
            continue;
        };
        if NOT_RUN
            .iter()
            .any(|(needle, _)| block.text.contains(needle))
        {
            continue;
        }
        let mut text = block.text.clone();
        for (from, to) in &urls {
            text = text.replace(from.as_str(), to);
        }
        let log = work.join(format!("status-{n}.log"));
        std::fs::write(&log, "").unwrap();
        let script = if kind == "php" {
            let file = work.join(format!("block-{n}.php"));
            std::fs::write(&file, &text).unwrap();
            format!(
                "set -euo pipefail; set -a; source '{s}'; set +a; export README_STATUS_LOG='{l}'\nphp -d display_errors=stderr '{f}'\n",
                s = state.display(),
                l = log.display(),
                f = file.display()
            )
        } else {
            format!(
                "set -euo pipefail; set -a; source '{s}'; export README_STATUS_LOG='{l}'\n{text}\nexport -p > '{s}.next' && mv '{s}.next' '{s}'\n",
                s = state.display(),
                l = log.display()
            )
        };
        let path = format!(
            "{}:{}",
            work.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let run = tokio::process::Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(&work)
            .env("PATH", path)
            .env("README_STATUS_LOG", &log)
            .kill_on_drop(true)
            .output();
        let output = match tokio::time::timeout(Duration::from_secs(120), run).await {
            Ok(output) => output.unwrap(),
            Err(_) => {
                failures.push(format!("README.md:{} timed out", block.line));
                continue;
            }
        };
        ran += 1;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let statuses = std::fs::read_to_string(&log).unwrap_or_default();
        let missing: Vec<String> = stated_statuses(&block.text)
            .into_iter()
            .filter(|code| !statuses.contains(&format!("[http {code}]")))
            .collect();
        if !output.status.success() || !missing.is_empty() {
            failures.push(format!(
                "README.md:{} ({}) exited {} {}\n--- block\n{}--- stdout\n{stdout}\n--- stderr\n{stderr}",
                block.line,
                block.lang,
                output.status,
                if missing.is_empty() {
                    String::new()
                } else {
                    format!("and never got the stated {missing:?}")
                },
                block.text
            ));
        }
        println!("README.md:{} ({}) ran\n{stdout}", block.line, block.lang);
    }
    stack.shutdown().await;
    let _ = std::fs::remove_dir_all(&work);
    assert!(
        failures.is_empty(),
        "{} of {ran} README blocks failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(
        ran >= 10,
        "only {ran} README blocks ran: is the extraction broken?"
    );
}
