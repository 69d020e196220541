#!/usr/bin/env bash
# Checks that <api>/docs renders offline in headless Chromium (Debian's `chromium`):
#   - the served HTML references no asset (script, stylesheet, image, font, frame, CSS url())
#     outside the API's own host;
#   - Chromium, with every other host made unresolvable, loads the page and its DOM names every
#     operation of openapi.json; its net log shows no request from the page to another host;
#   - a screenshot lands in target/docs-screenshot.png (look at it).
# Usage: scripts/check-docs.sh http://127.0.0.1:3400   (scripts/test-sdk.sh calls it)
set -euo pipefail
api=${1:?usage: scripts/check-docs.sh <api base url>}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/target"
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/mostrador-docs.XXXXXX")
trap 'rm -rf "$work"' EXIT

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  echo "check-docs: chromium not found (scripts/bootstrap.sh installs Debian's chromium)" >&2
  exit 1
fi

curl -fsS -D "$work/headers" -o "$work/served.html" "$api/docs"
grep -qi '^content-type: text/html' "$work/headers" || { echo "check-docs: /docs is not text/html" >&2; exit 1; }

flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync --disable-default-apps
  --window-size=1280,2000 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost")
timeout 120 "$browser" "${flags[@]}" --user-data-dir="$work/profile-shot" --log-net-log="$work/netlog.json" \
  --screenshot="$out/docs-screenshot.png" "$api/docs" >"$work/chromium.log" 2>&1
timeout 120 "$browser" "${flags[@]}" --user-data-dir="$work/profile-dom" --dump-dom "$api/docs" \
  >"$work/dom.html" 2>>"$work/chromium.log"

python3 - "$root/openapi.json" "$work/served.html" "$work/dom.html" "$work/netlog.json" "$out/docs-screenshot.png" "$api" <<'PY'
import json, re, struct, sys
from html.parser import HTMLParser
from urllib.parse import urlsplit

spec_file, served_file, dom_file, netlog_file, shot_file, api = sys.argv[1:]
local_hosts = {"127.0.0.1", "localhost", urlsplit(api).hostname}
failures = []

def off_host(url):
    url = url.strip()
    if not re.match(r"(?i)^(https?:)?//", url):
        return False  # relative, fragment or data: — served by the page itself
    return urlsplit(url if "//" != url[:2] else "http:" + url).hostname not in local_hosts

CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.I)
ASSET_ATTRS = {"src", "srcset", "data", "poster", "background"}

class Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.in_style = [], False
    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if value is None:
                continue
            if name in ASSET_ATTRS or (name == "href" and tag == "link"):
                self.refs += [v.split()[0] for v in value.split(",") if v.strip()] if name == "srcset" else [value]
            if name == "style":
                self.refs += [a or b for a, b in CSS_URL.findall(value)]
        self.in_style = tag == "style"
    def handle_endtag(self, tag):
        self.in_style = False
    def handle_data(self, data):
        if self.in_style:
            self.refs += [a or b for a, b in CSS_URL.findall(data)]

served = open(served_file, encoding="utf-8").read()
assets = Assets(); assets.feed(served)
remote = [r for r in assets.refs if off_host(r)]
if remote:
    failures.append(f"the served page references assets on other hosts: {remote[:5]}")

spec = json.load(open(spec_file))
ops = [(m.upper(), p, o["operationId"]) for p, item in spec["paths"].items()
       for m, o in item.items() if isinstance(o, dict) and "operationId" in o]
dom = open(dom_file, encoding="utf-8").read()
missing = [op for _, _, op in ops if op not in dom]
if len(ops) < 30 or missing:
    failures.append(f"{len(ops)} operations in openapi.json; missing from the rendered DOM: {missing[:10]}")
missing_paths = [p for _, p, _ in ops if p.replace("{", "&#123;") not in dom and p not in dom]
if missing_paths:
    failures.append(f"paths missing from the rendered DOM: {missing_paths[:10]}")
if "<title>Mostrador API reference</title>" not in dom:
    failures.append("the rendered DOM has no 'Mostrador API reference' title")

netlog = json.load(open(netlog_file))
names = {v: k for k, v in netlog["constants"]["logEventTypes"].items()}
page_requests, off = [], []
for event in netlog["events"]:
    params = event.get("params", {})
    if names.get(event["type"]) != "URL_REQUEST_START_JOB" or "url" not in params:
        continue
    initiator = params.get("initiator", "")
    # Requests the page made carry its origin; Chromium's own background calls do not.
    if initiator.startswith("http"):
        page_requests.append(params["url"])
        if off_host(params["url"]):
            off.append(params["url"])
    elif params["url"].rstrip("/") == api.rstrip("/") + "/docs":
        page_requests.insert(0, params["url"])
if not page_requests or not page_requests[0].endswith("/docs"):
    failures.append(f"the net log does not show the /docs navigation: {page_requests}")
if off:
    failures.append(f"the page fetched from other hosts: {off}")

with open(shot_file, "rb") as f:
    head = f.read(24)
    size = 24 + len(f.read())
width, height = struct.unpack(">II", head[16:24]) if head[:8] == b"\x89PNG\r\n\x1a\n" else (0, 0)
# A blank 1280x2000 page compresses to a few KB; the rendered reference is hundreds of KB.
if (width, height) != (1280, 2000) or size < 50_000:
    failures.append(f"screenshot {width}x{height}, {size} bytes: not a rendered page")

if failures:
    print("check-docs: FAILED\n  " + "\n  ".join(failures), file=sys.stderr)
    sys.exit(1)
print(f"check-docs: /docs renders offline: {len(ops)} operations in the DOM, {len(assets.refs)} asset "
      f"references (none off-host), {len(page_requests)} page requests (none off-host), "
      f"screenshot {width}x{height} ({size // 1024} KiB) in target/docs-screenshot.png")
PY
