"""PetSite's page in a real browser: headless Chromium (Debian's chromium + chromium-driver)
against PetSite and PetAdoptionsHistory under gunicorn."""
import shutil
import tempfile

import pytest

from conftest import seed_history

CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(
    not (CHROMEDRIVER and CHROMIUM),
    reason="headless Chromium not installed (apt-get install -y chromium chromium-driver)",
)


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="petsite-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def rows(driver):
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, "#history tr.adoption")


def test_page_shows_rows_and_the_clear_button_clears_them(browser, petsite_server, sql):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    sql("TRUNCATE transactions, transactions_history RESTART IDENTITY")
    seed_history(sql, 3)
    browser.get(petsite_server.url + "/")
    assert browser.title == "PetSite: adoption history"
    assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in rows(browser)] == ["seed000", "seed001", "seed002"]
    assert browser.find_element(By.ID, "count").text == "3 adoptions in the history."

    browser.find_element(By.ID, "clear").click()
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "notice")))
    assert browser.find_element(By.ID, "notice").text == "The adoption history was cleared."
    assert rows(browser) == []
    assert browser.find_element(By.CSS_SELECTOR, "#history tr.empty").is_displayed()
    assert sql("SELECT count(*) FROM transactions_history") == [(0,)]


def test_adopt_and_housekeeping_buttons_add_a_row(browser, petsite_server, sql):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    sql("TRUNCATE transactions, transactions_history RESTART IDENTITY")
    browser.get(petsite_server.url + "/")
    assert rows(browser) == []
    browser.find_element(By.ID, "adopt").click()
    WebDriverWait(browser, 10).until(ec.text_to_be_present_in_element((By.ID, "notice"), "A pet was adopted"))
    browser.find_element(By.ID, "housekeeping").click()
    WebDriverWait(browser, 10).until(ec.text_to_be_present_in_element((By.ID, "notice"), "Housekeeping moved"))
    assert len(rows(browser)) == 1
