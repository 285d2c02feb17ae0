#!/usr/bin/env python3
"""The web console in a real browser: Debian's chromium, headless, driven by chromedriver through
python3-selenium, against `modelpin serve` on loopback with fixture state and a stand-in provider.

    console_test.py MODELPIN SOURCE_ROOT ARTIFACT_DIR

Checks: the page opens with the token field focused and Enter signs in (the keyboard alone); a
wrong token shows a clear error; signed in, the profiles shown are those of
`modelpin models auth list --json`; an ordinary message through /v1/chat that the stand-in answers
with 429 puts the profile into cooldown on the page within 2 s without a reload; the "Clear
cooldown" button (confirmed) clears it in the store; no whole secret is anywhere in the DOM or in
a response the page reads; the page logs no console error; at 390 px wide nothing scrolls
sideways; the sessions, live and timeline views render. Screenshots of each view go to ARTIFACT_DIR. Then, with 10,000 sessions and 100 profiles,
the time until the first view is drawn is printed (a figure, not an assertion).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

CLI, SRC, ARTIFACTS = sys.argv[1], sys.argv[2], sys.argv[3]
TOKEN = "console-test-token-0123456789abcdef"
COOLING = ("cooldown", "model cooldown")  # a 429 for one model cools down that model of the profile
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def secrets_of(state):
    out = []
    for root, _, files in os.walk(os.path.join(state, "agents")):
        for f in files:
            if f == "auth-profiles.json":
                data = json.load(open(os.path.join(root, f)))
                for p in data.get("profiles", {}).values():
                    for k in ("key", "token", "access", "refresh"):
                        if isinstance(p.get(k), str) and len(p[k]) >= 8:
                            out.append(p[k])
    return out


class Server:
    def __init__(self, state, env):
        self.p = subprocess.Popen([CLI, "serve", "--listen", "127.0.0.1:0", "--state", state],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        line = self.p.stdout.readline()
        if "listening on" not in line:
            raise SystemExit(f"modelpin serve did not start: {line!r} {self.p.stderr.read()[:500]}")
        self.base = "http://" + line.split("listening on", 1)[1].strip()

    def call(self, method, path, body=None, token=TOKEN):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("Authorization", "Bearer " + token)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()


def browser():
    o = Options()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
              "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--window-size=1280,900"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


def shot(driver, name):
    os.makedirs(ARTIFACTS, exist_ok=True)
    driver.save_screenshot(os.path.join(ARTIFACTS, f"console-{name}.png"))


def main():
    tmp = tempfile.mkdtemp(prefix="modelpin-console-")
    stand_in = None
    server = None
    driver = None
    try:
        state = os.path.join(tmp, "state")
        shutil.copytree(os.path.join(SRC, "fixtures", "state"), state)
        # The stand-in provider answers the first call 429, then successes.
        script = os.path.join(tmp, "script.json")
        json.dump({"answers": [{"status": 429, "headers": {"retry-after": "60"}}], "then": {"status": 200, "text": "hi"}},
                  open(script, "w"))
        port_file = os.path.join(tmp, "port")
        stand_in = subprocess.Popen([sys.executable, os.path.join(SRC, "fixtures", "tools", "stand-in-provider.py"), script,
                                     os.path.join(tmp, "calls.jsonl"), "--port", "0", "--port-file", port_file],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            time.sleep(0.05)
        provider_port = open(port_file).read().strip()
        config = json.load(open(os.path.join(state, "modelpin.json")))
        for p in ("anthropic", "openrouter"):
            config["models"]["providers"].setdefault(p, {})["baseUrl"] = f"http://127.0.0.1:{provider_port}"
        json.dump(config, open(os.path.join(state, "modelpin.json"), "w"), indent=2)
        env = dict(os.environ, MODELPIN_SERVICE_TOKEN=TOKEN, MODELPIN_STATE_DIR=state)
        server = Server(state, env)
        secrets = secrets_of(state)
        check(len(secrets) >= 2, f"the fixture state holds secrets to look for ({len(secrets)})")

        driver = browser()
        wait = WebDriverWait(driver, 10)
        driver.get(server.base + "/")
        csp = server_headers(server.base + "/").get("content-security-policy", "")
        check("default-src 'self'" in csp and "unsafe-inline" not in csp, f"a strict Content-Security-Policy: {csp!r}")

        # Usable with the keyboard: the page opens with the token field focused, and Enter signs in.
        WebDriverWait(driver, 5).until(lambda d: d.execute_script("return document.activeElement.id") == "token")
        check(True, "the token field has the focus when the page opens")

        # A wrong token: a clear error, still on the sign-in form.
        driver.switch_to.active_element.send_keys("wrong-token" + Keys.RETURN)  # the keyboard alone
        err = wait.until(EC.visibility_of_element_located((By.ID, "signin-error")))
        check("refused the token" in err.text and "403" in err.text, f"a wrong token says so: {err.text!r}")
        shot(driver, "signin-error")
        # The browser logs the refused request itself as an error: that one is expected.
        expected = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        check(all("403" in e.get("message", "") for e in expected), f"only the refused sign-in was logged: {expected}")

        # The right token: the profiles view, as `models auth list --json` has them.
        driver.find_element(By.ID, "token").send_keys(TOKEN)
        driver.find_element(By.CSS_SELECTOR, "#signin-form button").click()
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#profiles tr[data-profile]")))
        shown = sorted(r.get_attribute("data-profile") for r in driver.find_elements(By.CSS_SELECTOR, "#profiles tr[data-profile]"))
        listed = json.loads(subprocess.run([CLI, "models", "auth", "list", "--json", "--state", state], capture_output=True,
                                           text=True, env=env, check=True).stdout)
        want = sorted(p["id"] for p in listed["profiles"])
        check(shown == want, f"the profiles shown are those of models auth list: {shown} vs {want}")
        check(driver.execute_script("return sessionStorage.getItem('modelpin.token')") == TOKEN and TOKEN not in driver.current_url,
              "the token is in the tab's session storage, never in the URL")
        shot(driver, "profiles")

        # A 429 through /v1/chat: the profile's cooldown appears within 2 s, no reload.
        driver.execute_script("window.__marker = 1")
        status, body = server.call("POST", "/v1/chat", {"session": "agent:main:console", "text": "hello there"})
        check(status == 200, f"/v1/chat answers: {status} {body[:200]}")
        t0 = time.time()
        try:
            cooled = WebDriverWait(driver, 2).until(lambda d: d.execute_script(
            "return [...document.querySelectorAll('#profiles [data-state]')].map((e) => e.dataset.state)"
            ".filter((x) => arguments[0].includes(x))", list(COOLING)))
        except TimeoutException:
            cooled = []
        check(bool(cooled), f"the cooldown shows within 2 s ({time.time() - t0:.2f} s)")
        check(driver.execute_script("return window.__marker") == 1, "without a reload")
        # The calls and cost columns: the last day's usage of /v1/profiles (the 429 counted as a call).
        cells = driver.execute_script(
            "return Object.fromEntries([...document.querySelectorAll('#profiles tr[data-profile]')].map((r) => "
            "[r.dataset.profile, [r.querySelector(\"td[data-label='Calls']\").textContent, "
            "r.querySelector(\"td[data-label='Cost']\").textContent]]))")
        _, text = server.call("GET", "/v1/profiles")
        usage = {p["id"]: p.get("usage") or {} for p in json.loads(text)["profiles"]}
        check(all("calls" in u for u in usage.values()), f"/v1/profiles gives each profile its usage: {usage}")
        want = {i: [str(u.get("calls")), "unknown" if u.get("costUsd") is None else "$%.4f" % u["costUsd"]]
                for i, u in usage.items()}
        check(cells == want and any(int(c[0]) > 0 for c in cells.values()),
              f"the calls and cost columns show the last day's usage: {cells} vs {want}")
        shot(driver, "profiles-cooldown")

        # Clear it with the button, confirm, and read the store.
        rows = [r for r in driver.find_elements(By.CSS_SELECTOR, "#profiles tr[data-profile]")
                if any(b.get_attribute("data-state") in COOLING for b in r.find_elements(By.CSS_SELECTOR, "[data-state]"))]
        cooled_id = rows[0].get_attribute("data-profile") if rows else ""
        if rows:
            rows[0].find_element(By.CSS_SELECTOR, "button[data-action='clear']").click()
            wait.until(EC.visibility_of_element_located((By.ID, "confirm")))
            shot(driver, "confirm")
            driver.find_element(By.ID, "confirm-ok").click()
            try:  # read by script: the table is redrawn meanwhile, so element handles go stale
                WebDriverWait(driver, 5).until(lambda d: d.execute_script(
                    "const s = [...document.querySelectorAll(`#profiles tr[data-profile='${arguments[0]}'] [data-state]`)]"
                    ".map((e) => e.dataset.state); return s.length > 0 && s.every((x) => x === 'ok');", cooled_id))
            except TimeoutException:
                check(False, f"the page shows {cooled_id} ready again after the button")
        listed = json.loads(subprocess.run([CLI, "models", "auth", "list", "--json", "--state", state], capture_output=True,
                                           text=True, env=env, check=True).stdout)
        after = {p["id"]: p for p in listed["profiles"]}
        check(cooled_id in after and after[cooled_id].get("state", "ok") == "ok",
              f"the store holds no cooldown for {cooled_id!r} after the button: {after.get(cooled_id)}")

        # Readable on a phone: at 390 px nothing is wider than the screen (tables fold into one column).
        driver.set_window_size(390, 844)
        time.sleep(0.3)
        wide = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        check(wide <= 0, f"at 390 px wide the page does not scroll sideways ({wide} px too wide)")
        shot(driver, "profiles-phone")
        driver.set_window_size(1280, 900)

        # The other views render.
        for view in ("sessions", "live", "timeline"):
            driver.find_element(By.CSS_SELECTOR, f"#tabs button[data-view='{view}']").click()
            time.sleep(0.5)
            check(driver.find_element(By.ID, "view-" + view).is_displayed(), f"the {view} view shows")
            shot(driver, view)
        check(bool(driver.find_elements(By.CSS_SELECTOR, "#timeline img")), "the timeline view shows the picture")

        # No whole secret in the DOM or in what the page reads.
        dom = driver.page_source
        leaked = [s[:6] + "..." for s in secrets if s in dom]
        check(not leaked, f"no secret in the DOM ({leaked})")
        for path in ("/v1/profiles", "/v1/sessions", "/v1/order/anthropic", "/v1/timeline?since=1h",
                     "/v1/sessions/" + urllib.request.quote("agent:main:console", safe="")):
            _, text = server.call("GET", path)
            leaked = [s[:6] + "..." for s in secrets if s in text]
            check(not leaked, f"no secret in {path} ({leaked})")
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        check(not errors, f"no console errors: {errors[:3]}")
        driver.quit()
        driver = None
        server.stop()
        server = None

        first_view_time(tmp, env)
    finally:
        if driver:
            driver.quit()
        if server:
            server.stop()
        if stand_in:
            stand_in.terminate()
        shutil.rmtree(tmp, ignore_errors=True)


def server_headers(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return {k.lower(): v for k, v in r.headers.items()}


def first_view_time(tmp, env):
    """10,000 sessions and 100 profiles: how long until the profiles view is drawn."""
    state = os.path.join(tmp, "big")
    os.makedirs(os.path.join(state, "agents", "main", "agent"))
    profiles = {f"anthropic:k{i:03d}": {"type": "api_key", "provider": "anthropic", "key": f"sk-ant-api03-{i:040d}"}
                for i in range(100)}
    json.dump({"version": 1, "profiles": profiles}, open(os.path.join(state, "agents", "main", "agent", "auth-profiles.json"), "w"))
    os.chmod(os.path.join(state, "agents", "main", "agent", "auth-profiles.json"), 0o600)
    transcript = os.path.join(tmp, "sessions.txt")
    with open(transcript, "w") as f:
        for i in range(10000):
            f.write(f"//@ session agent:main:s{i:05d}\n/model sonnet\n")
    subprocess.run([CLI, "replay", transcript, "--state", state, "--session-view", "current"], stdout=subprocess.DEVNULL,
                   env=dict(env, MODELPIN_STATE_DIR=state), check=True)
    server = Server(state, dict(env, MODELPIN_STATE_DIR=state))
    driver = browser()
    try:
        driver.get(server.base + "/")
        driver.execute_script("sessionStorage.setItem('modelpin.token', arguments[0])", TOKEN)
        t0 = time.time()
        driver.get(server.base + "/")
        WebDriverWait(driver, 30).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#profiles tr[data-profile]")) == 100)
        print(f"figure: first view with 10,000 sessions and 100 profiles drawn in {time.time() - t0:.3f} s", flush=True)
        shot(driver, "profiles-100")
    finally:
        driver.quit()
        server.stop()


if __name__ == "__main__":
    main()
    if failures:
        print(f"console_test: {len(failures)} failure(s)")
        sys.exit(1)
    print("console_test: all checks passed")
