"""The Zoom stand-in's approval page in a real headless browser, pairing the real bot.

Chromium and chromedriver come from Debian (`apt-get install chromium chromium-driver`); both
paths are given to Selenium, so Selenium Manager never looks for (or downloads) a browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from bot.slack.pairing_dm import OPEN_LINK_ACTION
from tests.harness import wait_for

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's Chromium: apt-get install -y chromium chromium-driver",
)


@pytest.fixture
def browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[webdriver.Chrome]:
    monkeypatch.setenv("SE_OFFLINE", "true")  # belt and braces: Selenium Manager stays offline
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=800,700",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def approve_link(slack, user_id: str) -> str:
    """The URL of the 'Approve in Zoom' button in the user's newest code DM, or ''."""
    for message in reversed(slack.messages(slack.dm_channel(user_id))):
        for block in message.get("blocks") or []:
            for element in block.get("elements") or []:
                if element.get("action_id") == OPEN_LINK_ACTION and element.get("url"):
                    return element["url"]
    return ""


def test_approving_in_a_browser_pairs_the_bot(bot, zoom, slack, browser, tmp_path):
    ack = bot.command("pair")
    assert ack.response.status_code == 200
    link = wait_for(lambda: approve_link(slack, "U0ALICE"), what="the code DM's button")
    assert link.startswith(f"{zoom.base_url}/oauth/device/complete/")

    browser.get(link)
    code = browser.find_element(By.CLASS_NAME, "code").text
    assert code == zoom.latest_user_code
    browser.find_element(By.XPATH, "//button[normalize-space()='Approve']").click()
    WebDriverWait(browser, 10).until(
        expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Device approved")
    )
    assert "alice@example.com" in browser.find_element(By.TAG_NAME, "body").text

    paired = wait_for(
        lambda: [
            m
            for m in slack.messages(slack.dm_channel("U0ALICE"))
            if "Paired with Zoom as alice@example.com" in str(m.get("text"))
        ],
        timeout=15,
        what="the DM to say Paired",
    )
    assert len(paired) == 1
    assert zoom.grant(code).state == "redeemed"

    screenshot = tmp_path / "approved.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_denying_in_a_browser_tells_the_person(bot, zoom, slack, browser):
    bot.command("pair")
    link = wait_for(lambda: approve_link(slack, "U0ALICE"), what="the code DM's button")
    browser.get(link)
    browser.find_element(By.XPATH, "//button[normalize-space()='Deny']").click()
    WebDriverWait(browser, 10).until(
        expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Device denied")
    )
    wait_for(
        lambda: any(
            "declined" in str(m.get("text")) for m in slack.messages(slack.dm_channel("U0ALICE"))
        ),
        timeout=15,
        what="the DM to say the request was declined",
    )
